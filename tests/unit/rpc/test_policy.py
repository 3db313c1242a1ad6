import random

import pytest

from pipelines.rpc.policy import Backoff, EndpointSet, Outcome, TokenBucket, TtlCache, batches


def test_token_bucket_burst_then_rate():
    b = TokenBucket(rate=10.0, burst=3)
    assert [b.try_take(0.0) for _ in range(4)] == [True, True, True, False]
    # empty bucket: one token comes back after 1/rate seconds
    assert b.wait_time(0.0) == pytest.approx(0.1)
    assert not b.try_take(0.05)
    assert b.try_take(0.1 + 1e-9)
    # refill never exceeds the burst size
    assert b.wait_time(100.0) == 0.0 and b.tokens == 3


def test_backoff_doubles_and_caps():
    bo = Backoff(base_s=0.1, max_s=1.0, jitter=0.0)
    assert [bo.delay(n) for n in (1, 2, 3, 4, 5, 6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    rng = random.Random(1)
    jittered = [Backoff(0.1, 10, 0.2).delay(3, rng) for _ in range(200)]
    assert all(0.32 <= d <= 0.48 for d in jittered)


def test_failover_benches_failing_primary_and_returns_after_backoff():
    es = EndpointSet(["http://a", "http://b"], rate=100, burst=10, backoff=Backoff(0.5, 4.0, 0.0))
    assert es.choose(0.0).url == "http://a"          # configuration order breaks ties
    a = es.endpoints[0]
    es.record(a, Outcome.SERVER_ERROR, 5.0, now=0.0)
    assert es.choose(0.1).url == "http://b"          # benched for 0.5 s
    es.record(a, Outcome.RATE_LIMITED, 5.0, now=0.1, retry_after_s=2.0)
    assert a.benched_until == pytest.approx(2.1)     # Retry-After beats the 1.0 s backoff
    assert es.choose(2.0).url == "http://b"
    # after the bench, a is live again but b has the better record
    b = es.endpoints[1]
    es.record(b, Outcome.OK, 5.0, now=2.2)
    assert es.choose(2.2).url == "http://b"


def test_rpc_error_is_not_an_endpoint_failure():
    es = EndpointSet(["http://a"], rate=1, burst=1, backoff=Backoff())
    ep = es.endpoints[0]
    es.record(ep, Outcome.RPC_ERROR, 10.0, now=0.0)
    assert ep.consecutive_failures == 0 and ep.benched_until == 0.0


def test_all_benched_still_returns_least_bad():
    es = EndpointSet(["http://a", "http://b"], rate=1, burst=1, backoff=Backoff(1.0, 1.0, 0.0))
    for ep in es.endpoints:
        es.record(ep, Outcome.TIMEOUT, 0.0, now=0.0)
    es.record(es.endpoints[1], Outcome.OK, 1.0, now=0.5)   # b recovered its score
    assert es.choose(0.5).url == "http://b"


def test_empty_endpoint_list_is_a_clear_error():
    with pytest.raises(ValueError, match="at least one endpoint"):
        EndpointSet([], 1, 1, Backoff())


def test_ttl_cache_expiry_bound_and_hit_rate():
    c = TtlCache(ttl_s=5.0, max_entries=2)
    c.put("a", 1, now=0.0)
    assert c.get("a", 4.9) == 1
    assert c.get("a", 5.1) is None                   # expired
    c.put("a", 1, 10.0); c.put("b", 2, 10.0); c.put("c", 3, 10.0)
    assert c.get("a", 10.0) is None and c.get("c", 10.0) == 3 and len(c) == 2
    assert c.hit_rate == pytest.approx(2 / 4)


def test_batches_respect_the_getmultipleaccounts_limit():
    keys = list(range(250))
    out = batches(keys, 100)
    assert [len(b) for b in out] == [100, 100, 50] and sum(out, []) == keys
