"""pump.fun builders: byte-exact rebuilds of the real 2025 instructions, agreement with the IDL's account
flags, intent round trips, and signed transactions that verify and decode back to the same intents."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import Transaction, VersionedTransaction

from pipelines.chain import builders as B
from pipelines.chain import pda
from pipelines.chain import programs as P
from pipelines.chain.instructions import (
    BUY_ACCOUNTS, CREATE_ACCOUNTS, CREATE_V2_ACCOUNTS, SELL_ACCOUNTS, instruction_for, parse_pump_instruction,
    pump_intents_of,
)
from pipelines.chain.intents import PumpBuy, PumpBuyExactSol, PumpCreate, PumpCreateV2, PumpSell
from tests.conftest import load_fixture
from tests.unit.chain.idl_eval import PUMP_IDL, idl, ix as idl_ix

BLOCKHASH = Hash.new_unique()


def _metas(ix) -> list[tuple[str, bool, bool]]:
    return [(str(m.pubkey), m.is_signer, m.is_writable) for m in ix.accounts]


def _fixture_metas(fx: dict) -> list[tuple[str, bool, bool]]:
    return [(a["pubkey"], a["is_signer"], a["is_writable"]) for a in fx["accounts"]]


# --- the real 2025 instructions, rebuilt ---

def test_rebuild_real_2025_buy():
    fx = load_fixture("pumpfun/buy_2025_ix.json")
    acc = [a["pubkey"] for a in fx["accounts"]]
    data = bytes.fromhex(fx["data"])
    # args from the data by the IDL layout: disc | amount u64 | max_sol_cost u64 (no track_volume byte)
    amount, max_cost = int.from_bytes(data[8:16], "little"), int.from_bytes(data[16:24], "little")
    assert len(data) == 24
    # the fixture does not name the coin's creator; the creator_vault PDA (index 9) stands in for it
    ix = B.buy(mint=acc[2], user=acc[6], fee_recipient=acc[1], creator_vault=acc[9], amount=amount,
               max_sol_cost=max_cost)
    assert str(ix.program_id) == fx["program_id"] == P.PUMP
    assert _metas(ix) == _fixture_metas(fx)
    assert bytes(ix.data) == data


def test_rebuild_real_2025_sell():
    fx = load_fixture("pumpfun/sell_2025_ix.json")
    acc = [a["pubkey"] for a in fx["accounts"]]
    data = bytes.fromhex(fx["data"])
    ix = B.sell(mint=acc[2], user=acc[6], fee_recipient=acc[1], creator_vault=acc[8],
                amount=int.from_bytes(data[8:16], "little"), min_sol_output=int.from_bytes(data[16:24], "little"))
    assert _metas(ix) == _fixture_metas(fx)
    assert bytes(ix.data) == data


def test_rebuild_real_2025_create():
    fx = load_fixture("pumpfun/create_2025_ix.json")
    acc = [a["pubkey"] for a in fx["accounts"]]
    data = bytes.fromhex(fx["data"])
    # data: disc | name | symbol | uri (borsh strings) | creator pubkey (last 32 bytes)
    creator = str(Pubkey.from_bytes(data[-32:]))
    ix = B.create(mint=acc[0], user=acc[7], name="Mystical Cat", symbol="MC",
                  uri="https://ipfs.io/ipfs/QmeXR4TB9NZVK279DAVDKevSLzrWSi9papnaknVPJ8AvHe", creator=creator)
    assert _metas(ix) == _fixture_metas(fx)
    assert bytes(ix.data) == data


def test_real_fixtures_parse_to_their_intents():
    buy = load_fixture("pumpfun/buy_2025_ix.json")
    intent = parse_pump_instruction((buy["program_id"], buy["accounts"], bytes.fromhex(buy["data"])))
    assert isinstance(intent, PumpBuy) and intent.amount == 0x19caf6 and intent.max_sol_cost == 0xc3
    assert intent.track_volume is None and intent.creator is None
    sell = load_fixture("pumpfun/sell_2025_ix.json")
    intent = parse_pump_instruction((sell["program_id"], sell["accounts"], bytes.fromhex(sell["data"])))
    assert isinstance(intent, PumpSell) and intent.min_sol_output == 0xd69d8e
    create = load_fixture("pumpfun/create_2025_ix.json")
    intent = parse_pump_instruction((create["program_id"], create["accounts"], bytes.fromhex(create["data"])))
    assert isinstance(intent, PumpCreate) and intent.symbol == "MC" and intent.creator == intent.user


# --- account tables against the IDL ---

def _idl_flags(name: str) -> list[tuple[str, bool, bool]]:
    accounts = idl_ix(idl(PUMP_IDL), name)["accounts"]
    return [(a["name"], bool(a.get("signer")), bool(a.get("writable"))) for a in accounts]


def test_account_tables_follow_the_idl():
    ours = lambda table: [(n, s, w) for n, s, w, _ in table]      # noqa: E731
    expected_buy = _idl_flags("buy")
    # the one deliberate difference: the real 2025 buy write-locks global_volume_accumulator
    expected_buy = [(n, s, True if n == "global_volume_accumulator" else w) for n, s, w in expected_buy]
    assert ours(BUY_ACCOUNTS) == expected_buy
    assert ours(BUY_ACCOUNTS) == [(n, s, True if n == "global_volume_accumulator" else w)
                                  for n, s, w in _idl_flags("buy_exact_sol_in")]
    assert ours(SELL_ACCOUNTS) == _idl_flags("sell")
    assert ours(CREATE_ACCOUNTS) == _idl_flags("create")
    assert ours(CREATE_V2_ACCOUNTS) == _idl_flags("create_v2")
    assert (len(BUY_ACCOUNTS), len(SELL_ACCOUNTS), len(CREATE_ACCOUNTS), len(CREATE_V2_ACCOUNTS)) == (16, 14, 14, 16)


def test_discriminators_follow_the_idl():
    doc = idl(PUMP_IDL)
    for name, intent in [("buy", _buy()), ("buy_exact_sol_in", _buy_exact()), ("sell", _sell()),
                         ("create", _create()), ("create_v2", _create_v2())]:
        assert bytes(instruction_for(intent).data[:8]) == bytes(idl_ix(doc, name)["discriminator"])


# --- intents ---

def _k() -> str:
    return str(Keypair().pubkey())


def _buy(**kw) -> PumpBuy:
    return PumpBuy(**{"mint": _k(), "user": _k(), "fee_recipient": _k(), "amount": 10**9, "max_sol_cost": 10**8,
                      "creator": _k(), **kw})


def _buy_exact(**kw) -> PumpBuyExactSol:
    return PumpBuyExactSol(**{"mint": _k(), "user": _k(), "fee_recipient": _k(), "spendable_sol_in": 10**8,
                              "min_tokens_out": 1, "creator": _k(), "track_volume": True, **kw})


def _sell(**kw) -> PumpSell:
    return PumpSell(**{"mint": _k(), "user": _k(), "fee_recipient": _k(), "amount": 10**9, "min_sol_output": 0,
                       "creator": _k(), **kw})


def _create(**kw) -> PumpCreate:
    return PumpCreate(**{"mint": _k(), "user": _k(), "name": "Coin", "symbol": "C", "uri": "https://x/y",
                         "creator": _k(), **kw})


def _create_v2(**kw) -> PumpCreateV2:
    return PumpCreateV2(**{"mint": _k(), "user": _k(), "name": "Coin", "symbol": "C", "uri": "https://x/y",
                           "creator": _k(), **kw})


u64s = st.integers(0, 2**64 - 1)
opt_bool = st.none() | st.booleans()
token_programs = st.sampled_from([P.TOKEN, P.TOKEN_2022])
text = st.text(max_size=40)
extra = st.lists(st.tuples(st.builds(_k), st.booleans(), st.booleans()), max_size=3)

intents = st.one_of(
    st.builds(lambda a, b, t, tp, r: _buy(amount=a, max_sol_cost=b, track_volume=t, token_program=tp,
                                          remaining=tuple(r)), u64s, u64s, opt_bool, token_programs, extra),
    st.builds(lambda a, b, t, tp: _buy_exact(spendable_sol_in=a, min_tokens_out=b, track_volume=t,
                                             token_program=tp), u64s, u64s, opt_bool, token_programs),
    st.builds(lambda a, b, tp, r: _sell(amount=a, min_sol_output=b, token_program=tp, remaining=tuple(r)),
              u64s, u64s, token_programs, extra),
    st.builds(lambda n, s, u: _create(name=n, symbol=s, uri=u), text, text, text),
    st.builds(lambda n, m, opts: _create_v2(name=n, is_mayhem_mode=m, is_cashback_enabled=opts[0],
                                            creator_fee_bps=opts[1], is_holder_reward=opts[2]),
              text, st.booleans(),
              st.sampled_from([(None, None, None), (False, None, None), (True, 0, None), (False, 250, True)])),
)


@settings(max_examples=150, deadline=None)
@given(intents)
def test_every_intent_round_trips_through_its_instruction(intent):
    ix = instruction_for(intent)
    assert parse_pump_instruction(ix) == intent
    # also from a plain (program_id, metas, data) tuple, as simnet receives compiled instructions
    assert parse_pump_instruction((str(ix.program_id), _metas(ix), bytes(ix.data))) == intent


def test_creator_and_creator_vault_name_the_same_vault():
    creator = _k()
    a = _buy(creator=creator)
    b = PumpBuy(a.mint, a.user, a.fee_recipient, a.amount, a.max_sol_cost,
                creator_vault=str(pda.creator_vault(creator)))
    assert a == b and a.creator_vault == str(pda.creator_vault(creator))


# --- transactions ---

def _verify(tx) -> None:
    if isinstance(tx, Transaction):
        tx.verify()
    else:
        assert all(tx.verify_with_results())


def test_buy_tx_is_signed_and_decodes_back():
    payer = Keypair()
    intent = _buy(user=str(payer.pubkey()))
    for v0 in (False, True):
        tx = B.build_buy_tx(intent, payer, BLOCKHASH, compute_unit_limit=120_000, compute_unit_price=50_000,
                            tip=(_k(), 10_000), v0=v0)
        assert isinstance(tx, VersionedTransaction if v0 else Transaction)
        _verify(tx)
        assert pump_intents_of(tx) == [intent]
        progs = [str(tx.message.account_keys[ci.program_id_index]) for ci in tx.message.instructions]
        # compute limit, compute price, create ATA (idempotent), pump buy, tip transfer
        assert progs == [P.COMPUTE_BUDGET, P.COMPUTE_BUDGET, P.ASSOCIATED_TOKEN, P.PUMP, P.SYSTEM]


def test_every_pump_tx_round_trips():
    payer, mint = Keypair(), Keypair()
    user = str(payer.pubkey())
    for intent in (_buy_exact(user=user), _sell(user=user)):
        tx = B.build_pump_tx(intent, payer, BLOCKHASH)
        _verify(tx)
        assert pump_intents_of(tx) == [intent]
    for intent in (_create(mint=str(mint.pubkey()), user=user), _create_v2(mint=str(mint.pubkey()), user=user)):
        for v0 in (False, True):
            tx = B.build_create_tx(intent, payer, mint, BLOCKHASH, v0=v0)
            _verify(tx)
            assert pump_intents_of(tx) == [intent]
            assert len(tx.signatures) == 2


def test_missing_signers_are_refused():
    payer = Keypair()
    intent = _create(user=str(payer.pubkey()))                     # the mint keypair is not supplied
    for v0 in (False, True):
        try:
            B.build_pump_tx(intent, payer, BLOCKHASH, v0=v0)
        except ValueError as exc:
            assert intent.mint in str(exc)
        else:
            raise AssertionError("a create without the mint's signature must be refused")


def test_a_tampered_signature_fails_verification():
    payer = Keypair()
    tx = B.build_buy_tx(_buy(user=str(payer.pubkey())), payer, BLOCKHASH)
    raw = bytearray(bytes(tx))
    raw[5] ^= 0xFF                                        # inside the first signature
    bad = Transaction.from_bytes(bytes(raw))
    try:
        bad.verify()
    except Exception:                                     # solders raises its own SignerError/TransactionError
        pass
    else:
        raise AssertionError("verify() accepted a tampered signature")


def test_intents_refuse_bad_values():
    import pytest
    with pytest.raises(ValueError, match="u64"):
        _buy(amount=2**64)
    with pytest.raises(ValueError, match="u64"):
        _sell(min_sol_output=-1)
    with pytest.raises(ValueError, match="creator"):
        PumpBuy(_k(), _k(), _k(), 1, 1)                              # neither creator nor creator_vault
    with pytest.raises(ValueError, match="creator_vault"):
        _buy(creator_vault=_k())                                     # a vault that is not the creator's PDA
    with pytest.raises(ValueError, match="token_program"):
        _buy(token_program=P.SYSTEM)
    with pytest.raises(ValueError, match="pubkey"):
        _buy(mint="not base58!")
    with pytest.raises(ValueError, match="end"):
        _create_v2(is_cashback_enabled=None, creator_fee_bps=100)    # optional args only drop off the end
    with pytest.raises(TypeError):
        B.build_sell_tx(_buy(), Keypair(), BLOCKHASH)


def test_token_2022_buy_uses_token_2022_atas():
    intent = _buy(token_program=P.TOKEN_2022)
    ix = instruction_for(intent)
    assert str(ix.accounts[8].pubkey) == P.TOKEN_2022
    assert str(ix.accounts[4].pubkey) == str(pda.associated_token(pda.bonding_curve(intent.mint), intent.mint,
                                                                  P.TOKEN_2022))
    assert str(ix.accounts[5].pubkey) == str(pda.associated_token(intent.user, intent.mint, P.TOKEN_2022))
