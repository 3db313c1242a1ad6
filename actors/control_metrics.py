"""What `/metrics` serves: the samples every actor records (its `metrics_snapshot()`), plus, for catalogue
metrics no actor records, samples derived from the status reports the ControlPlane gathers anyway.

A metric some actor reports is taken from the actors only (never also derived), so no series is counted twice.
Derived counters are running totals since the counting actor started (a restart resets them: Prometheus's
rate() treats that as a counter reset). Labels an actor does not break down get the value "all".
No Ray here: the ControlPlane passes plain dicts, tests call these directly.
"""
from __future__ import annotations

from collections.abc import Iterable

from actors.metrics import METRIC_NAMES, Sample, endpoint_label
from pipelines.health_levels import Cause

LAMPORTS_PER_SOL = 1_000_000_000
RISK_STATE_VALUE = {"active": 0, "reducing": 1, "halted": 2}
APPROVED = ("ok", "clamped_max_position_size")
HEALTH_LEVEL_VALUE = {"ok": 0, "degraded": 1, "critical": 2}
HEALTH_CAUSES = tuple(c.value for c in Cause)     # every cause has a series (0 when not counted): alertable


def _s(name: str, value: float, **labels: str) -> Sample:
    keys = METRIC_NAMES[name][2]
    return Sample(name, tuple((k, str(labels.get(k, "all")) or "all") for k in keys), float(value))


def _d(st: dict, key: str) -> dict:
    v = st.get(key)
    return v if isinstance(v, dict) and "error" not in v else {}


def derived_samples(st: dict, rpc_health: dict | None, mode: str) -> list[Sample]:
    """Samples computable from Supervisor.status() and RpcPool.health()."""
    out: list[Sample] = []
    risk, ing, orch = _d(st, "risk"), _d(st, "ingest"), _d(st, "orchestrator")
    mom, led, ex = _d(st, "momentum"), _d(st, "ledger"), _d(st, "executor")
    if risk:
        out += [
            _s("launchray_open_positions", risk.get("open_positions", 0), mode=mode),
            _s("launchray_capital_deployed_sol", ((risk.get("deployed") or 0) + (risk.get("reserved") or 0))
               / LAMPORTS_PER_SOL, mode=mode),
            _s("launchray_capital_available_sol", (risk.get("available") or 0) / LAMPORTS_PER_SOL, mode=mode),
            _s("launchray_realized_pnl_sol", (risk.get("daily_pnl") or 0) / LAMPORTS_PER_SOL, mode=mode),
            _s("launchray_unrealized_pnl_sol", (risk.get("unrealized_pnl") or 0) / LAMPORTS_PER_SOL, mode=mode),
        ]
        if risk.get("state") in RISK_STATE_VALUE:
            out.append(_s("launchray_risk_state", RISK_STATE_VALUE[risk["state"]]))
        decisions = risk.get("decisions") or {}
        approved = sum(v for k, v in decisions.items() if k in APPROVED)
        out.append(_s("launchray_approvals", approved))
        out += [_s("launchray_rejections", v, reason=k) for k, v in decisions.items() if k not in APPROVED]
    for i, shard in enumerate(st.get("shards") or ()):
        if isinstance(shard, dict) and "error" not in shard:
            out.append(_s("launchray_tokens_tracked", shard.get("tokens", 0), shard=str(shard.get("index", i))))
    if ing:
        out.append(_s("launchray_decode_errors", ing.get("decode_errors", 0), source="ingest"))
        urls = ing.get("ws_urls") or ["unknown"]
        out.append(_s("launchray_ws_reconnects", ing.get("reconnects", 0), endpoint=endpoint_label(urls[0])))
    if mom:
        out.append(_s("launchray_signals", mom.get("opportunities", 0), strategy="momentum"))
    if orch:
        counts = orch.get("counts") or {}
        for strategy in ("momentum", "sniper", "manual"):
            out.append(_s("launchray_opportunities", counts.get(f"{strategy}_opportunities", 0), strategy=strategy))
        out.append(_s("launchray_signals", counts.get("sniper_opportunities", 0), strategy="sniper"))
    if led:
        for state, n in (led.get("orders_by_state") or {}).items():
            out.append(_s("launchray_orders", n, state=state, mode=mode))
    if ex:
        counts = ex.get("counts") or {}
        for side in ("buy", "sell"):
            out.append(_s("launchray_fills", counts.get(f"filled_{side}", 0), side=side, mode=mode))
    health = st.get("health")
    if isinstance(health, dict) and health.get("level") in HEALTH_LEVEL_VALUE:
        out.append(_s("launchray_health_level", HEALTH_LEVEL_VALUE[health["level"]]))
        causes = {r.get("cause") for r in health.get("reasons") or () if isinstance(r, dict)}
        out += [_s("launchray_health_reason", 1 if cause in causes else 0, cause=cause) for cause in HEALTH_CAUSES]
    for actor, n in (st.get("restarts") or {}).items():
        out.append(_s("launchray_actor_restarts", n, actor=actor))
    if isinstance(rpc_health, dict):
        for ep in rpc_health.get("endpoints") or ():
            label = endpoint_label(ep.get("url", ""))
            for outcome, n in (ep.get("calls") or {}).items():
                out.append(_s("launchray_rpc_calls", n, endpoint=label, outcome=outcome))
    return out


def merged(reported: Iterable[Sample], derived: Iterable[Sample]) -> list[Sample]:
    """Actor-reported samples, plus the derived ones for metrics no actor reported."""
    reported = list(reported)
    names = {s.name for s in reported}
    return reported + [s for s in derived if s.name not in names]
