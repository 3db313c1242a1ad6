"""The drill's verdict: what the ledger booked against what the chain did, per fault phase and in total.

Pure: `launchray drill` (actors/commands/drill.py) gathers the facts (ledger rows, simnet's ground truth for
the wallet and the market) and passes them in with the time; nothing here reads a file or a clock.

What fails the drill (each must be zero):
  lost_fills          a transaction the wallet signed that landed and succeeded, with no fill in the ledger
  duplicate_buys      a second buy fill of one mint by one strategy
  stuck_exits         a position still open longer than its exit rules allow (max hold + grace) at the end,
                      or an order left in a non-terminal state (intent / submitted / unresolved) after the stop
  balance_diff        the chain's SOL balance minus what the ledger implies (funded - buys + sells - failed-tx
                      fees), in lamports; and for each token, the chain's holding minus bought - sold, in base units
  launches_missed     launches the chain made during the drill that the ledger's launches table lacks
  stolen_lamports     lamports the Jupiter-tamper stranger received (the trader signed a tampered swap)
  unexpected_exits    `launchray run` exiting by itself in a phase that injected nothing critical
  untested_phases     a phase that must exercise its fault and did not: the tampered-Jupiter phase passes only
                      when its fault fired (the run fetched a Jupiter swap and met the tamper), the drill made a
                      held coin migrate in it, and that coin was then sold (after the fault was cleared) or is
                      still held within its exit rules
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

NON_TERMINAL = ("intent", "submitted", "unresolved")


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    started_at: float
    ended_at: float
    start_slot: int
    end_slot: int
    faults: Mapping[str, object] = field(default_factory=dict)   # the settings switched on
    fired: Mapping[str, int] = field(default_factory=dict)       # simnet's counters that moved in the phase
    critical: bool = False          # the phase injects a condition after which the run may rightly stop itself
    run_exits: tuple[str, ...] = ()  # how the run ended by itself during the phase ("exit 3: reason")
    notes: tuple[str, ...] = ()
    must_fire: str = ""             # simnet's counter that must move, else the phase tested nothing
    targets: tuple[str, ...] = ()   # held coins the drill made migrate in the phase (their sells go to Jupiter)


@dataclass(frozen=True, slots=True)
class LedgerFill:
    signature: str
    order_id: str
    mint: str
    side: str                       # "buy" | "sell"
    lamports: int
    tokens: int
    slot: int
    strategy: str                   # the buy order's reason (its strategy); "" for sells


@dataclass(frozen=True, slots=True)
class LedgerOrder:
    id: str
    mint: str
    side: str
    state: str
    created_at: float


@dataclass(frozen=True, slots=True)
class LedgerPosition:
    mint: str
    opened_at: float
    is_open: bool
    strategy: str


@dataclass(frozen=True, slots=True)
class LedgerFacts:
    fills: tuple[LedgerFill, ...]
    orders: tuple[LedgerOrder, ...]
    positions: tuple[LedgerPosition, ...]
    launch_mints: frozenset[str]
    tx_costs_lamports: int
    tx_cost_signatures: frozenset[str] = frozenset()   # failed transactions whose fee the ledger booked


@dataclass(frozen=True, slots=True)
class WalletTx:
    signature: str
    slot: int
    ok: bool                        # landed without error
    signer: bool                    # the wallet signed it (not an airdrop to it)
    lamports_delta: int


@dataclass(frozen=True, slots=True)
class ChainFacts:
    funded_lamports: int            # airdropped to the wallet by the drill
    wallet_lamports: int
    wallet_tokens: Mapping[str, int]
    transactions: tuple[WalletTx, ...]
    launches: tuple[tuple[str, int], ...]      # (mint, slot) of every launch the market made
    stolen_lamports: int = 0


@dataclass(frozen=True, slots=True)
class Rules:
    max_hold_s: float
    grace_s: float                  # confirm timeout, retries and a restart's downtime on top of max hold


@dataclass(frozen=True, slots=True)
class PhaseRow:
    name: str
    seconds: float
    slots: tuple[int, int]
    orders: int                 # orders the run created in the phase: did the faults meet any trading?
    fills: int
    lost_fills: int
    duplicate_buys: int
    stuck_exits: int
    launches: int
    launches_missed: int
    run_exits: tuple[str, ...]
    fired: Mapping[str, int]
    notes: tuple[str, ...]
    faulted: bool = False       # the phase switched simnet faults on (so something should have fired)
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    rows: tuple[PhaseRow, ...]
    lost_fills: tuple[str, ...]                 # signatures
    duplicate_buys: tuple[str, ...]             # "strategy mint"
    stuck_positions: tuple[str, ...]            # mints
    unresolved_orders: tuple[str, ...]          # order ids
    sol_diff_lamports: int
    token_diff: Mapping[str, int]               # mint -> chain minus ledger (base units), non-zero only
    launches_missed: tuple[str, ...]
    stolen_lamports: int
    unexpected_exits: tuple[str, ...]
    launches_total: int
    unbooked_failed_txs: tuple[str, ...] = ()   # landed-and-failed wallet txs whose fee the ledger lacks
    failed_fees_chain: int = 0                  # what those fees cost on chain (all failed wallet txs)
    untested_phases: tuple[str, ...] = ()       # "phase: why it did not exercise its fault"
    target_outcomes: tuple[str, ...] = ()       # "phase: mint sold / still held" for the coins made to migrate

    @property
    def stuck_exits(self) -> int:
        return len(self.stuck_positions) + len(self.unresolved_orders)

    @property
    def balance_diff_lamports(self) -> int:
        """|SOL difference| + the sum of |token differences| (each token in its base units)."""
        return abs(self.sol_diff_lamports) + sum(abs(v) for v in self.token_diff.values())

    @property
    def totals(self) -> dict[str, int]:
        return {"lost_fills": len(self.lost_fills), "duplicate_buys": len(self.duplicate_buys),
                "stuck_exits": self.stuck_exits, "balance_diff_lamports": self.balance_diff_lamports,
                "launches_missed": len(self.launches_missed), "stolen_lamports": self.stolen_lamports,
                "unexpected_exits": len(self.unexpected_exits), "untested_phases": len(self.untested_phases)}

    @property
    def passed(self) -> bool:
        return not any(self.totals.values())

    def to_dict(self) -> dict:
        return {"passed": self.passed, "totals": self.totals,
                "details": {"lost_fills": list(self.lost_fills), "duplicate_buys": list(self.duplicate_buys),
                            "stuck_positions": list(self.stuck_positions),
                            "unresolved_orders": list(self.unresolved_orders),
                            "sol_diff_lamports": self.sol_diff_lamports, "token_diff": dict(self.token_diff),
                            "launches_missed": list(self.launches_missed), "launches_total": self.launches_total,
                            "unexpected_exits": list(self.unexpected_exits),
                            "unbooked_failed_txs": list(self.unbooked_failed_txs),
                            "failed_fees_chain_lamports": self.failed_fees_chain,
                            "untested_phases": list(self.untested_phases),
                            "target_outcomes": list(self.target_outcomes)},
                "phases": [{**asdict(r), "slots": list(r.slots), "fired": dict(r.fired), "targets": list(r.targets),
                            "run_exits": list(r.run_exits), "notes": list(r.notes)} for r in self.rows]}


def _phase_of_slot(phases: tuple[Phase, ...], slot: int) -> int | None:
    for i, p in enumerate(phases):
        if p.start_slot <= slot <= p.end_slot:
            return i
    return None


def _phase_of_time(phases: tuple[Phase, ...], ts: float) -> int | None:
    for i, p in enumerate(phases):
        if p.started_at <= ts < p.ended_at:
            return i
    return None


def lost_fills(ledger: LedgerFacts, chain: ChainFacts) -> list[WalletTx]:
    booked = {f.signature for f in ledger.fills}
    return [t for t in chain.transactions if t.signer and t.ok and t.signature not in booked]


def duplicate_buys(fills: Iterable[LedgerFill]) -> list[LedgerFill]:
    """Every buy fill after the first of its (strategy, mint), in slot order."""
    seen: set[tuple[str, str]] = set()
    extra = []
    for f in sorted((f for f in fills if f.side == "buy"), key=lambda f: (f.slot, f.signature)):
        key = (f.strategy, f.mint)
        if key in seen:
            extra.append(f)
        seen.add(key)
    return extra


def stuck_positions(positions: Iterable[LedgerPosition], rules: Rules, now: float) -> list[LedgerPosition]:
    limit = rules.max_hold_s + rules.grace_s
    return [p for p in positions if p.is_open and now - p.opened_at > limit]


def balance_diff(ledger: LedgerFacts, chain: ChainFacts) -> tuple[int, dict[str, int]]:
    """(chain SOL - ledger SOL, {mint: chain tokens - ledger tokens} for mints that differ)."""
    sol = chain.funded_lamports - ledger.tx_costs_lamports
    tokens: Counter[str] = Counter()
    for f in ledger.fills:
        if f.side == "buy":
            sol -= f.lamports
            tokens[f.mint] += f.tokens
        else:
            sol += f.lamports
            tokens[f.mint] -= f.tokens
    diff = {}
    for mint in set(tokens) | set(chain.wallet_tokens):
        d = int(chain.wallet_tokens.get(mint, 0)) - tokens.get(mint, 0)
        if d:
            diff[mint] = d
    return chain.wallet_lamports - sol, diff


def exercised(phase: Phase, ledger: LedgerFacts, stuck: Iterable[LedgerPosition]) -> tuple[list[str], list[str]]:
    """(why `phase` did not exercise its fault, what became of its target coins). A phase with `must_fire`
    needs that counter to have moved and at least one target; each target must have a sell fill from the phase
    on (its exit went through once the fault was cleared) or be still open within its exit rules (not stuck)."""
    if not phase.must_fire:
        return [], []
    problems, outcomes = [], []
    if not phase.fired.get(phase.must_fire, 0):
        problems.append(f"{phase.must_fire} never fired")
    if not phase.targets:
        problems.append("no held coin was made to migrate (no open position, or none still on its curve)")
    stuck_mints = {p.mint for p in stuck}
    for mint in phase.targets:
        sells = [f for f in ledger.fills if f.mint == mint and f.side == "sell" and f.slot >= phase.start_slot]
        held = any(p.mint == mint and p.is_open for p in ledger.positions)
        if sells:
            last = max(sells, key=lambda f: f.slot)
            outcomes.append(f"{mint} sold ({len(sells)} sell fill(s), last in slot {last.slot}"
                            f"{', after the fault was cleared' if last.slot > phase.end_slot else ''})"
                            + ("; a remainder is still held" if held else ""))
        elif held and mint not in stuck_mints:
            outcomes.append(f"{mint} not sold yet, still held within its exit rules")
        elif held:
            problems.append(f"{mint} is stuck: still held past max hold + grace")
        else:
            problems.append(f"{mint}'s position closed without a sell fill")
    return problems, outcomes


def verdict(phases: Iterable[Phase], ledger: LedgerFacts, chain: ChainFacts, rules: Rules, now: float) -> Verdict:
    phases = tuple(phases)
    lost = lost_fills(ledger, chain)
    dups = duplicate_buys(ledger.fills)
    stuck = stuck_positions(ledger.positions, rules, now)
    unresolved = [o for o in ledger.orders if o.state in NON_TERMINAL]
    sol_diff, token_diff = balance_diff(ledger, chain)
    first = phases[0].start_slot if phases else 0
    last = phases[-1].end_slot if phases else -1
    during = [(m, s) for m, s in chain.launches if first <= s <= last]
    missed = [(m, s) for m, s in during if m not in ledger.launch_mints]
    unexpected = [f"{p.name}: {e}" for p in phases if not p.critical for e in p.run_exits]
    failed = [t for t in chain.transactions if t.signer and not t.ok]
    booked = ledger.tx_cost_signatures | {f.signature for f in ledger.fills}

    per: dict[str, Counter] = defaultdict(Counter)

    def count(kind: str, i: int | None) -> None:
        if i is not None:
            per[kind][i] += 1
    for o in ledger.orders:
        count("orders", _phase_of_time(phases, o.created_at))
    for f in ledger.fills:
        count("fills", _phase_of_slot(phases, f.slot))
    for t in lost:
        count("lost", _phase_of_slot(phases, t.slot))
    for f in dups:
        count("dups", _phase_of_slot(phases, f.slot))
    for p in stuck:
        count("stuck", _phase_of_time(phases, p.opened_at))
    for o in unresolved:
        count("stuck", _phase_of_time(phases, o.created_at))
    for _, s in during:
        count("launches", _phase_of_slot(phases, s))
    for _, s in missed:
        count("missed", _phase_of_slot(phases, s))
    untested, outcomes = [], []
    for p in phases:
        problems, fates = exercised(p, ledger, stuck)
        untested += [f"{p.name}: {x}" for x in problems]
        outcomes += [f"{p.name}: {x}" for x in fates]
    rows = tuple(PhaseRow(p.name, round(p.ended_at - p.started_at, 1), (p.start_slot, p.end_slot),
                          per["orders"][i], per["fills"][i], per["lost"][i], per["dups"][i], per["stuck"][i], per["launches"][i],
                          per["missed"][i], tuple(p.run_exits), dict(p.fired), tuple(p.notes),
                          faulted=any(k != "seed" for k in p.faults), targets=tuple(p.targets))
                 for i, p in enumerate(phases))
    return Verdict(rows=rows, lost_fills=tuple(t.signature for t in lost),
                   duplicate_buys=tuple(f"{f.strategy} {f.mint}" for f in dups),
                   stuck_positions=tuple(p.mint for p in stuck), unresolved_orders=tuple(o.id for o in unresolved),
                   sol_diff_lamports=sol_diff, token_diff=token_diff,
                   launches_missed=tuple(m for m, _ in missed), stolen_lamports=chain.stolen_lamports,
                   unexpected_exits=tuple(unexpected), launches_total=len(during),
                   unbooked_failed_txs=tuple(t.signature for t in failed if t.signature not in booked),
                   failed_fees_chain=-sum(t.lamports_delta for t in failed),
                   untested_phases=tuple(untested), target_outcomes=tuple(outcomes))


def format_table(v: Verdict) -> str:
    """The drill's report: one row per phase, then the totals and the verdict line."""
    head = ("phase", "secs", "orders", "fills", "lost", "dup buys", "stuck", "launches missed", "run exits", "faults fired")
    lines = [head]
    for r in v.rows:
        fired = ", ".join(f"{k}={n}" for k, n in sorted(r.fired.items()) if n) or "-"
        lines.append((r.name, f"{r.seconds:.0f}", str(r.orders), str(r.fills), str(r.lost_fills), str(r.duplicate_buys),
                      str(r.stuck_exits), f"{r.launches_missed}/{r.launches}", str(len(r.run_exits)), fired))
    widths = [max(len(row[i]) for row in lines) for i in range(len(head) - 1)]
    out = ["  ".join(c.ljust(w) for c, w in zip(row[:-1], widths)) + "  " + row[-1] for row in lines]
    t = v.totals
    out.append("")
    out.append(f"lost fills {t['lost_fills']}, duplicate buys {t['duplicate_buys']}, stuck exits {t['stuck_exits']}"
               f" ({len(v.stuck_positions)} positions past max hold, {len(v.unresolved_orders)} orders unresolved),"
               f" balance diff {v.sol_diff_lamports} lamports SOL + {sum(abs(x) for x in v.token_diff.values())}"
               f" token units over {len(v.token_diff)} mints, launches missed {t['launches_missed']}/"
               f"{v.launches_total}, stolen {t['stolen_lamports']} lamports, unexpected run exits "
               f"{t['unexpected_exits']}, untested phases {t['untested_phases']}")
    for r in v.rows:
        for note in (*r.run_exits, *r.notes):
            out.append(f"  {r.name}: {note}")
    for line in v.target_outcomes:
        out.append(f"  {line}")
    for line in v.untested_phases:
        out.append(f"  UNTESTED {line}")
    unfired = [r.name for r in v.rows if r.faulted and not any(r.fired.values())]
    if unfired:
        out.append(f"  faults never fired in: {', '.join(unfired)} (the run never made the calls they act on: "
                   "those phases tested nothing)")
    idle = [r.name for r in v.rows if not r.orders and r.name != "recovery"]
    if idle:
        out.append(f"  no order in: {', '.join(idle)} (those faults met no trade: a risk pause, no signal? see the "
                   "run logs)")
    if v.unbooked_failed_txs:
        out.append(f"  {len(v.unbooked_failed_txs)} wallet transaction(s) landed and failed with no fee booked: "
                   + ", ".join(s[:12] for s in v.unbooked_failed_txs[:5]))
    out.append("VERDICT: " + ("PASS" if v.passed else "FAIL"))
    return "\n".join(out)


def exit_grace_s(confirm_timeout_s: float) -> float:
    """How long past max hold an exit may take before it counts as stuck: a confirm timeout, retries and a
    restart's downtime (a minute on a loaded machine)."""
    return confirm_timeout_s + 60.0


# --- the phases ------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PhaseSpec:
    name: str
    seconds: float
    faults: Mapping[str, object] = field(default_factory=dict)   # POST /admin/faults body for the phase
    action: str = ""            # "" | "fill_disk" | "kill_actors" | "sigkill_restart" | "migrate_held"
    critical: bool = False      # the run may rightly stop itself (a critical error) during this phase
    must_fire: str = ""         # simnet's counter that must move in the phase (else the verdict fails)


def plan(minutes: float, *, slot_ms: float, confirm_timeout_s: float, rpc_timeout_s: float,
         max_hold_s: float, seed: int = 7) -> tuple[PhaseSpec, ...]:
    """The drill's phases, each fault on its own and then all together, scaled to take about `minutes`.

    The late-landing delay is past the client's confirm timeout but inside the blockhash's 150 blocks, so the
    transactions do land (late); timeouts hang longer than the RPC client waits. The last phase has no fault:
    time for the exits the faults delayed: a position opened when the last fault phase began is past its max
    hold + grace (when it is judged stuck) by the end."""
    late_slots = min(140, int(confirm_timeout_s * 1000 / slot_ms) + 10)
    hang_s = max(2.0, rpc_timeout_s * 2)
    faulted = [
        ("baseline", {}, ""),
        ("429 storm", {"http_429_rate": 0.5}, ""),
        ("timeouts", {"timeout_rate": 0.3, "timeout_s": hang_s}, ""),
        ("null getTransaction after confirm", {"null_transaction_after_confirm_s": 20.0}, ""),
        ("late landing", {"land_delay_slots": late_slots}, ""),
        ("dropped transactions", {"drop_transactions": 0.5}, ""),
        ("ws drops + malformed notifications", {"ws_disconnect_now": True, "ws_disconnect_rate": 0.02,
                                                "malformed_notifications": 0.2}, ""),
        # the run sells through Jupiter only a coin whose curve is complete: the drill completes a held coin's
        # curve (the market migrates it) so the exit meets the tampered swap
        ("tampered jupiter tx", {"jupiter_tamper": 1.0}, "migrate_held"),
        ("ledger disk full", {}, "fill_disk"),
        ("actors killed mid-trade", {}, "kill_actors"),
        ("sigkill + restart", {}, "sigkill_restart"),
        ("all together", {"http_429_rate": 0.2, "timeout_rate": 0.1, "timeout_s": hang_s,
                          "null_transaction_after_confirm_s": 10.0, "land_delay_slots": 20,
                          "drop_transactions": 0.2, "ws_disconnect_rate": 0.01, "malformed_notifications": 0.1,
                          "jupiter_tamper": 0.3}, ""),
    ]
    base = max(8.0, minutes * 60.0 / (len(faulted) + 1))
    # long enough that a position opened in the last fault phase is past max hold + grace when it is judged
    recovery = max(base, min(max_hold_s, 60.0) + exit_grace_s(confirm_timeout_s) - base)
    specs = [PhaseSpec(name, base, {**faults, "seed": seed} if faults else {}, action,
                       critical=action == "fill_disk",
                       must_fire="tampered_swaps" if action == "migrate_held" else "")
             for name, faults, action in faulted]
    specs.append(PhaseSpec("recovery", recovery))
    return tuple(specs)
