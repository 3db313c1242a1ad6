"""Which Ray `launchray run` uses and how long `ray job stop` leaves it (pipelines/cluster.py)."""
import pytest

from pipelines.cluster import (RAY_DEFAULT_STOP_WAIT_S, STOP_MARGIN_S, ClusterError, grace_warning, join_plan,
                               shutdown_budget_s, stop_grace_s)

# what Ray's JobSupervisor puts in an entrypoint's environment (Ray 2.60 job_supervisor._get_driver_env_vars)
IN_JOB = {"RAY_ADDRESS": "10.0.0.5:6379", "RAY_JOB_CONFIG_JSON_ENV_VAR": '{"runtime_env": {}, "metadata": {}}'}


def test_inside_a_ray_job_it_joins_the_jobs_cluster_and_does_not_own_it():
    plan = join_plan(IN_JOB, "")
    assert (plan.address, plan.owns_cluster, plan.in_job) == ("10.0.0.5:6379", False, True)


def test_with_ray_address_set_it_joins_that_cluster():
    plan = join_plan({"RAY_ADDRESS": "127.0.0.1:6380"}, "")
    assert (plan.address, plan.owns_cluster, plan.in_job) == ("127.0.0.1:6380", False, False)


def test_configured_auto_joins_even_without_environment():
    plan = join_plan({}, "auto")
    assert (plan.address, plan.owns_cluster) == ("auto", False)


def test_configured_address_wins_over_the_environment():
    assert join_plan({"RAY_ADDRESS": "10.0.0.5:6379"}, "10.0.0.9:6379").address == "10.0.0.9:6379"


def test_no_cluster_anywhere_starts_and_owns_a_local_one():
    plan = join_plan({}, "")
    assert (plan.address, plan.owns_cluster) == ("local", True)
    assert join_plan({"RAY_ADDRESS": "  "}, "").owns_cluster       # blank is unset
    assert join_plan({"RAY_ADDRESS": "10.0.0.5:6379"}, "local").owns_cluster   # explicitly private


@pytest.mark.parametrize("addr", ["http://127.0.0.1:8265", "https://head:8265"])
def test_a_dashboard_url_is_refused_with_what_to_set(addr):
    with pytest.raises(ClusterError, match="dashboard .*GCS address"):
        join_plan({"RAY_ADDRESS": addr}, "")
    with pytest.raises(ClusterError, match="ray.address"):
        join_plan({}, addr)


def test_stop_grace_is_rays_default_in_a_job_unless_configured_and_none_outside():
    assert stop_grace_s({}) is None and shutdown_budget_s({}) is None
    assert stop_grace_s(IN_JOB) == RAY_DEFAULT_STOP_WAIT_S == 3.0
    assert stop_grace_s({**IN_JOB, "RAY_JOB_STOP_WAIT_TIME_S": "60"}) == 60.0
    assert shutdown_budget_s({**IN_JOB, "RAY_JOB_STOP_WAIT_TIME_S": "60"}) == 60.0 - STOP_MARGIN_S
    assert stop_grace_s({**IN_JOB, "RAY_JOB_STOP_WAIT_TIME_S": "1.5"}) == 3.0   # Ray's int() fails: its default
    assert shutdown_budget_s(IN_JOB) == 0.0


def test_a_grace_too_short_for_an_orderly_shutdown_is_warned_with_the_fix():
    text = grace_warning(IN_JOB)
    assert "3 s" in text and '"RAY_JOB_STOP_WAIT_TIME_S": "60"' in text
    assert grace_warning({**IN_JOB, "RAY_JOB_STOP_WAIT_TIME_S": "60"}) == ""
    assert grace_warning({}) == ""
