"""The drill's verdict from ledger rows and chain facts: a clean run passes; each kind of failure is found,
counted in the phase it happened in, and fails the verdict."""
from __future__ import annotations

from dataclasses import replace

from pipelines.drill import (ChainFacts, LedgerFacts, LedgerFill, LedgerOrder, LedgerPosition, Phase, Rules,
                             WalletTx, format_table, verdict)

SOL = 1_000_000_000
FUNDED = 20 * SOL
PHASES = (Phase("baseline", 1000.0, 1030.0, 100, 174), Phase("429 storm", 1030.0, 1060.0, 175, 249),
          Phase("sigkill + restart", 1060.0, 1100.0, 250, 349, critical=False))
RULES = Rules(max_hold_s=20.0, grace_s=60.0)
NOW = 1100.0


def _clean():
    """Two buys and a sell: the sell closed MINT_A, MINT_B is still held (bought late, within its max hold)."""
    fills = (LedgerFill("sigA1", "oA1", "MintA", "buy", 100_000_000, 5_000_000, 120, "sniper"),
             LedgerFill("sigA2", "oA2", "MintA", "sell", 80_000_000, 5_000_000, 190, ""),
             LedgerFill("sigB1", "oB1", "MintB", "buy", 50_000_000, 2_000_000, 300, "momentum"))
    orders = tuple(LedgerOrder(f.order_id, f.mint, f.side, "confirmed", 1010.0) for f in fills)
    positions = (LedgerPosition("MintA", 1010.0, False, "sniper"), LedgerPosition("MintB", 1090.0, True, "momentum"))
    ledger = LedgerFacts(fills, orders, positions, frozenset({"MintA", "MintB", "MintC"}), tx_costs_lamports=5_000,
                         tx_cost_signatures=frozenset({"failed1"}))
    txs = (WalletTx("airdrop", 90, True, False, FUNDED),
           WalletTx("sigA1", 120, True, True, -100_000_000), WalletTx("sigA2", 190, True, True, 80_000_000),
           WalletTx("failed1", 200, False, True, -5_000), WalletTx("sigB1", 300, True, True, -50_000_000))
    lamports = FUNDED - 100_000_000 + 80_000_000 - 5_000 - 50_000_000
    chain = ChainFacts(FUNDED, lamports, {"MintB": 2_000_000}, txs,
                       launches=(("Early", 50), ("MintA", 110), ("MintB", 260), ("MintC", 330)))
    return ledger, chain


def test_a_clean_drill_passes_and_counts_launches_inside_the_phases_only():
    ledger, chain = _clean()
    v = verdict(PHASES, ledger, chain, RULES, NOW)
    assert v.passed and all(n == 0 for n in v.totals.values())
    assert v.launches_total == 3                 # "Early" (slot 50) came before the first phase
    assert [r.fills for r in v.rows] == [1, 1, 1] and [r.launches for r in v.rows] == [1, 0, 2]
    assert [r.orders for r in v.rows] == [3, 0, 0]                # all three created at ts 1010
    table = format_table(v)
    assert table.endswith("VERDICT: PASS") and "no order in: 429 storm, sigkill + restart" in table
    assert "never fired" not in table
    storm = replace(PHASES[1], faults={"http_429_rate": 0.5, "seed": 7})
    quiet = format_table(verdict((PHASES[0], storm, PHASES[2]), ledger, chain, RULES, NOW))
    assert "faults never fired in: 429 storm" in quiet
    loud = format_table(verdict((PHASES[0], replace(storm, fired={"http_429": 3}), PHASES[2]), ledger, chain,
                                RULES, NOW))
    assert "never fired" not in loud


def test_a_confirmed_wallet_transaction_without_a_fill_is_a_lost_fill():
    ledger, chain = _clean()
    ledger = replace(ledger, fills=ledger.fills[:2], positions=ledger.positions[:1])   # sigB1 never booked
    v = verdict(PHASES, ledger, chain, RULES, NOW)
    assert v.lost_fills == ("sigB1",) and [r.lost_fills for r in v.rows] == [0, 0, 1]
    # the unbooked buy also leaves the books 50_000_000 lamports and 2_000_000 tokens off the chain
    assert v.sol_diff_lamports == -50_000_000 and v.token_diff == {"MintB": 2_000_000}
    assert not v.passed and "VERDICT: FAIL" in format_table(v)


def test_a_failed_transaction_or_an_airdrop_is_not_a_lost_fill():
    ledger, chain = _clean()
    v = verdict(PHASES, ledger, chain, RULES, NOW)
    assert "failed1" not in v.lost_fills and "airdrop" not in v.lost_fills


def test_two_buys_of_one_mint_by_one_strategy_are_a_duplicate_but_by_two_strategies_are_not():
    ledger, chain = _clean()
    again = LedgerFill("sigB2", "oB2", "MintB", "buy", 50_000_000, 1_900_000, 200, "momentum")
    other = LedgerFill("sigB3", "oB3", "MintB", "buy", 50_000_000, 1_800_000, 210, "sniper")
    ledger = replace(ledger, fills=ledger.fills + (again, other))
    chain = replace(chain, wallet_lamports=chain.wallet_lamports - 100_000_000,
                    wallet_tokens={"MintB": 2_000_000 + 1_900_000 + 1_800_000},
                    transactions=chain.transactions + (WalletTx("sigB2", 200, True, True, -50_000_000),
                                                       WalletTx("sigB3", 210, True, True, -50_000_000)))
    v = verdict(PHASES, ledger, chain, RULES, NOW)
    # sigB2 (slot 200) came first, so sigB1 (slot 300) is the momentum strategy's second buy of MintB
    assert v.duplicate_buys == ("momentum MintB",) and [r.duplicate_buys for r in v.rows] == [0, 0, 1]
    assert v.balance_diff_lamports == 0 and not v.passed


def test_a_position_open_past_max_hold_and_grace_and_an_unresolved_order_are_stuck_exits():
    ledger, chain = _clean()
    old = LedgerPosition("MintB", 1015.0, True, "momentum")          # 85 s old at NOW > 20 + 60
    ledger = replace(ledger, positions=(ledger.positions[0], old),
                     orders=ledger.orders + (LedgerOrder("oB-exit", "MintB", "sell", "submitted", 1040.0),))
    v = verdict(PHASES, ledger, chain, RULES, NOW)
    assert v.stuck_positions == ("MintB",) and v.unresolved_orders == ("oB-exit",)
    assert v.totals["stuck_exits"] == 2 and [r.stuck_exits for r in v.rows] == [1, 1, 0]
    young = verdict(PHASES, replace(ledger, orders=ledger.orders[:-1]), chain, RULES, 1015.0 + 80.0)
    assert young.stuck_exits == 0                                    # exactly at the limit is not stuck yet


def test_balances_are_compared_to_the_lamport_and_per_token():
    ledger, chain = _clean()
    v = verdict(PHASES, ledger, replace(chain, wallet_lamports=chain.wallet_lamports - 7,
                                        wallet_tokens={"MintB": 1_999_999, "MintZ": 3}), RULES, NOW)
    assert v.sol_diff_lamports == -7 and v.token_diff == {"MintB": -1, "MintZ": 3}
    assert v.balance_diff_lamports == 11 and not v.passed
    # failed transactions' fees the ledger did not book are missing lamports too, and named
    v = verdict(PHASES, replace(ledger, tx_costs_lamports=0, tx_cost_signatures=frozenset()), chain, RULES, NOW)
    assert v.sol_diff_lamports == -5_000 and v.unbooked_failed_txs == ("failed1",) and v.failed_fees_chain == 5_000
    assert verdict(PHASES, ledger, chain, RULES, NOW).unbooked_failed_txs == ()


def test_launches_the_ledger_lacks_are_missed_in_their_phase():
    ledger, chain = _clean()
    v = verdict(PHASES, replace(ledger, launch_mints=frozenset({"MintA"})), chain, RULES, NOW)
    assert v.launches_missed == ("MintB", "MintC") and [r.launches_missed for r in v.rows] == [0, 0, 2]


def test_stolen_lamports_and_a_run_exit_in_a_harmless_phase_fail_but_an_exit_after_a_critical_one_does_not():
    ledger, chain = _clean()
    phases = (replace(PHASES[0], run_exits=("exit 1: boom",)), PHASES[1],
              replace(PHASES[2], critical=True, run_exits=("exit 3: ledger unwritable",)))
    v = verdict(phases, ledger, replace(chain, stolen_lamports=10_000_000), RULES, NOW)
    assert v.unexpected_exits == ("baseline: exit 1: boom",) and v.stolen_lamports == 10_000_000
    assert v.totals["unexpected_exits"] == 1 and not v.passed
    assert v.to_dict()["totals"]["stolen_lamports"] == 10_000_000


def test_the_plan_runs_every_fault_alone_then_together_and_scales_with_minutes():
    from pipelines.drill import plan
    specs = plan(5, slot_ms=400, confirm_timeout_s=30, rpc_timeout_s=5, max_hold_s=20, seed=3)
    names = [s.name for s in specs]
    assert names[0] == "baseline" and names[-2:] == ["all together", "recovery"] and len(names) == 13
    by = {s.name: s for s in specs}
    # late landing: past the 30 s confirm timeout (75 slots of 400 ms) but inside the blockhash's 150 blocks
    assert by["late landing"].faults["land_delay_slots"] == 85
    assert by["timeouts"].faults["timeout_s"] == 10.0 and by["timeouts"].faults["seed"] == 3
    assert [s.action for s in specs if s.action] == ["migrate_held", "fill_disk", "kill_actors", "sigkill_restart"]
    # the tamper phase makes a held coin migrate (so its exit goes to Jupiter) and must see the tamper fire
    assert [(s.name, s.must_fire) for s in specs if s.must_fire] == [("tampered jupiter tx", "tampered_swaps")]
    assert by["tampered jupiter tx"].action == "migrate_held"
    assert [s.name for s in specs if s.critical] == ["ledger disk full"]
    assert all(s.seconds == 300 / 13 for s in specs[:-1])
    # recovery: a position opened mid-way through "all together" is past max hold + grace (20 + 90 s) at the end
    assert specs[-1].seconds == 20 + 90 - 300 / 13
    short = plan(0.1, slot_ms=40, confirm_timeout_s=30, rpc_timeout_s=5, max_hold_s=20)
    assert short[0].seconds == 8.0                                          # never shorter than 8 s
    assert short[4].faults["land_delay_slots"] == 140                       # capped below the blockhash's life


# the tamper phase: slots 175..249 (PHASES[1]); MintB was bought in slot 300 in _clean, so here it is bought
# before the phase and is the coin the drill made migrate in it
TAMPER = Phase("tampered jupiter tx", 1030.0, 1060.0, 175, 249, faults={"jupiter_tamper": 1.0, "seed": 7},
               fired={"tampered_swaps": 2}, must_fire="tampered_swaps", targets=("MintT",))


def _tampered(sell_slot: int | None, *, is_open: bool, opened_at: float = 1020.0):
    """_clean plus MintT: bought in slot 150 (baseline), sold in `sell_slot` (None: never sold)."""
    ledger, chain = _clean()
    fills = ledger.fills + (LedgerFill("sigT1", "oT1", "MintT", "buy", 30_000_000, 1_000_000, 150, "sniper"),)
    txs = chain.transactions + (WalletTx("sigT1", 150, True, True, -30_000_000),)
    lamports, tokens = chain.wallet_lamports - 30_000_000, {**chain.wallet_tokens, "MintT": 1_000_000}
    if sell_slot is not None:
        fills += (LedgerFill("sigT2", "oT2", "MintT", "sell", 25_000_000, 1_000_000, sell_slot, ""),)
        txs += (WalletTx("sigT2", sell_slot, True, True, 25_000_000),)
        lamports += 25_000_000
        tokens.pop("MintT")
    ledger = replace(ledger, fills=fills, positions=ledger.positions + (LedgerPosition("MintT", opened_at, is_open,
                                                                                       "sniper"),))
    return ledger, replace(chain, wallet_lamports=lamports, wallet_tokens=tokens, transactions=txs)


def test_a_tamper_phase_that_fired_and_whose_coin_was_sold_after_the_fault_passes():
    ledger, chain = _tampered(sell_slot=260, is_open=False)       # sold in "sigkill + restart", after the fault
    v = verdict((PHASES[0], TAMPER, PHASES[2]), ledger, chain, RULES, NOW)
    assert v.passed and v.untested_phases == () and v.totals["untested_phases"] == 0
    assert v.target_outcomes == ("tampered jupiter tx: MintT sold (1 sell fill(s), last in slot 260, after the "
                                 "fault was cleared)",)
    assert "UNTESTED" not in format_table(v) and v.to_dict()["phases"][1]["targets"] == ["MintT"]


def test_a_tamper_phase_whose_coin_is_still_held_within_its_exit_rules_passes():
    ledger, chain = _tampered(sell_slot=None, is_open=True, opened_at=1090.0)     # 10 s old at NOW: not stuck
    v = verdict((PHASES[0], TAMPER, PHASES[2]), ledger, chain, RULES, NOW)
    assert v.passed and v.target_outcomes == ("tampered jupiter tx: MintT not sold yet, still held within its "
                                              "exit rules",)


def test_a_tamper_phase_that_never_fired_or_had_no_coin_to_migrate_fails():
    ledger, chain = _tampered(sell_slot=260, is_open=False)
    quiet = replace(TAMPER, fired={})
    v = verdict((PHASES[0], quiet, PHASES[2]), ledger, chain, RULES, NOW)
    assert v.untested_phases == ("tampered jupiter tx: tampered_swaps never fired",) and not v.passed
    assert v.totals["untested_phases"] == 1 and "UNTESTED tampered jupiter tx" in format_table(v)
    # the fault fired (some swap met it) but the drill made no held coin migrate: nothing says what became of it
    v = verdict((PHASES[0], replace(TAMPER, targets=()), PHASES[2]), ledger, chain, RULES, NOW)
    assert [u.split(": ", 1)[1][:30] for u in v.untested_phases] == ["no held coin was made to migra"]
    assert not v.passed


def test_a_tamper_phase_whose_coin_is_stuck_or_vanished_without_a_sale_fails():
    ledger, chain = _tampered(sell_slot=None, is_open=True, opened_at=1015.0)     # 85 s old at NOW > 20 + 60
    v = verdict((PHASES[0], TAMPER, PHASES[2]), ledger, chain, RULES, NOW)
    assert v.untested_phases == ("tampered jupiter tx: MintT is stuck: still held past max hold + grace",)
    assert v.stuck_positions == ("MintT",) and not v.passed
    # closed in the ledger with no sell fill: whatever closed it, the coin did not leave through an exit
    ledger, chain = _tampered(sell_slot=None, is_open=False)
    v = verdict((PHASES[0], TAMPER, PHASES[2]), ledger, chain, RULES, NOW)
    assert v.untested_phases == ("tampered jupiter tx: MintT's position closed without a sell fill",)
    assert v.token_diff == {} and not v.passed
    # a sell of the coin before the phase (slot 160) does not count as its exit through the phase's Jupiter
    ledger, chain = _tampered(sell_slot=160, is_open=False)
    v = verdict((PHASES[0], TAMPER, PHASES[2]), ledger, chain, RULES, NOW)
    assert v.untested_phases == ("tampered jupiter tx: MintT's position closed without a sell fill",)
