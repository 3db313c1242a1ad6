"""pipelines/wire.py: messages pickled by field values come back equal; the fast constructor builds the same
object as the dataclass constructor, with its defaults."""
import copy
import dataclasses
import pickle

import cloudpickle
import pytest

from pipelines.chain.events import EVENT_TYPES, Complete, Launch, Migration, PoolCreated, Trade
from pipelines.messages import SafetyVerdict, TokenFeatures
from pipelines.stages import Mark
from pipelines.wire import constructor, pickle_by_fields

EVENTS = [
    Launch(venue="pumpfun", signature="s1", slot=1, mint="M", bonding_curve="B", creator="C", name="N", symbol="S",
           uri="u", token_program="T", quote_mint="Q", virtual_sol_reserves=30_000_000_000, is_mayhem_mode=True),
    Trade(venue="pumpfun", signature="s2", slot=2, mint="M", side="buy", sol_amount=2**63 + 5, token_amount=-1,
          user="U", quote_mint="Q", quote_amount=0, creator="C", pool="P", seq=3),
    Complete(venue="pumpfun", signature="s3", slot=3, mint="M", bonding_curve="B", user="U"),
    Migration(venue="pumpfun", signature="s4", slot=4, mint="M", bonding_curve="B", pool="P", user="U",
              mint_amount=7, sol_amount=8),
    PoolCreated(venue="raydium_amm_v4", signature="s5", slot=5, pool="P", mint_a="A", mint_b="B",
                params=(("tick_spacing", 64), ("x", "y")), migration=True),
]


def features(**over) -> TokenFeatures:
    kw = dict(mint="M", ts=1.5, slot=9, venue="pumpfun", age_s=2.0, price=2.5e-05, market_cap_lamports=10**10,
              curve_progress=0.25, liquidity_lamports=10**9, volume_lamports={10: 1, 60: 2}, buys={10: 1, 60: 1},
              sells={10: 0, 60: 1}, unique_buyers=3, net_flow_lamports=-4, price_velocity=float("inf"),
              trade_size_entropy=1.0, top5_share=0.5, dev_share=0.0, dev_sold_lamports=0, rug_probability=0.2,
              complete=False, migrated=False, safety=SafetyVerdict(False, ("dev_dump", "rugged")), creator="C")
    kw.update(over)
    return TokenFeatures(**kw)


@pytest.mark.parametrize("obj", EVENTS + [features(), features(new_buyers={10: 1}, rugged=True), SafetyVerdict(True),
                                 Mark("M", 2.5e-05, True, False, ("dev_dump", "rugged"))])
def test_messages_pickle_back_equal_and_of_their_class(obj):
    assert set(EVENT_TYPES.values()) == {type(e) for e in EVENTS}         # every event type is covered
    for back in [pickle.loads(pickle.dumps(obj, protocol=p)) for p in range(2, 6)] + [
            cloudpickle.loads(cloudpickle.dumps(obj)), copy.deepcopy(obj), copy.copy(obj)]:
        assert back == obj and type(back) is type(obj)
        assert [getattr(back, f.name) for f in dataclasses.fields(obj)] == \
               [getattr(obj, f.name) for f in dataclasses.fields(obj)]
    with pytest.raises(dataclasses.FrozenInstanceError):      # still frozen after a round trip
        pickle.loads(pickle.dumps(obj)).__setattr__(dataclasses.fields(obj)[0].name, None)


def test_an_event_pickles_as_its_class_and_field_values():
    trade = EVENTS[1]
    assert trade.__reduce__()[1] == (Trade, tuple(getattr(trade, f.name) for f in dataclasses.fields(Trade)))
    mark = Mark("M", 1.0, False, True, ("rugged",))            # a mark per touched token crosses Ray too
    assert mark.__reduce__()[1] == (Mark, ("M", 1.0, False, True, ("rugged",)))


def test_constructor_builds_what_the_dataclass_builds_defaults_included():
    make = constructor(TokenFeatures)
    f = features()
    kw = {fl.name: getattr(f, fl.name) for fl in dataclasses.fields(f)}
    assert make(**kw) == f
    required = {fl.name: kw[fl.name] for fl in dataclasses.fields(f)
                if fl.default is dataclasses.MISSING and fl.default_factory is dataclasses.MISSING}
    a, b = make(**required), TokenFeatures(**required)
    assert a == b and a.buy_volume_lamports == {} and a.trades == 0
    assert a.new_buyers is not make(**required).new_buyers          # default_factory: a fresh dict each time
    with pytest.raises(TypeError):
        make(**required, nonsense=1)
    with pytest.raises(TypeError):
        make(**{k: v for k, v in required.items() if k != "mint"})


def test_classes_that_cannot_be_rebuilt_from_their_fields_are_refused():
    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived:
        a: int
        b: int = dataclasses.field(init=False, default=0)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self):
            pass

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    for cls in (Derived, Checked, NoSlots):
        with pytest.raises(TypeError):
            pickle_by_fields(cls)
        with pytest.raises(TypeError):
            constructor(cls)


def test_an_event_batch_crosses_pickle_as_columns_and_comes_back_equal_in_order():
    import pickle

    from pipelines.chain.events import Complete, Launch, Trade
    from pipelines.wire import EventBatch, events_of
    launch = Launch(venue="pumpfun", signature="s1", slot=5, mint="M1", bonding_curve="B1", creator="C", name="n",
                    symbol="S", uri="u", token_program="T", quote_mint="Q", virtual_sol_reserves=30)
    trades = [Trade(venue="pumpfun", signature=f"s{i}", slot=6, mint="M1", side="buy" if i % 2 else "sell",
                    sol_amount=i, token_amount=2 * i, user=f"U{i}", quote_mint="Q", quote_amount=i, timestamp=i,
                    virtual_sol_reserves=10 + i, virtual_token_reserves=20, real_sol_reserves=1,
                    real_token_reserves=2, seq=i) for i in range(5)]
    done = Complete(venue="pumpfun", signature="s9", slot=7, mint="M1", bonding_curve="B1", user="U", timestamp=9)
    events = [trades[0], launch, *trades[1:3], done, *trades[3:]]      # interleaved classes
    back = pickle.loads(pickle.dumps(EventBatch(events), 5))
    assert isinstance(back, EventBatch) and events_of(back) == events
    assert [type(e) for e in back.events] == [type(e) for e in events]
    assert events_of(pickle.loads(pickle.dumps(EventBatch(trades)))) == trades   # one class
    assert events_of(pickle.loads(pickle.dumps(EventBatch([])))) == []
    # anything not registered for field pickling still crosses, object by object
    odd = [trades[0], ("not", "an", "event")]
    assert events_of(pickle.loads(pickle.dumps(EventBatch(odd)))) == odd
    assert events_of(odd) is odd


def test_a_one_class_batch_arrives_as_columns_and_builds_objects_only_when_read():
    import pickle

    from pipelines.chain.events import Launch, Trade
    from pipelines.wire import EventBatch
    trades = [Trade(venue="pumpfun", signature=f"s{i}", slot=i, mint=f"m{i % 3}", side="buy", sol_amount=i,
                    token_amount=2 * i, user="u", quote_mint="q", quote_amount=i) for i in range(5)]
    back = pickle.loads(pickle.dumps(EventBatch(trades), 5))
    assert len(back) == 5
    rows = list(zip(*back.columns_of(Trade)))
    assert [r[1] for r in rows] == [t.signature for t in trades] and [r[5] for r in rows] == [0, 1, 2, 3, 4]
    assert back.columns_of(Launch) is None                   # columns of another class: none
    again = pickle.loads(pickle.dumps(back, 5))              # forwarded unread: its columns as they came
    assert again.events == trades and again.columns_of(Trade) is None   # read once: objects from then on
    assert back.events == trades
    assert pickle.loads(pickle.dumps(EventBatch([]), 5)).columns_of(Trade) in (None, ())


def test_join_batches_joins_columns_without_building_objects_and_a_mix_as_objects():
    import pickle

    from pipelines.analysis.shard import _trade_values
    from pipelines.chain.events import Complete, Trade
    from pipelines.wire import EventBatch, join_batches
    trades = [Trade(venue="pumpfun", signature=f"s{i}", slot=i, mint="m", side="sell", sol_amount=i,
                    token_amount=i, user="u", quote_mint="q", quote_amount=i) for i in range(5)]
    rows = [_trade_values(t) for t in trades]
    a = EventBatch.of_columns(Trade, tuple(zip(*rows[:2])))
    b = EventBatch.of_columns(Trade, tuple(zip(*rows[2:])))
    joined = join_batches([a, EventBatch.of_columns(Trade, ()), b])
    assert joined.columns_of(Trade) == tuple(zip(*rows))           # joined field by field, no Trade built
    back = pickle.loads(pickle.dumps(joined, 5))
    assert list(zip(*back.columns_of(Trade))) == rows and back.events == trades
    assert join_batches([a]) is a
    done = Complete(venue="pumpfun", signature="c", slot=9, mint="m", bonding_curve="b", user="u")
    mixed = pickle.loads(pickle.dumps(join_batches([a, [done], b]), 5))
    assert mixed.columns_of(Trade) is None and mixed.events == [trades[0], trades[1], done, *trades[2:]]
    assert join_batches([[done], [trades[0]]]).events == [done, trades[0]]
    assert len(join_batches([])) == 0
