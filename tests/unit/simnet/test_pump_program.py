"""pump.fun on simnet: create, buy, sell with the program's integer math, fees, errors and events.

Expected values are computed here from the curve formula (PROTOCOL.md) and the genesis state, never read
back from the bank's own arithmetic.
"""
from __future__ import annotations

import base64

from solders.pubkey import Pubkey

from pipelines.chain import builders as B
from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.amm_state import decode_fee_config
from pipelines.chain.intents import PumpBuy, PumpBuyExactSol, PumpSell
from pipelines.chain.mint import decode_mint, decode_token_account
from pipelines.chain.pump_state import decode_bonding_curve
from simnet import genesis as G
from simnet.accounts import rent_exempt_minimum

from .conftest import NOW, SOL, decode_idl_event, load_idl

VTOK0, VSOL0, RTOK0, SUPPLY = 1_073_000_000_000_000, 30_000_000_000, 793_100_000_000_000, 10**15
FEE = 5000
ATA_RENT = 2_039_280


def ceil_bps(amount: int, bps: int) -> int:
    return -(-amount * bps // 10_000)


def curve_fee_bps(bank) -> tuple[int, int]:
    """(protocol, creator) bps of the curve, from the fee program's FeeConfig account as the program reads it."""
    cfg = decode_fee_config(bytes(bank.get_account(pda.fee_config(P.PUMP)).data))
    assert len(cfg.fee_tiers) == 1 and cfg.fee_tiers[0].market_cap_lamports_threshold == 0
    f = cfg.fee_tiers[0].fees
    return f.protocol_fee_bps, f.creator_fee_bps


def curve(bank, mint):
    return decode_bonding_curve(bytes(bank.get_account(pda.bonding_curve(mint.pubkey())).data))


def token_amount(bank, owner, mint, program=P.TOKEN) -> int:
    acc = bank.get_account(pda.associated_token(owner, mint, program))
    return 0 if acc is None else decode_token_account(bytes(acc.data), program).amount


def buy_tx(bank, buyer, mint, creator, amount, max_cost, fee_recipient=G.PUMP_FEE_RECIPIENT, program=P.TOKEN):
    intent = PumpBuy(str(mint.pubkey()), str(buyer.pubkey()), fee_recipient, amount, max_cost, None,
                     str(creator.pubkey()), token_program=program)
    return B.build_buy_tx(intent, buyer, bank.latest_blockhash()[0])


def sell_tx(bank, seller, mint, creator, amount, min_out):
    intent = PumpSell(str(mint.pubkey()), str(seller.pubkey()), G.PUMP_FEE_RECIPIENT, amount, min_out,
                      str(creator.pubkey()))
    return B.build_sell_tx(intent, seller, bank.latest_blockhash()[0])


def data_lines(logs) -> list[bytes]:
    return [base64.b64decode(line.split(": ", 1)[1]) for line in logs if line.startswith("Program data: ")]


def test_create_buy_sell_balances_match_the_curve_to_the_lamport(bank, wallet, launch):
    protocol_bps, creator_bps = curve_fee_bps(bank)
    assert (protocol_bps, creator_bps) == (95, 30)      # mainnet's fee-program tier for curves (PROTOCOL.md)
    mint, creator, created = launch()
    bc0 = curve(bank, mint)
    assert (bc0.virtual_token_reserves, bc0.virtual_sol_reserves, bc0.real_token_reserves, bc0.real_sol_reserves,
            bc0.token_total_supply, bc0.complete, bc0.creator) == (VTOK0, VSOL0, RTOK0, 0, SUPPLY, False,
                                                                   str(creator.pubkey()))
    m = decode_mint(bytes(bank.get_account(mint.pubkey()).data), P.TOKEN)
    assert (m.supply, m.decimals, m.mint_authority, m.freeze_authority) == (SUPPLY, 6, None, None)
    assert bank.get_account(pda.metadata(mint.pubkey())).owner == Pubkey.from_string(P.METAPLEX_METADATA)

    buyer = wallet(10)
    curve_key, vault = pda.bonding_curve(mint.pubkey()), pda.creator_vault(creator.pubkey())
    fee_recipient = Pubkey.from_string(G.PUMP_FEE_RECIPIENT)
    curve_lamports0 = bank.get_balance(curve_key)
    assert curve_lamports0 == rent_exempt_minimum(150)

    n = 50_000_000_000_000                                      # 50M tokens
    cost = n * VSOL0 // (VTOK0 - n) + 1
    protocol, creator_fee = ceil_bps(cost, protocol_bps), ceil_bps(cost, creator_bps)
    res = bank.process_transaction(buy_tx(bank, buyer, mint, creator, n, cost + protocol + creator_fee))
    assert res.err is None, res.logs
    assert res.fee == FEE
    assert bank.get_balance(buyer.pubkey()) == 10 * SOL - FEE - ATA_RENT - cost - protocol - creator_fee
    assert bank.get_balance(fee_recipient) == protocol
    assert bank.get_balance(vault) == creator_fee
    assert bank.get_balance(curve_key) == curve_lamports0 + cost
    assert token_amount(bank, buyer.pubkey(), mint.pubkey()) == n
    assert token_amount(bank, curve_key, mint.pubkey()) == SUPPLY - n
    bc1 = curve(bank, mint)
    vtok1, vsol1 = VTOK0 - n, VSOL0 + cost
    assert (bc1.virtual_token_reserves, bc1.virtual_sol_reserves, bc1.real_token_reserves,
            bc1.real_sol_reserves) == (vtok1, vsol1, RTOK0 - n, cost)

    m_sell = n // 2
    gross = m_sell * vsol1 // (vtok1 + m_sell)
    p_fee, c_fee = ceil_bps(gross, protocol_bps), ceil_bps(gross, creator_bps)
    net = gross - p_fee - c_fee
    buyer_before = bank.get_balance(buyer.pubkey())
    res = bank.process_transaction(sell_tx(bank, buyer, mint, creator, m_sell, net))
    assert res.err is None, res.logs
    assert bank.get_balance(buyer.pubkey()) == buyer_before - FEE + net
    assert bank.get_balance(fee_recipient) == protocol + p_fee
    assert bank.get_balance(vault) == creator_fee + c_fee
    assert bank.get_balance(curve_key) == curve_lamports0 + cost - gross
    assert token_amount(bank, buyer.pubkey(), mint.pubkey()) == n - m_sell
    bc2 = curve(bank, mint)
    assert (bc2.virtual_token_reserves, bc2.virtual_sol_reserves, bc2.real_sol_reserves) == (
        vtok1 + m_sell, vsol1 - gross, cost - gross)


def test_buy_slippage_fails_with_the_idl_code_rolls_back_and_charges_the_fee(bank, wallet, launch):
    mint, creator, _ = launch()
    buyer = wallet(10)
    before_curve = bytes(bank.get_account(pda.bonding_curve(mint.pubkey())).data)
    n = 10**12
    cost = n * VSOL0 // (VTOK0 - n) + 1
    total = cost + ceil_bps(cost, 95) + ceil_bps(cost, 30)
    res = bank.process_transaction(buy_tx(bank, buyer, mint, creator, n, total - 1))
    # instruction 0 is the ATA CreateIdempotent, 1 the pump buy
    assert res.err == {"InstructionError": [1, {"Custom": 6002}]}
    assert res.landed and res.fee == FEE
    assert any("Error Code: TooMuchSolRequired. Error Number: 6002" in line for line in res.logs)
    assert res.logs[-1] == f"Program {P.PUMP} failed: custom program error: 0x1772"
    assert bank.get_balance(buyer.pubkey()) == 10 * SOL - FEE                 # ATA creation rolled back too
    assert bank.get_account(pda.associated_token(buyer.pubkey(), mint.pubkey())) is None
    assert bytes(bank.get_account(pda.bonding_curve(mint.pubkey())).data) == before_curve
    assert bank.get_transaction(res.signature).result.err == res.err
    # the exact total is accepted
    assert bank.process_transaction(buy_tx(bank, buyer, mint, creator, n, total)).err is None


def test_sell_slippage_and_zero_amounts(bank, wallet, launch):
    mint, creator, _ = launch()
    trader = wallet(10)
    assert bank.process_transaction(buy_tx(bank, trader, mint, creator, 10**12, SOL)).err is None
    bc = curve(bank, mint)
    gross = 10**12 * bc.virtual_sol_reserves // (bc.virtual_token_reserves + 10**12)
    net = gross - ceil_bps(gross, 95) - ceil_bps(gross, 30)
    res = bank.process_transaction(sell_tx(bank, trader, mint, creator, 10**12, net + 1))
    assert res.err == {"InstructionError": [0, {"Custom": 6003}]}               # TooLittleSolReceived
    assert bank.process_transaction(sell_tx(bank, trader, mint, creator, 0, 0)).err == {
        "InstructionError": [0, {"Custom": 6022}]}                              # SellZeroAmount
    assert bank.process_transaction(buy_tx(bank, trader, mint, creator, 0, SOL)).err == {
        "InstructionError": [1, {"Custom": 6020}]}                              # BuyZeroAmount
    # selling more than held: the token program refuses (InsufficientFunds) inside the CPI
    res = bank.process_transaction(sell_tx(bank, trader, mint, creator, 2 * 10**12, 0))
    assert res.err == {"InstructionError": [0, {"Custom": 1}]}
    assert bank.process_transaction(sell_tx(bank, trader, mint, creator, 10**12, net)).err is None


def test_fee_recipient_must_be_one_of_globals(bank, wallet, launch):
    mint, creator, _ = launch()
    buyer = wallet(10)
    res = bank.process_transaction(buy_tx(bank, buyer, mint, creator, 10**9, SOL,
                                          fee_recipient=str(buyer.pubkey())))
    assert res.err == {"InstructionError": [1, {"Custom": 6000}]}               # NotAuthorized
    ok = bank.process_transaction(buy_tx(bank, buyer, mint, creator, 10**9, SOL,
                                         fee_recipient=G.PUMP_FEE_RECIPIENTS[3]))
    assert ok.err is None


def test_buy_exact_sol_in_spends_at_most_the_budget(bank, wallet, launch):
    mint, creator, _ = launch()
    buyer = wallet(10)
    spend = SOL
    # in = (S - 1) * 10000 / (10000 + 125); tokens = in * vTok / (vSol + in); then the exact cost of those tokens
    sol_in = (spend - 1) * 10_000 // 10_125
    tokens = sol_in * VTOK0 // (VSOL0 + sol_in)
    cost = tokens * VSOL0 // (VTOK0 - tokens) + 1
    total = cost + ceil_bps(cost, 95) + ceil_bps(cost, 30)
    assert total <= spend
    intent = PumpBuyExactSol(str(mint.pubkey()), str(buyer.pubkey()), G.PUMP_FEE_RECIPIENT, spend, tokens, None,
                             str(creator.pubkey()))
    res = bank.process_transaction(B.build_buy_exact_sol_tx(intent, buyer, bank.latest_blockhash()[0]))
    assert res.err is None, res.logs
    assert token_amount(bank, buyer.pubkey(), mint.pubkey()) == tokens
    assert bank.get_balance(buyer.pubkey()) == 10 * SOL - FEE - ATA_RENT - total
    too_greedy = PumpBuyExactSol(str(mint.pubkey()), str(buyer.pubkey()), G.PUMP_FEE_RECIPIENT, spend, 10**15,
                                 None, str(creator.pubkey()))
    res = bank.process_transaction(B.build_buy_exact_sol_tx(too_greedy, buyer, bank.latest_blockhash()[0]))
    assert res.err == {"InstructionError": [1, {"Custom": 6042}]}              # BuySlippageBelowMinTokensOut


def test_events_in_logs_and_event_cpi_follow_the_idl(bank, wallet, launch):
    idl = load_idl("pump_sdk-2.0.0_pump.json")
    mint, creator, created = launch(name="Event Coin", symbol="EVT", uri="https://e.vt/1")
    [payload] = data_lines(created.logs)
    name, ev = decode_idl_event(idl, payload)
    assert name == "CreateEvent"
    assert (ev["name"], ev["symbol"], ev["uri"], ev["mint"], ev["user"], ev["creator"]) == (
        "Event Coin", "EVT", "https://e.vt/1", str(mint.pubkey()), str(creator.pubkey()), str(creator.pubkey()))
    assert ev["bonding_curve"] == str(pda.bonding_curve(mint.pubkey()))
    assert (ev["timestamp"], ev["virtual_token_reserves"], ev["virtual_sol_reserves"], ev["real_token_reserves"],
            ev["token_total_supply"], ev["token_program"]) == (NOW, VTOK0, VSOL0, RTOK0, SUPPLY, P.TOKEN)

    buyer = wallet(10)
    n = 123_456_789_000
    cost = n * VSOL0 // (VTOK0 - n) + 1
    res = bank.process_transaction(buy_tx(bank, buyer, mint, creator, n, SOL))
    assert res.err is None
    [payload] = data_lines(res.logs)
    name, ev = decode_idl_event(idl, payload)
    assert name == "TradeEvent"
    assert (ev["mint"], ev["sol_amount"], ev["token_amount"], ev["is_buy"], ev["user"], ev["timestamp"]) == (
        str(mint.pubkey()), cost, n, True, str(buyer.pubkey()), NOW)
    assert (ev["virtual_sol_reserves"], ev["virtual_token_reserves"], ev["real_sol_reserves"],
            ev["real_token_reserves"]) == (VSOL0 + cost, VTOK0 - n, cost, RTOK0 - n)
    assert (ev["fee_recipient"], ev["fee_basis_points"], ev["fee"], ev["creator"], ev["creator_fee_basis_points"],
            ev["creator_fee"], ev["ix_name"]) == (G.PUMP_FEE_RECIPIENT, 95, ceil_bps(cost, 95), str(creator.pubkey()),
                                                  30, ceil_bps(cost, 30), "buy")
    # the same payload as an event-CPI inner instruction: pump invoking itself, signed by its event authority
    [(top, inner)] = [(i, ixs) for i, ixs in res.inner_instructions if i == 1]
    cpi = [ix for ix in inner if ix.program_id == P.PUMP]
    assert len(cpi) == 1
    assert cpi[0].accounts == (P.PUMP_EVENT_AUTHORITY,)
    assert cpi[0].data == P.EVENT_CPI_PREFIX + payload and cpi[0].stack_height == 2
    # the other CPIs of a buy, in the order the program makes them
    assert [ix.program_id for ix in inner] == [P.TOKEN, P.SYSTEM, P.SYSTEM, P.SYSTEM, P.PUMP]
    assert res.logs[res.logs.index(f"Program {P.PUMP} invoke [1]") + 1] == "Program log: Instruction: Buy"


def test_curve_completion_emits_complete_event_and_stops_trading(bank, wallet, launch):
    idl = load_idl("pump_sdk-2.0.0_pump.json")
    mint, creator, _ = launch()
    whale = wallet(100)
    cost = RTOK0 * VSOL0 // (VTOK0 - RTOK0) + 1            # the program caps the amount at the real reserves
    total = cost + ceil_bps(cost, 95) + ceil_bps(cost, 30)
    res = bank.process_transaction(buy_tx(bank, whale, mint, creator, SUPPLY, total))
    assert res.err is None, res.logs
    events = [decode_idl_event(idl, p) for p in data_lines(res.logs)]
    assert [name for name, _ in events] == ["TradeEvent", "CompleteEvent"]
    assert events[0][1]["token_amount"] == RTOK0 and events[0][1]["real_token_reserves"] == 0
    assert events[1][1] == {"user": str(whale.pubkey()), "mint": str(mint.pubkey()),
                            "bonding_curve": str(pda.bonding_curve(mint.pubkey())), "timestamp": NOW,
                            "quote_mint": P.WSOL_MINT}
    bc = curve(bank, mint)
    assert bc.complete and bc.real_token_reserves == 0 and bc.real_sol_reserves == cost
    assert bank.get_balance(whale.pubkey()) == 100 * SOL - FEE - ATA_RENT - total
    late = wallet(10)
    assert bank.process_transaction(buy_tx(bank, late, mint, creator, 10**9, SOL)).err == {
        "InstructionError": [1, {"Custom": 6005}]}                              # BondingCurveComplete
    assert bank.process_transaction(sell_tx(bank, whale, mint, creator, 10**9, 0)).err == {
        "InstructionError": [0, {"Custom": 6005}]}


def test_create_v2_makes_a_token_2022_coin_with_metadata(bank, wallet, launch):
    idl = load_idl("pump_sdk-2.0.0_pump.json")
    mint, creator, created = launch(v2=True, name="Twenty22", symbol="T22", uri="https://t/22")
    acc = bank.get_account(mint.pubkey())
    assert acc.owner == Pubkey.from_string(P.TOKEN_2022)
    info = decode_mint(bytes(acc.data), P.TOKEN_2022)
    assert (info.supply, info.decimals, info.mint_authority) == (SUPPLY, 6, None)
    meta = info.token_metadata
    assert (meta.name, meta.symbol, meta.uri, meta.mint) == ("Twenty22", "T22", "https://t/22", str(mint.pubkey()))
    assert info.metadata_pointer[1] == str(mint.pubkey())
    assert acc.lamports == rent_exempt_minimum(len(acc.data))
    name, ev = decode_idl_event(idl, data_lines(created.logs)[0])
    assert name == "CreateEvent" and ev["token_program"] == P.TOKEN_2022
    buyer = wallet(10)
    res = bank.process_transaction(buy_tx(bank, buyer, mint, creator, 10**12, SOL, program=P.TOKEN_2022))
    assert res.err is None, res.logs
    assert token_amount(bank, buyer.pubkey(), mint.pubkey(), P.TOKEN_2022) == 10**12
