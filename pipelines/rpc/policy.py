"""Rate limiting, backoff and endpoint choice for a pool of RPC endpoints.

The RpcPool actor asks `EndpointSet.choose(now)` for an endpoint, waits `bucket.wait_time(now)` if the
endpoint's token bucket is empty, and reports every outcome back with `record(...)`. Health is an
exponentially weighted success rate and latency; an endpoint that answers 429/5xx or times out is benched for
a backoff that doubles per consecutive failure, so traffic fails over to the next healthy endpoint.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import Enum


class Outcome(str, Enum):
    OK = "ok"
    RATE_LIMITED = "rate_limited"    # HTTP 429
    SERVER_ERROR = "server_error"    # HTTP 5xx
    TIMEOUT = "timeout"
    TRANSPORT = "transport"          # connection refused/reset
    RPC_ERROR = "rpc_error"          # the endpoint answered with a JSON-RPC error: healthy, the request was bad
    MALFORMED = "malformed"          # HTTP 200 with a body that is not a JSON-RPC answer to our request
    TOO_LARGE = "too_large"          # a body over rpc.max_response_bytes (refused unread)


RETRYABLE = frozenset({Outcome.RATE_LIMITED, Outcome.SERVER_ERROR, Outcome.TIMEOUT, Outcome.TRANSPORT,
                       Outcome.MALFORMED, Outcome.TOO_LARGE})


def retry_after_s(header: str | None, now_epoch: float, max_s: float) -> float | None:
    """A Retry-After header (delay-seconds or an HTTP-date) as seconds from now, clamped to [0, max_s]; None for
    a missing or unreadable one. A provider's `Retry-After: 99999999` must not park an endpoint for years."""
    if not header or len(header) > 64:
        return None
    text = header.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - now_epoch
    if seconds != seconds:      # NaN
        return None
    return min(max(seconds, 0.0), max_s)


class RpcReply(str, Enum):
    """What a 200 body parsed as JSON turned out to be (rpc_reply decides)."""
    RESULT = "result"
    ERROR = "error"
    MALFORMED = "malformed"


def rpc_reply(payload, request_id: int) -> tuple[RpcReply, object]:
    """A JSON-RPC response checked against our request: (RESULT, result), (ERROR, (code, message, data)) or
    (MALFORMED, why). A reply for another id, an error that is not an object, or no result is malformed."""
    if not isinstance(payload, dict):
        return RpcReply.MALFORMED, f"body is {type(payload).__name__}, not an object"
    if payload.get("id") != request_id:
        return RpcReply.MALFORMED, "id mismatch"
    if "error" in payload:
        err = payload["error"]
        if not isinstance(err, dict):
            return RpcReply.MALFORMED, f"error is {type(err).__name__}, not an object"
        code = err.get("code", 0)
        code = code if type(code) is int else 0
        message = err.get("message", "")
        return RpcReply.ERROR, (code, message if isinstance(message, str) else repr(message)[:200], err.get("data"))
    if "result" not in payload:
        return RpcReply.MALFORMED, "no result"
    return RpcReply.RESULT, payload["result"]


@dataclass(slots=True)
class TokenBucket:
    rate: float           # tokens per second
    burst: float          # bucket size
    tokens: float = -1.0
    updated: float = 0.0

    def _refill(self, now: float) -> None:
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
            return
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def try_take(self, now: float, n: float = 1.0) -> bool:
        self._refill(now)
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False

    def wait_time(self, now: float, n: float = 1.0) -> float:
        """Seconds until `n` tokens are available (0 if now)."""
        self._refill(now)
        return 0.0 if self.tokens >= n else (n - self.tokens) / self.rate


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 0.1
    max_s: float = 10.0
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Exponential backoff for the attempt-th consecutive failure (attempt >= 1), with +-jitter."""
        d = min(self.max_s, self.base_s * (2 ** max(0, attempt - 1)))
        if rng is not None and self.jitter:
            d *= 1 + rng.uniform(-self.jitter, self.jitter)
        return d


@dataclass(slots=True)
class EndpointHealth:
    url: str
    bucket: TokenBucket
    success_ewma: float = 1.0
    latency_ewma_ms: float = 50.0
    consecutive_failures: int = 0
    benched_until: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)

    def score(self, now: float) -> float:
        """Higher is better; a benched endpoint scores below every live one."""
        if now < self.benched_until:
            return -1.0 + self.success_ewma * 0.5
        return self.success_ewma / (1.0 + self.latency_ewma_ms / 1000.0)


class EndpointSet:
    """Endpoints in priority order with health-based choice and failover."""

    ALPHA = 0.2

    def __init__(self, urls: list[str] | tuple[str, ...], rate: float, burst: int, backoff: Backoff,
                 seed: int = 0) -> None:
        if not urls:
            raise ValueError("an RPC pool needs at least one endpoint URL")
        self.endpoints = [EndpointHealth(u, TokenBucket(rate, burst)) for u in urls]
        self.backoff = backoff
        self._rng = random.Random(seed)

    def choose(self, now: float, exclude: frozenset[str] = frozenset()) -> EndpointHealth:
        """The healthiest endpoint not excluded; ties keep configuration order (the first is the primary)."""
        candidates = [e for e in self.endpoints if e.url not in exclude] or self.endpoints
        return max(candidates, key=lambda e: e.score(now))  # max() keeps the first of equals

    def record(self, ep: EndpointHealth, outcome: Outcome, latency_ms: float, now: float,
               retry_after_s: float | None = None) -> None:
        ok = outcome in (Outcome.OK, Outcome.RPC_ERROR)
        ep.calls[outcome.value] = ep.calls.get(outcome.value, 0) + 1
        ep.success_ewma += self.ALPHA * ((1.0 if ok else 0.0) - ep.success_ewma)
        if outcome is not Outcome.TIMEOUT:
            ep.latency_ewma_ms += self.ALPHA * (latency_ms - ep.latency_ewma_ms)
        if ok:
            ep.consecutive_failures = 0
            return
        ep.consecutive_failures += 1
        pause = self.backoff.delay(ep.consecutive_failures, self._rng)
        if retry_after_s is not None:
            pause = max(pause, retry_after_s)
        ep.benched_until = max(ep.benched_until, now + pause)

    def snapshot(self, now: float) -> list[dict]:
        return [{"url": e.url, "score": round(e.score(now), 4), "success": round(e.success_ewma, 4),
                 "latency_ms": round(e.latency_ewma_ms, 2), "benched": now < e.benched_until,
                 "consecutive_failures": e.consecutive_failures, "calls": dict(e.calls)}
                for e in self.endpoints]


class TtlCache:
    """A bounded TTL cache for account reads and transactions (oldest entries go first when full)."""

    def __init__(self, ttl_s: float, max_entries: int = 50_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._data: dict = {}
        self.hits = 0
        self.misses = 0

    def get(self, key, now: float):
        item = self._data.get(key)
        if item is None or item[0] < now:
            if item is not None:
                del self._data[key]
            self.misses += 1
            return None
        self.hits += 1
        return item[1]

    def put(self, key, value, now: float) -> None:
        if self.ttl_s <= 0:
            return
        if key in self._data:
            del self._data[key]
        elif len(self._data) >= self.max_entries:
            del self._data[next(iter(self._data))]
        self._data[key] = (now + self.ttl_s, value)

    def invalidate(self, key) -> None:
        self._data.pop(key, None)

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def __len__(self) -> int:
        return len(self._data)


def batches(items: list, size: int) -> list[list]:
    """Split into request-sized chunks (getMultipleAccounts takes at most 100 keys)."""
    return [items[i:i + size] for i in range(0, len(items), size)]
