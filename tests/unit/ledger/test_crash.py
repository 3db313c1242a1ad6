"""Kill a writing process with SIGKILL mid-stream; every acknowledged write survives, no batch is partial."""
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipelines.ledger import LedgerStore
from pipelines.messages import OrderState

ROOT = Path(__file__).resolve().parents[3]

WRITER = textwrap.dedent("""
    import sys
    from dataclasses import replace
    from pipelines.ledger import LedgerStore
    from pipelines.messages import Fill, Order, OrderState, Position, Side
    from pipelines.orders import transition

    store = LedgerStore(sys.argv[1])
    i = 0
    while True:                                   # until killed
        o = Order(id=f"o{i}", mint=f"M{i}", side=Side.BUY, venue="pumpfun", amount=1_000 + i, limit=1,
                  mode="paper", opportunity_id=f"opp{i}", created_at=float(i), updated_at=float(i))
        store.record_order(o)
        print(f"intent {i}", flush=True)           # acknowledged: the commit returned
        s = transition(o, OrderState.SUBMITTED, i + 0.1)
        c = transition(s, OrderState.CONFIRMED, i + 0.2)
        f = Fill(order_id=o.id, mint=o.mint, side=Side.BUY, lamports=1_000 + i, tokens=10 * i + 1,
                 fee_lamports=5, price=1.0, slot=i, ts=i + 0.2)
        p = Position(mint=o.mint, opened_at=i + 0.2, tokens=10 * i + 1, initial_tokens=10 * i + 1,
                     cost_lamports=1_000 + i, entry_price=1.0, entry_order_id=o.id)
        store.record_batch(orders=[s, c], fills=[f], positions=[p])
        print(f"batch {i}", flush=True)
        i += 1
""")


@pytest.mark.parametrize("acks_before_kill", [37, 160])
def test_sigkill_mid_stream_loses_no_acknowledged_write_and_leaves_no_partial_batch(tmp_path, acks_before_kill):
    path = tmp_path / "ledger.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    acked_intents, acked_batches = set(), set()
    try:
        while len(acked_intents) + len(acked_batches) < acks_before_kill:
            line = proc.stdout.readline()
            assert line, f"writer died early: {proc.stderr.read()}"
            kind, i = line.split()
            (acked_intents if kind == "intent" else acked_batches).add(int(i))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = LedgerStore(path)
    try:
        orders = {o.id: o for o in store.orders()}
        fills = {f.order_id for f in store.fills()}
        positions = {p.entry_order_id for p in store.positions()}
        for i in acked_intents:
            assert f"o{i}" in orders
        for i in acked_batches:
            assert orders[f"o{i}"].state == OrderState.CONFIRMED
        for oid, o in orders.items():
            # each batch is all there or not at all
            if o.state == OrderState.CONFIRMED:
                assert oid in fills and oid in positions and len(store.history(oid)) == 3
            else:
                assert o.state == OrderState.INTENT and oid not in fills and oid not in positions
        assert fills == positions == {oid for oid, o in orders.items() if o.state == OrderState.CONFIRMED}
        # the writer ran ahead of what we read from its pipe, so more can be there; never less, never a gap
        assert sorted(orders) == sorted(f"o{i}" for i in range(len(orders)))
        assert store.summary()["duplicate_orders"] == 0
    finally:
        store.close()
