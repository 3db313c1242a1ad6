"""pipelines/stream_health.py: a quiet market is live, a stream that misses what the chain has is stale (and
gets a new connection), and only a delivery or a clean probe makes it live again. Probes every 12 slots (~5 s),
stale after 150 slots, grace 17 slots (confirmed: depth 1 + 16)."""
from __future__ import annotations

from pipelines.stream_health import StaleWatch, StreamState, grace_for

P, Q = "pump", "amm"
STEP = 12


def probe(w: StaleWatch, chain: int, delivered: dict, activity: dict, *, connection: int = 1, connected=True):
    return w.observe(connected=connected, connection=connection, delivered=delivered, chain_slot=chain,
                     activity=activity)


def test_grace_follows_the_commitment():
    assert (grace_for("processed"), grace_for("confirmed"), grace_for("finalized")) == (16, 17, 48)


def test_a_quiet_market_stays_live_however_long_nothing_arrives():
    w = StaleWatch(150)
    for chain in range(1000, 3000, STEP):             # 2,000 slots, the programs' last activity long before
        h = probe(w, chain, {P: 900, Q: 0}, {P: 900, Q: None})
        assert h.state is StreamState.LIVE and not h.reconnect
    assert h.slots_behind == h.chain_slot - 900       # how far its news is from the tip; live all the same
    assert h.as_status() == {"state": "live", "slots_behind": h.slots_behind, "last_notification_slot": 900,
                             "chain_slot": h.chain_slot}


def test_a_dead_stream_on_a_busy_chain_goes_stale_once_and_asks_for_one_reconnect():
    w = StaleWatch(150)
    verdicts = []
    for chain in range(1000, 1400, STEP):             # the chain has a pump tx every slot; the stream stopped at 1000
        verdicts.append(probe(w, chain, {P: 1000}, {P: chain}))
    states = [v.state for v in verdicts]
    first = states.index(StreamState.STALE)
    # evidence from the 2nd probe (slot 1012, the first activity after the connection began); stale once nothing
    # was delivered for 150 slots: the probe at 1156 is the first with 1156 - 1000 >= 150
    assert 1000 + first * STEP == 1156
    assert all(s is StreamState.LIVE for s in states[:first]) and all(s is StreamState.STALE for s in states[first:])
    assert [v.reconnect for v in verdicts].count(True) == 1 and verdicts[first].reconnect
    assert verdicts[first].slots_behind == 156


def test_a_new_connection_does_not_make_a_silent_stream_live_and_a_delivery_does():
    w = StaleWatch(150)
    for chain in range(1000, 1200, STEP):
        probe(w, chain, {P: 1000}, {P: chain})
    h = probe(w, 1200, {P: 1000}, {P: 1200}, connection=2)      # reconnected, still silent
    assert h.state is StreamState.STALE and not h.reconnect
    for chain in range(1212, 1500, STEP):                        # as silent for a whole connection: another one
        h = probe(w, chain, {P: 1000}, {P: chain}, connection=2)
        assert h.state is StreamState.STALE
        if h.reconnect:
            break
    assert h.reconnect and h.chain_slot == 1356                  # the first probe 150 slots into connection 2
    h = probe(w, 1400, {P: 1398}, {P: 1400}, connection=3)       # it delivers again
    assert h.state is StreamState.LIVE and h.slots_behind == 2


def test_one_program_whose_subscription_died_is_enough():
    w = StaleWatch(150)
    for chain in range(1000, 1300, STEP):             # amm keeps delivering, pump stopped at 1000
        h = probe(w, chain, {P: 1000, Q: chain - 1}, {P: chain, Q: chain - 1})
    assert h.state is StreamState.STALE
    assert h.last_notification_slot == h.chain_slot - 1 and h.slots_behind == h.chain_slot - 1000


def test_a_notification_still_on_its_way_is_not_staleness():
    """Quiet for 500 slots, then one transaction at the tip whose notification has not arrived yet: live, and
    it stays live when the notification arrives before the grace runs out."""
    w = StaleWatch(150)
    for chain in range(1000, 1500, STEP):
        probe(w, chain, {P: 990}, {P: 990})
    assert probe(w, 1500, {P: 990}, {P: 1499}).state is StreamState.LIVE
    h = probe(w, 1512, {P: 1499}, {P: 1499})
    assert h.state is StreamState.LIVE and not w.missed


def test_disconnected_and_a_failed_probe():
    w = StaleWatch(150)
    assert probe(w, 1000, {P: 990}, {P: 995}, connected=False).state is StreamState.DISCONNECTED
    for chain in range(1000, 1300, STEP):
        probe(w, chain, {P: 990}, {P: chain})
    stale = w.observe(connected=True, connection=1, delivered={P: 990}, chain_slot=None, activity={})
    assert stale.state is StreamState.STALE and stale.chain_slot == 1288     # no getSlot: the verdict holds
    # a new connection, and the chain has nothing newer for it: live once the connection is `grace` slots old
    # (its first probes prove nothing either way)
    verdicts = [probe(w, chain, {P: 990}, {P: 1288}, connection=2).state for chain in (1308, 1320, 1332)]
    assert verdicts == [StreamState.STALE, StreamState.STALE, StreamState.LIVE]
