"""One absolute data directory, never inside Ray's directories (pipelines/data_dir.py)."""
import pytest

from pipelines.data_dir import (DataDirError, check_outside_ray, durable_paths, inside_ray_dirs, ray_temp_dirs,
                                resolve_data_dir)

HOME, CWD = "/home/ana", "/home/ana/src/launchray"


def paths(setting="", ledger="var/paper/ledger.sqlite", logs="var/paper/logs", trace="var/traces.jsonl", rec="",
          cwd=CWD):
    return durable_paths(setting, ledger, logs, trace, rec, cwd=cwd, home=HOME)


def test_default_is_launchray_in_the_home_directory_and_relative_paths_go_under_it():
    p = paths()
    assert p.data_dir == "/home/ana/.launchray"
    assert p.ledger_path == "/home/ana/.launchray/var/paper/ledger.sqlite"
    assert p.logs_dir == "/home/ana/.launchray/var/paper/logs"
    assert p.trace_file == "/home/ana/.launchray/var/paper/var/traces.jsonl"   # relative: beside the ledger
    assert p.recording_dir == ""                    # not recording stays not recording


def test_same_answer_whatever_the_working_directory_of_the_process():
    assert paths(cwd="/tmp/ray/session_2026-12-08_03-00-00_1/runtime_resources/working_dir_files/x") == paths()


def test_a_relative_data_dir_is_the_users_working_directory_and_tilde_is_home():
    assert resolve_data_dir("data", CWD, HOME) == "/home/ana/src/launchray/data"
    assert resolve_data_dir("~/trading", CWD, HOME) == "/home/ana/trading"
    assert resolve_data_dir("/srv/launchray/", CWD, HOME) == "/srv/launchray"


def test_absolute_and_home_paths_stay_where_configured_and_run_id_survives():
    p = paths(ledger="/srv/l/ledger.sqlite", logs="~/logs", rec="rec", setting="/data")
    assert (p.ledger_path, p.logs_dir, p.recording_dir) == ("/srv/l/ledger.sqlite", "/home/ana/logs", "/data/rec")
    assert paths(ledger="var/sim/{run_id}/ledger.sqlite").ledger_path == \
        "/home/ana/.launchray/var/sim/{run_id}/ledger.sqlite"


def test_ray_temp_dir_follows_rays_own_rule():
    assert ray_temp_dirs({}) == ("/tmp/ray",)
    assert ray_temp_dirs({"RAY_TMPDIR": "/scratch"}) == ("/scratch/ray", "/tmp/ray")
    assert ray_temp_dirs({"TMPDIR": "/var/tmp"}) == ("/var/tmp/ray", "/tmp/ray")


def test_inside_ray_dirs_finds_the_temp_root_and_any_session_directory():
    dirs = ("/tmp/ray",)
    assert inside_ray_dirs("/tmp/ray/session_latest/x/ledger.sqlite", dirs) == "/tmp/ray"
    assert inside_ray_dirs("/tmp/ray", dirs) == "/tmp/ray"
    assert inside_ray_dirs("/opt/r/session_2026-12-08_03-00-00_123_4/w/l.sqlite", dirs) == \
        "/opt/r/session_2026-12-08_03-00-00_123_4"
    assert inside_ray_dirs("/tmp/rays/ledger.sqlite", dirs) == ""            # a prefix is not a parent
    assert inside_ray_dirs("/home/ana/.launchray/session_notes/l.sqlite", dirs) == ""


def test_a_data_dir_inside_rays_directories_is_refused_with_a_clear_message():
    with pytest.raises(DataDirError, match=r"data_dir = /tmp/ray/x .*inside Ray's temp/session directory /tmp/ray"):
        check_outside_ray(paths(setting="/tmp/ray/x"), ("/tmp/ray",))
    cwd = "/tmp/ray/session_2026-12-08_03-00-00_1/runtime_resources/working_dir_files/w"
    with pytest.raises(DataDirError, match="LAUNCHRAY__DATA_DIR"):     # `data_dir = "."` inside a Ray job
        check_outside_ray(paths(setting=".", cwd=cwd), ("/tmp/ray",))
    with pytest.raises(DataDirError, match="ledger.path"):
        check_outside_ray(paths(ledger="/tmp/ray/l.sqlite"), ("/tmp/ray",))
    check_outside_ray(paths(), ("/tmp/ray",))       # the default is fine


def test_a_profile_gets_every_durable_path_absolute_and_stays_put_when_resolved_again():
    from pipelines.config import load_config
    from pipelines.data_dir import with_durable_paths
    cfg = with_durable_paths(load_config("paper", env={}), {}, CWD, HOME)
    assert cfg.data_dir == "/home/ana/.launchray"
    assert cfg.ledger.path == "/home/ana/.launchray/var/paper/ledger.sqlite"      # conf/paper.toml's relative path
    assert cfg.logging.dir == "/home/ana/.launchray/var/paper/logs"
    assert cfg.telemetry.trace_file == "/home/ana/.launchray/var/paper/var/traces.jsonl"
    assert with_durable_paths(cfg, {}, "/elsewhere", HOME) == cfg       # TradingSystem resolves again: no change
    env_cfg = load_config("paper", env={"LAUNCHRAY__DATA_DIR": "/srv/lr"})
    assert with_durable_paths(env_cfg, {}, CWD, HOME).ledger.path == "/srv/lr/var/paper/ledger.sqlite"


def test_a_relative_trace_file_lands_where_its_readers_look_for_it():
    """actors/observe.trace_path (the span exporter, tests, notebooks) reads a relative trace file beside the
    ledger: resolving the durable paths must not move it elsewhere."""
    from actors.observe import trace_path
    from pipelines.config import config_with, load_config
    from pipelines.data_dir import with_durable_paths
    cfg = config_with(load_config("sim", env={}), {"ledger": {"path": "/srv/runs/a/ledger.sqlite"}})
    assert with_durable_paths(cfg, {}, CWD, HOME).telemetry.trace_file == trace_path(cfg) \
        == "/srv/runs/a/var/traces.jsonl"
