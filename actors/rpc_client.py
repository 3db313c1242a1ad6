"""An async Solana JSON-RPC client over a pool of endpoints (hosted by the RpcPool actor, usable on its own).

Failover, per-endpoint token buckets, backoff on 429/5xx/timeouts (pipelines/rpc/policy.py decides), a TTL
cache with request coalescing for account reads, and getMultipleAccounts batching: concurrent reads of
different keys within `batch_window_s` go out as one request of up to 100 keys.
"""
from __future__ import annotations

import asyncio
import base64
import functools
import itertools
import json
import logging
import time
from typing import Any

import aiohttp

from actors.metrics import endpoint_label, tally
from pipelines.config import RpcConfig
from pipelines.redaction import redact_url
from pipelines.rpc.policy import Backoff, EndpointSet, Outcome, RpcReply, TtlCache, batches, retry_after_s, rpc_reply

log = logging.getLogger("launchray.rpc")
_shown = functools.lru_cache(maxsize=64)(redact_url)    # one endpoint URL as errors may print it


class RpcError(Exception):
    """The endpoint answered with a JSON-RPC error (the request itself was refused)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"RPC error {code}: {message}")
        self.code, self.message, self.data = code, message, data


class RpcUnavailable(Exception):
    """Every endpoint failed (rate limited, down, timing out) for the whole retry budget."""


class BodyTooLarge(Exception):
    """A response body over rpc.max_response_bytes: refused before it is read whole."""


async def read_bounded(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The body, or BodyTooLarge as soon as it passes `max_bytes` (declared or streamed)."""
    if resp.content_length is not None and resp.content_length > max_bytes:
        raise BodyTooLarge(f"{resp.content_length} bytes declared")
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(f"over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class RpcClient:
    def __init__(self, urls: list[str] | tuple[str, ...], cfg: RpcConfig | None = None,
                 batch_window_s: float = 0.002, clock=time.monotonic) -> None:
        self.cfg = cfg or RpcConfig()
        self.endpoints = EndpointSet(list(urls), self.cfg.requests_per_second, self.cfg.burst,
                                     Backoff(self.cfg.backoff_base_s, self.cfg.backoff_max_s))
        self.account_cache = TtlCache(self.cfg.cache_ttl_s)
        self.tx_cache = TtlCache(self.cfg.tx_cache_ttl_s, max_entries=20_000)
        self.batch_window_s = batch_window_s
        self._clock = clock
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._inflight: dict[tuple[str, str], asyncio.Future] = {}
        self._pending: dict[str, list[asyncio.Future]] = {}
        self._pending_commitment = "confirmed"
        self._flush_task: asyncio.Task | None = None
        self.calls = 0
        self._tally = tally()
        self._labels: dict[str, str] = {}

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.cfg.timeout_s))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _metric(self, url: str, method: str, outcome: Outcome, latency_ms: float) -> None:
        """launchray_rpc_calls / _latency_ms: a dict add here, recorded once a second (actors.metrics.Tally)."""
        label = self._labels.get(url)
        if label is None:
            label = self._labels[url] = endpoint_label(url)   # host[:port]: paths and queries hold API keys
        self._tally.count("rpc_calls", 1, endpoint=label, method=method, outcome=outcome.value)
        if outcome is not Outcome.TIMEOUT:
            self._tally.observe("rpc_latency_ms", latency_ms, endpoint=label)

    # --- raw calls with failover -------------------------------------------------------------------------
    def best_endpoint(self) -> str:
        """The endpoint a call would go to now: callers that must ask one node several questions pin it."""
        return self.endpoints.choose(self._clock()).url

    def _endpoint(self, url: str):
        for ep in self.endpoints.endpoints:
            if ep.url == url:
                return ep
        raise RpcUnavailable("pinned endpoint is not in the pool")

    async def call(self, method: str, params: list | None = None, endpoint: str | None = None) -> Any:
        """One JSON-RPC call; retries other endpoints on transport trouble, raises RpcError on an RPC error.
        `endpoint`: every attempt goes to that one (a blockhash's expiry is judged by the node that gave it)."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or []}
        attempts = self.cfg.max_retries + 1
        tried: set[str] = set()
        last = "no endpoint answered"
        for attempt in range(attempts):
            now = self._clock()
            ep = self._endpoint(endpoint) if endpoint else self.endpoints.choose(
                now, frozenset(tried) if len(tried) < len(self.endpoints.endpoints) else frozenset())
            shown = _shown(ep.url)     # errors name the endpoint without its API key (path or query)
            wait = max(ep.bucket.wait_time(now), ep.benched_until - now)
            if wait > 0:
                await asyncio.sleep(min(wait, self.cfg.backoff_max_s))
            ep.bucket.try_take(self._clock())
            started = self._clock()
            outcome, retry_after, reply = Outcome.OK, None, None
            try:
                session = await self._http()
                self.calls += 1
                async with session.post(ep.url, json=body) as resp:
                    if resp.status == 429:
                        retry_after = retry_after_s(resp.headers.get("Retry-After"), time.time(),
                                                    self.cfg.retry_after_max_s)
                        outcome, last = Outcome.RATE_LIMITED, f"{shown}: HTTP 429"
                    elif resp.status != 200:
                        outcome, last = Outcome.SERVER_ERROR, f"{shown}: HTTP {resp.status}"
                    else:
                        raw = await read_bounded(resp, self.cfg.max_response_bytes)
                        reply = rpc_reply(json.loads(raw), body["id"])
            except asyncio.TimeoutError:
                outcome, last = Outcome.TIMEOUT, f"{shown}: timed out"
            except BodyTooLarge as exc:
                outcome, last = Outcome.TOO_LARGE, f"{shown}: response body {exc}"
            except (aiohttp.ClientError, OSError) as exc:
                outcome, last = Outcome.TRANSPORT, f"{shown}: {type(exc).__name__}"
            except (ValueError, RecursionError) as exc:      # not JSON (UnicodeDecodeError is a ValueError)
                outcome, last = Outcome.MALFORMED, f"{shown}: body is not JSON ({type(exc).__name__})"
            latency_ms = (self._clock() - started) * 1000
            if reply is not None and reply[0] is RpcReply.MALFORMED:
                outcome, last = Outcome.MALFORMED, f"{shown}: malformed response ({reply[1]})"
            if reply is not None and reply[0] is RpcReply.ERROR:
                self.endpoints.record(ep, Outcome.RPC_ERROR, latency_ms, self._clock())
                self._metric(ep.url, method, Outcome.RPC_ERROR, latency_ms)
                raise RpcError(*reply[1])
            self.endpoints.record(ep, outcome, latency_ms, self._clock(), retry_after)
            self._metric(ep.url, method, outcome, latency_ms)
            if outcome is Outcome.OK:
                return reply[1]
            if outcome in (Outcome.MALFORMED, Outcome.TOO_LARGE):
                self._tally.count("decode_errors", 1, source=f"rpc_{outcome.value}")
            tried.add(ep.url)
            log.debug("rpc %s attempt %d failed: %s", method, attempt + 1, last)
        raise RpcUnavailable(f"{method}: {last} (after {attempts} attempts)")

    # --- account reads: cache, coalescing, batching ------------------------------------------------------
    async def get_account(self, address: str, commitment: str = "confirmed") -> dict | None:
        return (await self.get_accounts([address], commitment))[address]

    async def get_accounts(self, addresses: list[str], commitment: str = "confirmed",
                           fresh: bool = False) -> dict[str, dict | None]:
        """Decoded accounts `{lamports, owner, data: bytes, executable, slot}` or None when absent.

        `fresh=True` bypasses the cache (paper fills need the state at this slot, not a cached one).
        """
        now = self._clock()
        out: dict[str, dict | None] = {}
        waits: list[tuple[str, asyncio.Future]] = []
        loop = asyncio.get_running_loop()
        for a in dict.fromkeys(addresses):
            key = (commitment, a)
            if not fresh:
                hit = self.account_cache.get(key, now)
                if hit is not None:
                    out[a] = hit[0]
                    continue
            fut = self._inflight.get(key)
            if fut is None:
                fut = loop.create_future()
                self._inflight[key] = fut
                self._pending.setdefault(a, []).append(fut)
                self._pending_commitment = commitment
            waits.append((a, fut))
        if waits:
            if self._flush_task is None or self._flush_task.done():
                # Fresh reads (an order about to be quoted) go out now; cacheable ones wait a moment to batch.
                self._flush_task = asyncio.create_task(self._flush_later(0.0 if fresh else self.batch_window_s))
            for a, fut in waits:
                out[a] = await asyncio.shield(fut)
        return out

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        while self._pending:
            pending, self._pending = self._pending, {}
            commitment = self._pending_commitment
            await asyncio.gather(*(self._fetch_batch(chunk, pending, commitment)
                                   for chunk in batches(list(pending), self.cfg.batch_size)))

    async def _fetch_batch(self, keys: list[str], pending: dict[str, list[asyncio.Future]], commitment: str) -> None:
        try:
            result = await self.call("getMultipleAccounts", [keys, {"encoding": "base64", "commitment": commitment}])
            slot = result.get("context", {}).get("slot", 0)
            values = result.get("value") or [None] * len(keys)
            now = self._clock()
            for k, v in zip(keys, values):
                acct = None
                if v is not None:
                    acct = {"lamports": v["lamports"], "owner": v["owner"], "executable": v.get("executable", False),
                            "data": base64.b64decode(v["data"][0]), "slot": slot}
                self.account_cache.put((commitment, k), (acct,), now)
                self._resolve(k, commitment, pending, acct, None)
        except Exception as exc:  # every waiter gets the error; nothing hangs
            for k in keys:
                self._resolve(k, commitment, pending, None, exc)

    def _resolve(self, key: str, commitment: str, pending, value, exc) -> None:
        self._inflight.pop((commitment, key), None)
        for fut in pending.get(key, ()):
            if not fut.done():
                fut.set_exception(exc) if exc else fut.set_result(value)

    def invalidate(self, address: str) -> None:
        for c in ("processed", "confirmed", "finalized"):
            self.account_cache.invalidate((c, address))

    # --- the rest of what the system uses ------------------------------------------------------------------
    async def get_transaction(self, signature: str, encoding: str = "json") -> dict | None:
        key = (signature, encoding)
        hit = self.tx_cache.get(key, self._clock())
        if hit is not None:
            return hit
        tx = await self.call("getTransaction", [signature, {"encoding": encoding, "commitment": "confirmed",
                                                            "maxSupportedTransactionVersion": 0}])
        if isinstance(tx, dict):     # only a transaction is cached: a null or a malformed answer is read again
            self.tx_cache.put(key, tx, self._clock())
        return tx

    async def get_signatures_for_address(self, address: str, until: str | None = None,
                                         before: str | None = None, limit: int = 1000) -> list[dict]:
        opts: dict = {"limit": limit, "commitment": "confirmed"}
        if until:
            opts["until"] = until
        if before:
            opts["before"] = before
        return await self.call("getSignaturesForAddress", [address, opts])

    async def get_latest_blockhash(self, commitment: str = "confirmed", endpoint: str | None = None) -> tuple[str, int]:
        r = await self.call("getLatestBlockhash", [{"commitment": commitment}], endpoint)
        return r["value"]["blockhash"], r["value"]["lastValidBlockHeight"]

    async def get_block_height(self, endpoint: str | None = None) -> int:
        return await self.call("getBlockHeight", [{"commitment": "confirmed"}], endpoint)

    async def get_slot(self) -> int:
        return await self.call("getSlot", [{"commitment": "confirmed"}])

    async def send_transaction(self, tx_bytes: bytes, skip_preflight: bool = True, endpoint: str | None = None) -> str:
        return await self.call("sendTransaction", [base64.b64encode(tx_bytes).decode(), {
            "encoding": "base64", "skipPreflight": skip_preflight, "maxRetries": 0}], endpoint)

    async def simulate_transaction(self, tx_bytes: bytes) -> dict:
        r = await self.call("simulateTransaction", [base64.b64encode(tx_bytes).decode(), {
            "encoding": "base64", "sigVerify": False, "replaceRecentBlockhash": False, "commitment": "confirmed"}])
        return r["value"]

    async def get_signature_statuses(self, signatures: list[str], endpoint: str | None = None) -> list[dict | None]:
        out: list[dict | None] = []
        for chunk in batches(signatures, 256):
            r = await self.call("getSignatureStatuses", [chunk, {"searchTransactionHistory": True}], endpoint)
            out.extend(r["value"])
        return out

    async def get_balance(self, address: str) -> int:
        return (await self.call("getBalance", [address, {"commitment": "confirmed"}]))["value"]

    async def get_token_largest_accounts(self, mint: str) -> list[dict]:
        return (await self.call("getTokenLargestAccounts", [mint, {"commitment": "confirmed"}]))["value"]

    def health(self) -> dict:
        now = self._clock()
        return {"endpoints": self.endpoints.snapshot(now), "account_cache_hit_rate": round(self.account_cache.hit_rate, 4),
                "tx_cache_entries": len(self.tx_cache), "calls": self.calls}
