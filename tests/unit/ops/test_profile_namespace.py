"""Each profile runs in its own Ray namespace (issue 14): a paper run started on a cluster where a live system runs
must never attach to its actors (every actor is created with get_if_exists and found by name in the namespace).
ray.namespace defaults to launchray-<profile>; every attaching place takes it from the profile."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors import names
from pipelines.config import Config, ConfigError, config_with, load_config, namespace_for

ROOT = Path(__file__).resolve().parents[3]


def test_paper_and_live_profiles_get_different_namespaces():
    paper, live, sim = (load_config(p, env={}) for p in ("paper", "live", "sim"))
    assert (paper.ray.namespace, live.ray.namespace, sim.ray.namespace) == (
        "launchray-paper", "launchray-live", "launchray-sim")
    assert Config().ray.namespace == "launchray-sim"
    # a runtime change keeps the namespace the run started in
    assert config_with(live, {"risk": {"max_position_sol": 0.05}}).ray.namespace == "launchray-live"


def test_a_namespace_set_by_the_profile_or_the_environment_wins_and_is_checked():
    assert load_config("paper", env={"LAUNCHRAY__RAY__NAMESPACE": "desk-a"}).ray.namespace == "desk-a"
    with pytest.raises(ConfigError, match="namespace"):
        load_config("paper", env={"LAUNCHRAY__RAY__NAMESPACE": "has space"})
    assert namespace_for("my profile/v2") == "launchray-my-profile-v2"
    assert namespace_for(None) == "launchray-sim"


def test_the_notebook_attaches_to_its_profile_s_namespace(monkeypatch):
    nb = json.loads((ROOT / "notebooks" / "attach_live.ipynb").read_text())
    code = "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])
    line = next(ln for ln in code.splitlines() if ln.startswith("NAMESPACE ="))
    env = {}
    exec("from pipelines.config import load_config\nimport os", env)
    for profile, expected in (("paper", "launchray-paper"), ("live", "launchray-live")):
        monkeypatch.setenv("LAUNCHRAY_PROFILE", profile)
        monkeypatch.delenv("LAUNCHRAY_NAMESPACE", raising=False)
        exec(line, env)
        assert env["NAMESPACE"] == expected
    monkeypatch.setenv("LAUNCHRAY_NAMESPACE", "desk-a")
    exec(line, env)
    assert env["NAMESPACE"] == "desk-a"


def test_a_paper_config_does_not_find_a_live_system_s_actors(ray_session):
    ray = ray_session

    @ray.remote(num_cpus=0)
    class Stand:
        def ping(self) -> str:
            return "live"

    live, paper = load_config("live", env={}), load_config("paper", env={})
    sup = Stand.options(name=names.SUPERVISOR, namespace=live.ray.namespace).remote()
    try:
        assert ray.get(names.Peers(live.ray.namespace)(names.SUPERVISOR).ping.remote()) == "live"
        with pytest.raises(ValueError):
            names.Peers(paper.ray.namespace)(names.SUPERVISOR)      # the paper run's lookups stay in its own
    finally:
        ray.kill(sup)
