"""Many callers' approvals, fills, releases, closes and expiries interleaved in random order.

The actor serialises calls, so "concurrent" means any interleaving of whole calls. Whatever the order,
the invariants must hold after every call:
  - open positions + live reservations <= max_open_positions
  - each new approval leaves deployed + reserved <= heat * risk equity, and its size <= concentration *
    risk equity and <= max_position
  - cash and available capital never go negative
  - at most one reservation or position per mint
  - every reservation leaves exactly once (fill, release or expiry), never twice
"""
from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st

from pipelines.risk import RiskBook
from tests.unit.trading.factories import SOL, T0, buy, opp, risk_cfg

PPM = 1_000_000


class Harness:
    def __init__(self, cfg, capital: int) -> None:
        self.cfg = cfg
        self.book = RiskBook(cfg, T0, capital_lamports=capital)
        self.now = T0
        self.n = 0
        self.approved: dict[str, object] = {}        # reservation id -> Reservation
        self.opps: list = []                         # every opportunity sent (for retries)
        self.gone: dict[str, str] = {}               # reservation id -> how it left
        self.max_pos = round(cfg.max_position_sol * SOL)

    # -- calls -------------------------------------------------------------------------------------------------
    def approve(self, caller: int, mint: int, lamports: int) -> None:
        self.n += 1
        o = opp(f"mint{mint}", lamports, self.now, oid=f"c{caller}-{self.n}")
        self.opps.append(o)
        self._decide(o)

    def retry(self, k: int) -> None:
        if self.opps:
            self._decide(self.opps[k % len(self.opps)])

    def _decide(self, o) -> None:
        b = self.book
        before = b.reservations.get(next((rid for rid, r in self.approved.items() if r.opportunity_id == o.id), ""))
        d = b.approve_and_reserve(o, self.now)
        if not d.approved:
            return
        r = d.reservation
        if before is not None:                       # a retry: the same live reservation, nothing new
            assert r == before
            return
        assert r.id not in self.approved and r.id not in self.gone
        self.approved[r.id] = r
        eq = b.risk_equity
        assert r.lamports <= self.max_pos
        assert r.lamports * PPM <= round(self.cfg.max_concentration * PPM) * eq
        assert (b.deployed_total + b.reservations.total) * PPM <= round(self.cfg.max_portfolio_heat * PPM) * eq

    def fill(self, k: int, pct: int) -> None:
        live = list(self.book.reservations)
        if not live:
            return
        r = live[k % len(live)]
        cost = r.lamports * pct // 100               # fills land at or below the reserved amount
        assert self.book.on_fill(r.id, buy(r.mint, cost, 1_000, order=f"fill-{r.id}", ts=self.now))
        self._leave(r.id, "fill")

    def release(self, k: int) -> None:
        ids = list(self.approved)
        if not ids:
            return
        rid = ids[k % len(ids)]
        if self.book.release(rid) is not None:
            self._leave(rid, "release")

    def close(self, k: int, pct: int) -> None:
        mints = sorted(self.book.deployed)
        if mints:
            m = mints[k % len(mints)]
            basis = self.book.deployed[m]
            assert self.book.on_position_closed(m, basis * pct // 100, self.now)   # pct >= -100: proceeds >= 0

    def mark(self, pct: int) -> None:
        self.book.mark_to_market({m: v * pct // 100 for m, v in self.book.deployed.items()}, self.now)

    def tick(self, dt: float) -> None:
        self.now += dt
        for r in self.book.expire(self.now):
            self._leave(r.id, "expire")

    def _leave(self, rid: str, how: str) -> None:
        assert rid not in self.gone, f"{rid} left twice: {self.gone[rid]} then {how}"
        self.gone[rid] = how

    # -- invariants after every call ---------------------------------------------------------------------------
    def check(self) -> None:
        b = self.book
        live = list(b.reservations)
        assert len(b.deployed) + len(live) <= self.cfg.max_open_positions
        assert b.cash >= 0 and b.available >= 0
        assert b.reservations.total == sum(r.lamports for r in live)
        assert b.deployed_total == sum(b.deployed.values())
        mints = [r.mint for r in live] + list(b.deployed)
        assert len(mints) == len(set(mints))
        for r in live:
            assert r.id in self.approved and r.id not in self.gone

    def finish(self) -> None:
        self.tick(10 * 86_400)
        assert set(self.gone) == set(self.approved)   # every reservation left, exactly once
        assert self.book.reservations.total == 0


OPS = st.one_of(
    st.tuples(st.just("approve"), st.integers(0, 19), st.integers(0, 29), st.integers(1, 2 * SOL)),
    st.tuples(st.just("retry"), st.integers(0, 10_000)),
    st.tuples(st.just("fill"), st.integers(0, 100), st.integers(50, 100)),
    st.tuples(st.just("release"), st.integers(0, 10_000)),
    st.tuples(st.just("close"), st.integers(0, 100), st.integers(-100, 200)),
    st.tuples(st.just("mark"), st.integers(-100, 100)),
    st.tuples(st.just("tick"), st.floats(0, 120)),
)

CONFIGS = st.fixed_dictionaries({
    "max_open_positions": st.integers(1, 10),
    "max_portfolio_heat": st.floats(0.05, 1.0),
    "max_concentration": st.floats(0.05, 1.0),
    "max_position_sol": st.floats(0.05, 3.0),
    "daily_loss_limit": st.floats(0.05, 1.0),
    "drawdown_halt": st.floats(0.05, 1.0),
    "consecutive_loss_pause_s": st.floats(0, 600),
    "token_cooldown_s": st.floats(0, 600),
    "clamp_to_max_position": st.booleans(),
})


def run(h: Harness, ops) -> None:
    for op, *args in ops:
        getattr(h, op)(*args)
        h.check()
    h.finish()


@settings(max_examples=60, deadline=None)
@given(CONFIGS, st.integers(0, 20 * SOL), st.lists(OPS, max_size=150))
def test_invariants_hold_under_any_interleaving(cfg, capital, ops):
    run(Harness(risk_cfg(**cfg), capital), ops)


def test_a_thousand_opportunities_from_twenty_callers_in_random_order():
    rng = random.Random(20240607)
    h = Harness(risk_cfg(daily_loss_limit=1.0, drawdown_halt=1.0, consecutive_loss_pause_s=0), 10 * SOL)
    ops = [("approve", rng.randrange(20), rng.randrange(40), rng.randrange(1, 2 * SOL)) for _ in range(1000)]
    ops += [("fill", rng.randrange(100), rng.randrange(50, 101)) for _ in range(150)]
    ops += [("release", rng.randrange(10_000)) for _ in range(150)]
    ops += [("retry", rng.randrange(10_000)) for _ in range(150)]
    ops += [("close", rng.randrange(100), rng.randrange(-60, 60)) for _ in range(250)]
    ops += [("mark", rng.randrange(-50, 50)) for _ in range(100)]
    ops += [("tick", rng.uniform(0, 60)) for _ in range(200)]
    rng.shuffle(ops)
    run(h, ops)
    assert len(h.approved) >= 100                      # the run really traded, it did not refuse everything
    assert {"fill", "release", "expire"} <= set(h.gone.values())
