"""Sweep grids: expansion, validation, ranking (pure), and a tiny 2-combination sweep on Ray."""
from __future__ import annotations

import math

import pytest

from pipelines.backtest.sweep import GridError, expand, flatten_grid, objective_value, rank, table_rows
from pipelines.config import load_config

BASE = load_config("sim", env={})


def test_expansion_is_the_cartesian_product_in_a_fixed_order():
    grid = {"exits": {"stop_loss": [0.1, 0.2]}, "scoring.min_score": [0.5, 0.6, 0.7],
            "latency.send_to_land_slots": [0, 2]}
    points = expand(grid, BASE)
    assert len(points) == 2 * 3 * 2
    keys = ["exits.stop_loss", "latency.send_to_land_slots", "scoring.min_score"]   # sorted, last fastest
    assert [list(p.params) for p in points] == [keys] * 12
    assert [p.id for p in points] == list(range(12))
    assert [tuple(p.params.values()) for p in points[:4]] == [(0.1, 0, 0.5), (0.1, 0, 0.6), (0.1, 0, 0.7),
                                                               (0.1, 2, 0.5)]
    p = points[5]                                  # (0.1, 2, 0.7)
    assert p.config.exits.stop_loss == 0.1 and p.config.scoring.min_score == 0.7
    assert p.latency == {"send_to_land_slots": 2}
    assert p.config.risk == BASE.risk              # everything else untouched


def test_list_valued_settings_take_a_list_of_lists():
    points = expand({"exits": {"take_profit": [[[1.0, 1.0]], [[0.5, 0.5], [1.0, 1.0]]]}}, BASE)
    assert [p.config.exits.take_profit for p in points] == [((1.0, 1.0),), ((0.5, 0.5), (1.0, 1.0))]


@pytest.mark.parametrize("grid,match", [
    ({}, "empty"),
    ({"exits.stop_loss": 0.1}, "expected a list"),
    ({"exits.stop_loss": []}, "empty list"),
    ({"nonsense.key": [1]}, "not a config key"),
    ({"exits.stop_los": [0.1]}, "stop_los"),                # pydantic names the unknown key
    ({"exits.stop_loss": [0.1, 2.0]}, "combination 1"),     # 2.0 is out of range: which combination says so
    ({"latency.warp": [1]}, "unknown latency parameter"),
    ({"latency.send_to_land_slots": [-1]}, "integers >= 0"),
])
def test_bad_grids_fail_up_front_naming_the_key(grid, match):
    with pytest.raises(GridError, match=match):
        expand(grid, BASE)


def test_flatten_accepts_dotted_and_nested_forms():
    assert flatten_grid({"a": {"b": [1]}, "c.d": [2]}) == {"a.b": [1], "c.d": [2]}


def _r(i, **m):
    return {"id": i, "params": {"x": i}, "metrics": m}


def test_ranking_by_each_objective():
    rs = [_r(0, pnl_sol=1.0, sharpe_per_trade=0.1, profit_factor=1.5, gross_profit_sol=3, gross_loss_sol=2),
          _r(1, pnl_sol=2.0, sharpe_per_trade=None, profit_factor=None, gross_profit_sol=2, gross_loss_sol=0),
          _r(2, pnl_sol=-1.0, sharpe_per_trade=0.5, profit_factor=0.5, gross_profit_sol=1, gross_loss_sol=2),
          _r(3, pnl_sol=2.0, sharpe_per_trade=-0.2, profit_factor=None, gross_profit_sol=0, gross_loss_sol=0)]
    assert [r["id"] for r in rank(rs, "pnl_sol")] == [1, 3, 0, 2]          # tie 2.0: lower id first
    assert [r["id"] for r in rank(rs, "sharpe")] == [2, 0, 3, 1]           # missing ranks last
    ranked = rank(rs, "profit_factor")
    assert [r["id"] for r in ranked] == [1, 0, 2, 3]   # no losses + profit = infinite; no trades = missing
    assert ranked[0]["objective"] == math.inf and ranked[-1]["objective"] is None
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4]
    with pytest.raises(GridError):
        objective_value({}, "sortino")


def test_table_rows_flatten_params_and_metrics():
    ranked = rank([{"id": 0, "params": {"a.b": 1, "c": [[1.0, 1.0]]}, "metrics": {"pnl_sol": 1.0, "trades": 3}},
                   {"id": 1, "params": {"a.b": 2, "c": [[0.5, 1.0]]}, "metrics": {}, "error": "ValueError: x"}],
                  "pnl_sol")
    rows = table_rows(ranked)
    assert rows[0]["a.b"] == 1 and rows[0]["c"] == "[[1.0, 1.0]]" and rows[0]["trades"] == 3
    assert rows[1]["error"] == "ValueError: x" and rows[1]["pnl_sol"] is None


def test_two_combination_sweep_on_ray_matches_in_process_runs(ray_session, tmp_path):
    from actors.commands.sweep import run_point, run_sweep
    from pipelines.backtest.market import ChainFees
    from pipelines.recording import write_events

    from .streams import SOL, T0, Coin, config, key
    coin = Coin(key(1), key(2))
    coin.launch(100)
    coin.buy(100, 10 * SOL, key(3))
    coin.sell(101, coin.events[-1].token_amount * 45 // 100, key(3))
    write_events(tmp_path, [(T0, ev) for ev in coin.events])
    from pipelines.recording import load_recording
    rec = load_recording(tmp_path)
    fees = ChainFees.from_meta(rec.meta, rec.events)
    points = expand({"exits.stop_loss": [0.15, 0.5]}, config())
    lat = {"detection_slots": 0, "send_to_land_slots": 0, "jitter_slots": 0}
    results = run_sweep(rec, fees, points, slot_ms=400, base_latency=lat, shards=None, seed=0, progress=False)
    by_id = {r["id"]: r for r in results}
    assert set(by_id) == {0, 1} and not any(r.get("error") for r in results)
    for pt in points:
        inline = run_point([rec.events], "inline", rec.t0, fees, pt.config, lat, 400, None, 0, pt.id, pt.params)
        assert by_id[pt.id]["metrics"]["fingerprint"] == inline["metrics"]["fingerprint"]
    # a 15% stop-loss sells on the slot-101 drop (about -30%); a 50% one keeps the position open
    assert by_id[0]["metrics"]["trades"] == 1 and by_id[1]["metrics"]["trades"] == 0
    assert rank(results, "pnl_sol")[0]["id"] == 1
