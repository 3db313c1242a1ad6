"""Solana's WebSocket pubsub: logs, account, signature and slot subscriptions, notifications shaped like Agave's.

Delivery is built for throughput: a notification's result is serialized once and only the subscription id is
spliced in per subscriber; frames queue per connection and go out in one transport write per loop turn (the
frames are written by hand: unmasked text frames, no compression, as a server sends them). A subscription's
commitment is honoured: processed at once, confirmed one slot later, finalized 32 slots later (ledger_store's
depths). Faults (dropped/delayed/malformed notifications, disconnects) apply here.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import deque

from aiohttp import WSMsgType, web
from solders.account import Account
from solders.pubkey import Pubkey

from .faults import Faults
from .hostile import variant as hostile_variant
from .pubsub_subs import Registry, Subscription, SubscribeError, parse_request
from .render import mint_decimals_from, ui_account

log = logging.getLogger(__name__)

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
MAX_BUFFERED_BYTES = 64 * 1024 * 1024   # a client this far behind is cut, like Agave's slow-subscriber limit
DEPTH = {"processed": 0, "confirmed": 1, "finalized": 32}


def ws_frame(payload: bytes) -> bytes:
    """One unmasked, final text frame (RFC 6455 section 5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


class Connection:
    __slots__ = ("server", "transport", "out", "scheduled", "closed", "subs")

    def __init__(self, server: "PubsubServer", transport) -> None:
        self.server = server
        self.transport = transport
        self.out: list[str | bytes] = []      # str: a text frame's payload; bytes: a whole raw frame
        self.scheduled = False
        self.closed = False
        self.subs: set[int] = set()

    def push(self, text: str | bytes) -> None:
        if self.closed:
            return
        self.out.append(text)
        if not self.scheduled:
            self.scheduled = True
            self.server.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        out, self.out = self.out, []
        if self.closed or not out:
            return
        if self.server.faults.cut_connection():
            self.abort()
            return
        t = self.transport
        if t is None or t.is_closing():
            self.abort()
            return
        t.write(b"".join([ws_frame(s.encode()) if s.__class__ is str else s for s in out]))
        self.server.delivered += len(out)
        if t.get_write_buffer_size() > MAX_BUFFERED_BYTES:
            log.warning("pubsub client fell %d bytes behind: disconnecting", t.get_write_buffer_size())
            self.abort()

    def abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.server.registry.drop_connection(self)
        if self.transport is not None:
            self.transport.abort()


class PubsubServer:
    """The WebSocket endpoint and the bank listener that feeds it."""

    def __init__(self, bank, faults: Faults) -> None:
        self.bank = bank
        self.faults = faults
        self.registry = Registry()
        self.connections: set[Connection] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.delivered = 0
        self._pending: dict[str, deque] = {"confirmed": deque(), "finalized": deque()}
        faults.on_disconnect_now(self.disconnect_all)

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._loop_thread = threading.get_ident()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.handle)
        return app

    def disconnect_all(self) -> int:
        conns = list(self.connections)
        for c in conns:
            c.abort()
        return len(conns)

    # --- connections ---
    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=1 << 20)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="Expected a WebSocket upgrade")
        if self.faults.refuse_connection():
            return web.Response(status=503, text="pubsub endpoint unavailable (injected fault)")
        await ws.prepare(request)
        conn = Connection(self, request.transport)
        self.connections.add(conn)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self._on_text(conn, msg.data.decode("utf-8", "replace"))
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.connections.discard(conn)
            conn.closed = True
            self.registry.drop_connection(conn)
        return ws

    def _on_text(self, conn: Connection, text: str) -> None:
        try:
            req = json.loads(text)
        except (ValueError, RecursionError):
            conn.push(_error(-32700, "Parse error", None))
            return
        for item in (req if isinstance(req, list) and req else [req]):
            conn.push(self._call(conn, item))

    def _call(self, conn: Connection, req) -> str:
        try:
            return self._dispatch(conn, req)
        except Exception:  # a bug answers -32603 and keeps the connection, never kills the reader
            log.exception("pubsub request failed: %r", req)
            return _error(-32603, "Internal error", req.get("id") if isinstance(req, dict) else None)

    def _dispatch(self, conn: Connection, req) -> str:
        try:
            method, params, req_id = parse_request(req)
        except SubscribeError as exc:
            return _error(exc.code, exc.message, req.get("id") if isinstance(req, dict) else None)
        try:
            if method.endswith("Unsubscribe"):
                sub_id = params[0] if params else None
                if not isinstance(sub_id, int) or isinstance(sub_id, bool):
                    raise SubscribeError(-32602, "Invalid params: invalid type, expected u64.")
                ok = self.registry.remove(conn, method[:-len("Unsubscribe")], sub_id)
                if not ok:
                    raise SubscribeError(-32602, "Invalid subscription id.")
                return _result(True, req_id)
            sub = self.registry.add(conn, method, params)
        except SubscribeError as exc:
            return _error(exc.code, exc.message, req_id)
        reply = _result(sub.id, req_id)
        if sub.kind == "signature":
            self.loop.call_soon(self._check_signature, sub)
        return reply

    # --- bank listener (called synchronously from inside the bank) ---
    def _in_loop(self) -> bool:
        return threading.get_ident() == self._loop_thread

    def on_transaction(self, stored) -> None:
        if self.loop is None:
            return
        if not self._in_loop():
            self.loop.call_soon_threadsafe(self.on_transaction, stored)
            return
        reg = self.registry
        if reg.logs_count:
            self._logs(stored, "processed")
            for level in ("confirmed", "finalized"):
                if reg.logs_by_level[level]:
                    self._pending[level].append((stored.slot, "logs", stored))
        for sub in reg.signature_subs(stored.signature, "processed"):
            self._notify_signature(sub, stored.slot, stored.result.err)

    def on_account(self, address, account, slot: int) -> None:
        if self.loop is None or not self.registry.account_count:
            return
        if not self._in_loop():
            self.loop.call_soon_threadsafe(self.on_account, address, account, slot)
            return
        key = str(address)
        self._account(key, account, slot, "processed")
        for level in ("confirmed", "finalized"):
            if self.registry.account_subs(key, level):
                self._pending[level].append((slot, "account", (key, account)))

    def on_slot(self, slot: int) -> None:
        if self.loop is None:
            return
        if not self._in_loop():
            self.loop.call_soon_threadsafe(self.on_slot, slot)
            return
        subs = self.registry.slot_subs
        if subs:
            self._fanout("slotNotification", _dumps({"parent": max(0, slot - 1), "root": max(0, slot - 32),
                                                     "slot": slot}), list(subs.values()))
        for level, queue in self._pending.items():
            ready = slot - DEPTH[level]
            while queue and queue[0][0] <= ready:
                at, kind, item = queue.popleft()
                if kind == "logs":
                    self._logs(item, level)
                else:
                    self._account(item[0], item[1], at, level)
        for sub in self.registry.waiting_signatures():
            self._check_signature(sub)

    # --- notification builders ---
    def _logs(self, stored, level: str) -> None:
        subs = self.registry.logs_subs(stored, level)
        if not subs:
            return
        result = {"context": {"slot": stored.slot},
                  "value": {"err": stored.result.err, "logs": list(stored.result.logs),
                            "signature": stored.signature}}
        self._fanout("logsNotification", _dumps(result), subs)

    def _account(self, key: str, account, slot: int, level: str) -> None:
        subs = self.registry.account_subs(key, level)
        if not subs:
            return
        by_encoding: dict[str, list[Subscription]] = {}
        for sub in subs:
            by_encoding.setdefault(sub.encoding, []).append(sub)
        decimals = mint_decimals_from(self.bank.get_account)
        for enc, group in by_encoding.items():
            try:
                gone = account is None or not account.lamports
                value = ui_account(_CLOSED if gone else account, enc, None, decimals)
            except Exception:  # an encoding that cannot show this account: skip, never break the bank
                log.exception("accountNotification for %s failed", key)
                continue
            self._fanout("accountNotification", _dumps({"context": {"slot": slot}, "value": value}), group)

    def _check_signature(self, sub: Subscription) -> None:
        if sub.conn.closed or not self.registry.is_active(sub):
            return
        st = self.bank.signature_status(sub.key)
        if st is not None and DEPTH[st.confirmation_status] >= DEPTH[sub.commitment]:
            self._notify_signature(sub, st.slot, st.err)

    def _notify_signature(self, sub: Subscription, slot: int, err) -> None:
        self.registry.remove(sub.conn, "signature", sub.id)      # one-shot
        self._fanout("signatureNotification", _dumps({"context": {"slot": slot}, "value": {"err": err}}), [sub])

    def on_received(self, signature: str) -> None:
        """sendTransaction accepted a transaction: `receivedSignature` for subscribers that asked for it."""
        for sub in self.registry.received_subs(signature):
            self._fanout("signatureNotification",
                         _dumps({"context": {"slot": self.bank.slot}, "value": "receivedSignature"}), [sub])

    def _fanout(self, method: str, result_json: str, subs) -> None:
        head = '{"jsonrpc":"2.0","method":"' + method + '","params":{"result":' + result_json + ',"subscription":'
        faults = self.faults
        delay = faults.notification_delay_s()
        dropping = faults.settings.drop_notifications > 0
        malforming = faults.settings.malformed_notifications > 0
        for sub in subs:
            if dropping and faults.drop_notification():
                continue
            kind = faults.malformed_kind(sub.id) if malforming else None
            text = head + str(sub.id) + "}}" if kind is None else hostile_variant(kind, method, result_json, sub.id)
            if delay:
                faults.note_delayed(1)
                self.loop.call_later(delay, sub.conn.push, text)
            else:
                sub.conn.push(text)


# What Agave sends when a subscribed account is closed: the default (empty, system-owned) account.
_CLOSED = Account(0, b"", Pubkey.from_string("11111111111111111111111111111111"), False, 0)


def _result(value, req_id) -> str:
    return '{"jsonrpc":"2.0","result":' + _dumps(value) + ',"id":' + _dumps(req_id) + "}"


def _error(code: int, message: str, req_id) -> str:
    return '{"jsonrpc":"2.0","error":' + _dumps({"code": code, "message": message}) + ',"id":' + _dumps(req_id) + "}"
