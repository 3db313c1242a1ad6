"""RiskBook: every entry limit, capital reservations and P&L breakers in one deterministic state object.

The RiskSupervisor actor hosts one RiskBook; backtests drive the same class with a simulated clock. A Ray
actor runs one call at a time, so `approve_and_reserve` is atomic: it checks every limit against exposure
that already counts live reservations, then reserves. Two approvals can never together exceed a limit.

Money (all integer lamports):
    book equity  = capital + realised P&L
    cash         = book equity - deployed          (deployed = remaining cost basis of open positions)
    available    = cash - reserved
    risk equity  = book equity + min(unrealised, 0)
Limits and the drawdown halt use *risk equity*: open losses count at once, paper gains never loosen a limit
(a memecoin's mark can vanish before it is sold). The peak is the high-water mark of book equity, so only
realised gains raise it; drawdown = (peak - risk equity) / peak. A mark-to-market can trip the halt.

Limit boundaries (fraction limits compared exactly in integer parts-per-million):
    size        request <= max_position_sol (else clamped, or refused when clamp_to_max_position is False)
    count       open positions + live reservations + 1 <= max_open_positions
    concentration  request <= max_concentration * risk equity
    heat        deployed + reserved + request <= max_portfolio_heat * risk equity
    leverage    deployed + reserved + request <= leverage_cap * risk equity (spot trading borrows nothing, so
                this only binds if leverage_cap is configured below the heat limit; kept as a backstop)
    capital     request <= available
    daily loss  trips when the UTC day's realised loss >= daily_loss_limit * book equity at the day's start
    drawdown    trips when drawdown >= drawdown_halt
    cooldown    refused while now < last exit of the mint + token_cooldown_s
An amount exactly at a limit is allowed; a loss exactly at a breaker's limit trips it.

Time: callers pass `now` (seconds since the Unix epoch; UTC days are now // 86400). A `now` older than one
already seen is treated as the latest seen, so interleaved callers cannot move the book back in time.
"""
from __future__ import annotations

from collections import deque

from pipelines.config import RiskConfig
from pipelines.messages import Decision, Fill, Opportunity, Reservation, RiskState, Side, stable_id
from pipelines.risk import reasons as R
from pipelines.risk.breakers import Breakers
from pipelines.risk.reservations import ReservationTable

LAMPORTS_PER_SOL = 1_000_000_000
PPM = 1_000_000
DAY_S = 86_400
SNAPSHOT_VERSION = 1
_MAX_REMEMBERED = 4096    # recent fill and reservation ids kept for idempotency


def _ppm(x: float) -> int:
    return round(x * PPM)


class RiskBook:
    def __init__(self, cfg: RiskConfig, now: float, capital_lamports: int | None = None) -> None:
        self.capital = (round(cfg.starting_capital_sol * LAMPORTS_PER_SOL)
                        if capital_lamports is None else int(capital_lamports))
        self._now = float(now)
        self.realized = 0
        self.peak = self.capital
        self.day = int(self._now // DAY_S)
        self.day_start_equity = self.capital
        self.daily_pnl = 0
        self.deployed: dict[str, int] = {}        # mint -> remaining cost basis
        self.deployed_total = 0
        self.unrealized: dict[str, int] = {}      # mint -> last mark-to-market P&L
        self.unrealized_total = 0
        self.partial_booked: dict[str, int] = {}  # mint -> P&L already booked by partial exits
        self.last_exit: dict[str, float] = {}     # mint -> time of its last close (cooldown)
        self.reservations = ReservationTable()
        self.breakers = Breakers()
        self._released: list[Reservation] = []    # expired inside other calls, handed out by expire()
        self._spent: set[str] = set()             # reservation ids that left (an opportunity is approved once)
        self._spent_order: deque[str] = deque()
        self._fills: set[str] = set()             # fill order ids already applied (idempotency)
        self._fill_order: deque[str] = deque()
        self.update_config(cfg)

    # ---- configuration ---------------------------------------------------------------------------------------
    def update_config(self, cfg: RiskConfig) -> None:
        """Runtime PATCH: takes effect on the next decision. starting_capital_sol only matters at creation."""
        self.cfg = cfg
        self._max_pos = round(cfg.max_position_sol * LAMPORTS_PER_SOL)
        self._conc = _ppm(cfg.max_concentration)
        self._heat = _ppm(cfg.max_portfolio_heat)
        self._lev = _ppm(cfg.leverage_cap)
        self._daily = _ppm(cfg.daily_loss_limit)
        self._dd = _ppm(cfg.drawdown_halt)
        self._blacklist = frozenset(cfg.blacklist)

    # ---- derived money ---------------------------------------------------------------------------------------
    @property
    def book_equity(self) -> int:
        return self.capital + self.realized

    @property
    def risk_equity(self) -> int:
        return self.capital + self.realized + min(self.unrealized_total, 0)

    @property
    def cash(self) -> int:
        return self.capital + self.realized - self.deployed_total

    @property
    def available(self) -> int:
        return self.cash - self.reservations.total

    @property
    def state(self) -> RiskState:
        return self.breakers.state()

    def drawdown(self) -> float:
        return (self.peak - self.risk_equity) / self.peak if self.peak > 0 else 0.0

    # ---- time ------------------------------------------------------------------------------------------------
    def _advance(self, now: float) -> float:
        if now > self._now:
            self._now = now
        now = self._now
        day = int(now // DAY_S)
        if day != self.day:
            self.day = day
            self.day_start_equity = self.book_equity
            self.daily_pnl = 0
            cd = self.cfg.token_cooldown_s
            self.last_exit = {m: t for m, t in self.last_exit.items() if now - t < cd}
        self.breakers.advance(now, day)
        if self.reservations.next_expiry() <= now:
            self._released.extend(map(self._spend, self.reservations.expire(now)))
        return now

    # ---- entries ---------------------------------------------------------------------------------------------
    def approve_and_reserve(self, opp: Opportunity, now: float) -> Decision:
        """Check every limit and, when all pass, reserve the capital, in one call.

        Retrying the call for the same opportunity returns the same live reservation (the actor may be
        retried after a restart); once that reservation has left (filled, released, expired) the
        opportunity is refused as a duplicate. Use `reservation.lamports`: it may be clamped below
        opp.capital_lamports.
        """
        now = self._advance(now)
        rid = stable_id("reservation", opp.id)
        existing = self.reservations.get(rid)
        if existing is not None:
            return Decision(True, R.CLAMPED if existing.lamports < opp.capital_lamports else R.OK, existing)
        if rid in self._spent:
            return Decision(False, R.DUPLICATE)
        refusal = self.breakers.first()
        if refusal:
            return Decision(False, refusal)
        mint = opp.mint
        want = opp.capital_lamports
        if not mint or not isinstance(want, int) or want <= 0:
            return Decision(False, R.INVALID)
        if now >= opp.expires_at:
            return Decision(False, R.EXPIRED)
        if mint in self._blacklist:
            return Decision(False, R.BLACKLISTED)
        if mint in self.deployed or self.reservations.holds_mint(mint):
            return Decision(False, R.DUPLICATE)
        last = self.last_exit.get(mint)
        if last is not None and now < last + self.cfg.token_cooldown_s:
            return Decision(False, R.COOLDOWN)
        reason = R.OK
        if want > self._max_pos:
            if not self.cfg.clamp_to_max_position:
                return Decision(False, R.MAX_POSITION_SIZE)
            want, reason = self._max_pos, R.CLAMPED
        if len(self.deployed) + len(self.reservations) + 1 > self.cfg.max_open_positions:
            return Decision(False, R.MAX_OPEN_POSITIONS)
        equity = self.risk_equity
        if equity <= 0:
            return Decision(False, R.INSUFFICIENT_CAPITAL)
        if want * PPM > self._conc * equity:
            return Decision(False, R.CONCENTRATION)
        exposure = (self.deployed_total + self.reservations.total + want) * PPM
        if exposure > self._heat * equity:
            return Decision(False, R.PORTFOLIO_HEAT)
        if exposure > self._lev * equity:
            return Decision(False, R.LEVERAGE)
        if want > self.available:
            return Decision(False, R.INSUFFICIENT_CAPITAL)
        res = Reservation(id=rid, opportunity_id=opp.id, mint=mint, lamports=want,
                          created_at=now, expires_at=now + self.cfg.reservation_ttl_s)
        self.reservations.add(res)
        return Decision(True, reason, res)

    def _spend(self, r: Reservation | None) -> Reservation | None:
        """Note that a reservation left (filled, released, expired): its opportunity cannot reserve again."""
        if r is not None:
            self._mark_spent(r.id)
        return r

    def _mark_spent(self, rid: str) -> None:
        self._spent.add(rid)
        self._spent_order.append(rid)
        if len(self._spent_order) > _MAX_REMEMBERED:
            self._spent.discard(self._spent_order.popleft())

    def release(self, reservation_id: str) -> Reservation | None:
        """Give a reservation's capital back (the order failed or was cancelled). Twice is a no-op."""
        return self._spend(self.reservations.pop(reservation_id))

    def expire(self, now: float) -> list[Reservation]:
        """Release and return reservations whose TTL has passed, each exactly once."""
        self._advance(now)
        out, self._released = self._released, []
        return out

    def _remember_fill(self, order_id: str) -> bool:
        """False when this fill was applied before (a retried call)."""
        if order_id in self._fills:
            return False
        self._fills.add(order_id)
        self._fill_order.append(order_id)
        if len(self._fill_order) > _MAX_REMEMBERED:
            self._fills.discard(self._fill_order.popleft())
        return True

    def on_fill(self, reservation_id: str, fill: Fill) -> bool:
        """A buy landed: its reservation (if still live) becomes deployed capital at the real cost.

        The money left the wallet whatever happened to the reservation, so a fill whose reservation expired
        or was released is still deployed. Returns False when the fill was already applied.
        """
        if fill.side is not Side.BUY:
            raise ValueError("on_fill takes buy fills; report sells with on_partial_exit / on_position_closed")
        if fill.lamports < 0:
            raise ValueError(f"fill {fill.order_id}: negative lamports")
        res = self.reservations.get(reservation_id)
        if res is not None and res.mint != fill.mint:
            raise ValueError(f"fill {fill.order_id} is for {fill.mint}, reservation {reservation_id} for {res.mint}")
        self._advance(fill.ts)
        if not self._remember_fill(fill.order_id):
            return False
        self._spend(self.reservations.pop(reservation_id))
        self.deployed[fill.mint] = self.deployed.get(fill.mint, 0) + fill.lamports
        self.deployed_total += fill.lamports
        return True

    # ---- exits and P&L ---------------------------------------------------------------------------------------
    def on_partial_exit(self, fill: Fill, basis_released: int, now: float) -> bool:
        """A sell that leaves tokens held: book its P&L (fill.lamports - basis_released) and free the basis.

        It counts toward daily P&L and drawdown, not toward the win/loss streak (that is the whole position's
        outcome, decided at close). Returns False for a fill already applied.
        """
        if fill.side is not Side.SELL:
            raise ValueError("on_partial_exit takes sell fills")
        now = self._advance(now)
        if fill.mint not in self.deployed or not self._remember_fill(fill.order_id):
            return False
        basis = self.deployed[fill.mint]
        released = max(0, min(int(basis_released), basis))
        pnl = fill.lamports - released
        self.deployed[fill.mint] = basis - released
        self.deployed_total -= released
        if fill.mint in self.unrealized and basis > 0:   # the sold share of the mark is now realised
            old = self.unrealized[fill.mint]
            new = old * (basis - released) // basis if old >= 0 else -((-old) * (basis - released) // basis)
            self.unrealized[fill.mint] = new
            self.unrealized_total += new - old
        self.partial_booked[fill.mint] = self.partial_booked.get(fill.mint, 0) + pnl
        self._book(pnl)
        return True

    def on_position_closed(self, mint: str, pnl_lamports: int, now: float) -> bool:
        """The position in `mint` is closed with total realised P&L `pnl_lamports` (all its sells - its cost).

        P&L already booked by partial exits is not booked twice. Starts the mint's cooldown, counts the
        win/loss streak and checks every breaker. Returns False (no-op) when the book holds no such position,
        e.g. a retried call.
        """
        now = self._advance(now)
        if mint not in self.deployed:
            return False
        self.deployed_total -= self.deployed.pop(mint)
        self.unrealized_total -= self.unrealized.pop(mint, 0)
        remainder = int(pnl_lamports) - self.partial_booked.pop(mint, 0)
        self.last_exit[mint] = now
        self.breakers.record_close(int(pnl_lamports), now, self.cfg.consecutive_loss_pause,
                                   self.cfg.consecutive_loss_pause_s)
        self._book(remainder)
        return True

    def on_cost(self, key: str, lamports: int, now: float) -> bool:
        """A fee paid with nothing to show for it (a transaction that landed and failed): a realised loss that
        counts toward daily P&L and drawdown but not toward any position or the loss streak. Once per key."""
        now = self._advance(now)
        if lamports <= 0 or not self._remember_fill(f"cost:{key}"):
            return False
        self._book(-int(lamports))
        return True

    def _book(self, pnl: int) -> None:
        self.realized += pnl
        self.daily_pnl += pnl
        if self.book_equity > self.peak:
            self.peak = self.book_equity
        self._check_breakers()

    def _check_breakers(self) -> None:
        b = self.breakers
        if b.daily_tripped_day == -1 and -self.daily_pnl * PPM >= self._daily * self.day_start_equity > 0:
            b.daily_tripped_day = self.day
        if not b.drawdown and self.peak > 0 and (self.peak - self.risk_equity) * PPM >= self._dd * self.peak:
            b.drawdown = True

    def mark_to_market(self, unrealized: dict[str, int], now: float | None = None) -> None:
        """Replace the open positions' unrealised P&L (mint -> lamports, from PositionBook) and check drawdown.

        Only mints the book holds are kept, so a stale mark for a closed position cannot count twice.
        """
        if now is not None:
            self._advance(now)
        marks = {m: int(v) for m, v in unrealized.items() if m in self.deployed}
        self.unrealized = marks
        self.unrealized_total = sum(marks.values())
        self._check_breakers()

    # ---- operator --------------------------------------------------------------------------------------------
    def kill(self, flatten: bool = False) -> tuple[str, ...]:
        """Kill switch: HALTED at once. With flatten, returns the held mints the caller must sell now."""
        self.breakers.killed = True
        self.breakers.flatten_requested = self.breakers.flatten_requested or flatten
        return tuple(sorted(self.deployed)) if flatten else ()

    def halt(self) -> None:
        """Stop new entries until reset_halt() (a critical error)."""
        self.breakers.halted = True

    def pause(self) -> None:
        """Exits only until resume()."""
        self.breakers.paused = True

    def resume(self) -> None:
        """Lift the operator pause (not the breakers)."""
        self.breakers.paused = False

    def set_health(self, degraded: bool, critical: bool) -> bool:
        """The error level's switches (pipelines/health_levels.py): degraded = exits only until it recovers,
        critical = halted for the rest of the run. Returns True when anything changed."""
        b = self.breakers
        critical = b.critical or bool(critical)              # sticky: nothing in this run lowers it
        changed = (b.degraded, b.critical) != (bool(degraded), critical)
        b.degraded, b.critical = bool(degraded), critical
        return changed

    def apply_balance(self, balance: int, reserve: int, configured: int | None = None) -> int:
        """The wallet holds `balance`: the base capital becomes the smaller of the configured capital and what the
        wallet backs less `reserve` (pipelines/risk/wallet_balance.capital_cap). A change of capital is not P&L:
        the peak and the day's start equity move with it, so no breaker trips on it. Returns the capital."""
        from pipelines.risk.wallet_balance import capital_cap
        configured = round(self.cfg.starting_capital_sol * LAMPORTS_PER_SOL) if configured is None else configured
        capital = capital_cap(configured, balance, reserve, self.realized, self.deployed_total)
        delta = capital - self.capital
        if delta:
            self.capital = capital
            self.peak = max(1, self.peak + delta)
            self.day_start_equity += delta
        return capital

    def reset_halt(self) -> None:
        """Clear the kill switch, the operator halt and the drawdown halt. The peak is re-based to the
        current risk equity, otherwise the same drawdown would trip the halt again at once."""
        if self.breakers.drawdown:
            self.peak = max(self.risk_equity, 1)
        self.breakers.reset_halt()

    # ---- reporting and persistence ---------------------------------------------------------------------------
    def status(self, now: float | None = None) -> dict:
        """The book at `now` (default: the latest time seen; pass now so lapsed pauses show as lapsed)."""
        if now is not None:
            self._advance(now)
        b = self.breakers
        return {
            "state": b.state().value, "breakers": b.active(), "now": self._now,
            "capital": self.capital, "equity": self.book_equity + self.unrealized_total,
            "book_equity": self.book_equity, "risk_equity": self.risk_equity, "peak_equity": self.peak,
            "drawdown": self.drawdown(), "realized_pnl": self.realized, "unrealized_pnl": self.unrealized_total,
            "daily_pnl": self.daily_pnl, "day_start_equity": self.day_start_equity,
            "deployed": self.deployed_total, "reserved": self.reservations.total, "cash": self.cash,
            "available": self.available, "open_positions": len(self.deployed),
            "reservations": len(self.reservations), "consecutive_losses": b.consecutive_losses,
            "loss_pause_until": b.loss_pause_until, "wins": b.wins, "losses": b.losses,
            "killed": b.killed, "flatten_requested": b.flatten_requested,
        }

    def snapshot(self) -> dict:
        """Everything needed to resume after a restart, as JSON-ready primitives."""
        return {
            "version": SNAPSHOT_VERSION, "now": self._now, "capital": self.capital, "realized": self.realized,
            "peak": self.peak, "day": self.day, "day_start_equity": self.day_start_equity,
            "daily_pnl": self.daily_pnl, "deployed": dict(self.deployed), "unrealized": dict(self.unrealized),
            "partial_booked": dict(self.partial_booked), "last_exit": dict(self.last_exit),
            "reservations": self.reservations.snapshot(),
            "released": ReservationTable.rows(self._released),
            "breakers": self.breakers.snapshot(), "fills": list(self._fill_order),
            "spent": list(self._spent_order),
        }

    @classmethod
    def restore(cls, snap: dict, cfg: RiskConfig, now: float) -> "RiskBook":
        """Rebuild from snapshot() and advance to `now` (a day boundary, pause end or expiry may have passed).

        Reservations that expired while down are released and handed out by the next expire() call.
        """
        if snap.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"risk snapshot version {snap.get('version')!r}, expected {SNAPSHOT_VERSION}")
        book = cls(cfg, snap["now"], capital_lamports=snap["capital"])
        book.realized = int(snap["realized"])
        book.peak = int(snap["peak"])
        book.day = int(snap["day"])
        book.day_start_equity = int(snap["day_start_equity"])
        book.daily_pnl = int(snap["daily_pnl"])
        book.deployed = {m: int(v) for m, v in snap["deployed"].items()}
        book.deployed_total = sum(book.deployed.values())
        book.unrealized = {m: int(v) for m, v in snap["unrealized"].items()}
        book.unrealized_total = sum(book.unrealized.values())
        book.partial_booked = {m: int(v) for m, v in snap["partial_booked"].items()}
        book.last_exit = {m: float(t) for m, t in snap["last_exit"].items()}
        book.reservations = ReservationTable.restore(snap["reservations"])
        book.breakers = Breakers.restore(snap["breakers"])
        book._released = [Reservation(**row) for row in snap["released"]]
        for oid in snap["fills"]:
            book._remember_fill(oid)
        for rid in snap["spent"]:
            book._mark_spent(rid)
        book._advance(now)
        return book
