"""Which Ray `launchray run` uses, and how long `ray job stop` leaves it to shut down. Pure: the environment and
the config in, a decision out (actors/commands/run.py acts on it).

Joining: inside a Ray job (the job supervisor sets RAY_ADDRESS to the cluster's GCS address and
RAY_JOB_CONFIG_JSON_ENV_VAR), with RAY_ADDRESS set, or with `ray.address` configured, we join that cluster and never
shut it down; only with none of them do we start a private local Ray, which we own and stop at the end.

Stopping: `ray job stop` sends the entrypoint SIGTERM and SIGKILLs it RAY_JOB_STOP_WAIT_TIME_S later (Ray's
JobSupervisor reads it from its own environment, i.e. the job's runtime_env env_vars; default 3 s, Ray 2.60
dashboard/modules/job/job_supervisor.py). The orderly shutdown (stop entries, settle, drain the executor, flush
the ledger) must fit inside that, so the run is given a budget a margin short of it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

RAY_ADDRESS_ENV = "RAY_ADDRESS"
RAY_JOB_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"        # set by Ray's job supervisor in every job entrypoint's env
STOP_WAIT_ENV = "RAY_JOB_STOP_WAIT_TIME_S"
RAY_DEFAULT_STOP_WAIT_S = 3.0                      # Ray 2.60's JobSupervisor.DEFAULT_RAY_JOB_STOP_WAIT_TIME_S
# What `launchray-job.sh` (cluster.yaml) and docs/cluster.md submit with: room for the executor's drain
# (execution.confirm_timeout_s) plus the flushes.
RECOMMENDED_STOP_WAIT_S = 60
STOP_MARGIN_S = 3.0                               # the driver's own exit after the shutdown returns
MIN_ORDERLY_S = 10.0                               # below this a shutdown cannot settle anything: warn at start


class ClusterError(ValueError):
    """An address we cannot use; the message says what to set instead."""


@dataclass(frozen=True)
class JoinPlan:
    address: str          # what to pass to ray.init(address=...)
    owns_cluster: bool    # True only for the private local Ray we start (and so must stop)
    in_job: bool          # running as a Ray job's entrypoint
    reason: str           # one line for the start banner


def join_plan(env: Mapping[str, str], configured_address: str) -> JoinPlan:
    """The Ray to use. The config's `ray.address` wins over the environment (an explicit choice), then a job's or
    the user's RAY_ADDRESS; "local" (configured) or nothing at all starts our own."""
    in_job = bool(env.get(RAY_JOB_ENV))
    configured = (configured_address or "").strip()
    from_env = (env.get(RAY_ADDRESS_ENV) or "").strip()
    if configured and configured != "local":
        return JoinPlan(_checked(configured, "ray.address"), False, in_job, f"joining ray.address = {configured}")
    if configured == "local":
        return JoinPlan("local", True, in_job, "starting a local Ray (ray.address = \"local\")")
    if from_env:
        where = "the Ray job's cluster" if in_job else "RAY_ADDRESS"
        return JoinPlan(_checked(from_env, RAY_ADDRESS_ENV), False, in_job, f"joining {where} at {from_env}")
    return JoinPlan("local", True, in_job, "starting a local Ray")


def _checked(address: str, where: str) -> str:
    # `ray job submit` users often export the dashboard URL as RAY_ADDRESS; ray.init cannot join that.
    if address.startswith(("http://", "https://")):
        raise ClusterError(f"{where} = {address} is a dashboard (job submission) URL, not a cluster address: "
                           "use the GCS address (host:6379), \"auto\", or unset it")
    return address


def stop_grace_s(env: Mapping[str, str]) -> float | None:
    """Seconds `ray job stop` waits between SIGTERM and SIGKILL for this run; None outside a Ray job (a plain
    SIGTERM or Ctrl+C is not followed by a SIGKILL we know of)."""
    if not env.get(RAY_JOB_ENV):
        return None
    raw = (env.get(STOP_WAIT_ENV) or "").strip()
    try:
        # Ray parses it with int(); anything else makes its stop() fail, so we assume its default
        return float(int(raw)) if raw else RAY_DEFAULT_STOP_WAIT_S
    except ValueError:
        return RAY_DEFAULT_STOP_WAIT_S


def shutdown_budget_s(env: Mapping[str, str]) -> float | None:
    """How long the orderly shutdown may take (None = unbounded beyond its own per-step timeouts)."""
    grace = stop_grace_s(env)
    return None if grace is None else max(0.0, grace - STOP_MARGIN_S)


def grace_warning(env: Mapping[str, str]) -> str:
    """A start-time warning when `ray job stop` would SIGKILL us before an orderly shutdown can finish, or ""."""
    grace = stop_grace_s(env)
    if grace is None or grace - STOP_MARGIN_S >= MIN_ORDERLY_S:
        return ""
    fix = json.dumps({"env_vars": {STOP_WAIT_ENV: str(RECOMMENDED_STOP_WAIT_S)}})
    return (f"`ray job stop` will kill this run {grace:g} s after SIGTERM, too soon for an orderly shutdown: "
            f"submit with --runtime-env-json '{fix}'")
