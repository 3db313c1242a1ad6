"""Pubsub subscriptions: request parsing with Agave's error messages, and indexes that find a notification's
subscribers without scanning (logs by mentioned key, accounts by address, signatures by signature, per
commitment level)."""
from __future__ import annotations

import itertools
from typing import Any

from solders.pubkey import Pubkey
from solders.signature import Signature

LEVELS = ("processed", "confirmed", "finalized")
_LEGACY = {"recent": "processed", "single": "confirmed", "singleGossip": "confirmed", "root": "finalized",
           "max": "finalized"}
_ACCOUNT_ENCODINGS = ("binary", "base58", "base64", "jsonParsed")
SUBSCRIBE_METHODS = ("logsSubscribe", "accountSubscribe", "signatureSubscribe", "slotSubscribe")
UNSUBSCRIBE_METHODS = ("logsUnsubscribe", "accountUnsubscribe", "signatureUnsubscribe", "slotUnsubscribe")


class SubscribeError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Subscription:
    __slots__ = ("id", "conn", "kind", "key", "commitment", "encoding", "received")

    def __init__(self, sub_id: int, conn, kind: str, key: str | None, commitment: str,
                 encoding: str = "base64", received: bool = False) -> None:
        self.id = sub_id
        self.conn = conn
        self.kind = kind
        self.key = key
        self.commitment = commitment
        self.encoding = encoding
        self.received = received


def parse_request(req: Any) -> tuple[str, list, Any]:
    if not isinstance(req, dict) or not isinstance(req.get("method"), str):
        raise SubscribeError(-32600, "Invalid request")
    method = req["method"]
    if method not in SUBSCRIBE_METHODS and method not in UNSUBSCRIBE_METHODS:
        raise SubscribeError(-32601, "Method not found")
    params = req.get("params")
    if params is None:
        params = []
    if not isinstance(params, list):
        raise SubscribeError(-32602, "Invalid params: invalid type: map, expected a sequence.")
    return method, params, req.get("id")


def _config(params: list, i: int) -> dict:
    if len(params) <= i or params[i] is None:
        return {}
    if not isinstance(params[i], dict):
        raise SubscribeError(-32602, "Invalid params: invalid type, expected a config object.")
    return params[i]


def _commitment(cfg: dict) -> str:
    c = cfg.get("commitment") or "finalized"
    c = _LEGACY.get(c, c)
    if c not in LEVELS:
        raise SubscribeError(-32602, f"Invalid params: unknown variant `{c}`, expected one of `processed`, "
                                     "`confirmed`, `finalized`.")
    return c


def _pubkey(v: Any, name: str) -> str:
    try:
        return str(Pubkey.from_string(v))
    except (ValueError, TypeError):
        raise SubscribeError(-32602, f"Invalid Request: Invalid {name} provided") from None


class Registry:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.by_id: dict[int, Subscription] = {}
        self.logs_all: dict[str, dict[int, Subscription]] = {lv: {} for lv in LEVELS}
        self.logs_mentions: dict[str, dict[str, dict[int, Subscription]]] = {lv: {} for lv in LEVELS}
        self.logs_by_level = dict.fromkeys(LEVELS, 0)
        self.logs_count = 0
        self.accounts: dict[str, dict[str, dict[int, Subscription]]] = {lv: {} for lv in LEVELS}
        self.account_count = 0
        self.signatures: dict[str, dict[int, Subscription]] = {}
        self.slot_subs: dict[int, Subscription] = {}

    # --- add / remove ---
    def add(self, conn, method: str, params: list) -> Subscription:
        sub_id = next(self._ids)
        if method == "slotSubscribe":
            sub = Subscription(sub_id, conn, "slot", None, "processed")
            self.slot_subs[sub_id] = sub
        elif method == "logsSubscribe":
            sub = self._add_logs(sub_id, conn, params)
        elif method == "accountSubscribe":
            if not params:
                raise SubscribeError(-32602, "Invalid params: invalid length 0, expected a pubkey.")
            key = _pubkey(params[0], "pubkey")
            cfg = _config(params, 1)
            enc = cfg.get("encoding") or "binary"
            if enc not in _ACCOUNT_ENCODINGS:
                raise SubscribeError(-32602, f"Invalid params: unknown variant `{enc}`, expected one of "
                                             + ", ".join(f"`{e}`" for e in _ACCOUNT_ENCODINGS) + ".")
            sub = Subscription(sub_id, conn, "account", key, _commitment(cfg), enc)
            self.accounts[sub.commitment].setdefault(key, {})[sub_id] = sub
            self.account_count += 1
        else:  # signatureSubscribe
            if not params:
                raise SubscribeError(-32602, "Invalid params: invalid length 0, expected a signature.")
            try:
                key = str(Signature.from_string(params[0]))
            except (ValueError, TypeError):
                raise SubscribeError(-32602, "Invalid Request: Invalid signature provided") from None
            cfg = _config(params, 1)
            sub = Subscription(sub_id, conn, "signature", key, _commitment(cfg),
                               received=bool(cfg.get("enableReceivedNotification")))
            self.signatures.setdefault(key, {})[sub_id] = sub
        self.by_id[sub_id] = sub
        conn.subs.add(sub_id)
        return sub

    def _add_logs(self, sub_id: int, conn, params: list) -> Subscription:
        if not params:
            raise SubscribeError(-32602, "Invalid params: invalid length 0, expected a filter.")
        filt = params[0]
        cfg = _config(params, 1)
        level = _commitment(cfg)
        if filt in ("all", "allWithVotes"):
            sub = Subscription(sub_id, conn, "logs", None, level)
            self.logs_all[level][sub_id] = sub
        elif isinstance(filt, dict) and set(filt) == {"mentions"} and isinstance(filt["mentions"], list):
            keys = filt["mentions"]
            if len(keys) != 1:
                raise SubscribeError(-32602, "Invalid Request: Only 1 address supported")
            key = _pubkey(keys[0], "mentions")
            sub = Subscription(sub_id, conn, "logs", key, level)
            self.logs_mentions[level].setdefault(key, {})[sub_id] = sub
        else:
            raise SubscribeError(-32602, "Invalid params: unknown variant, expected `all`, `allWithVotes` or "
                                         "{\"mentions\": [<pubkey>]}.")
        self.logs_by_level[level] += 1
        self.logs_count += 1
        return sub

    def remove(self, conn, kind: str, sub_id: int) -> bool:
        sub = self.by_id.get(sub_id)
        if sub is None or sub.conn is not conn or sub.kind != kind:
            return False
        del self.by_id[sub_id]
        conn.subs.discard(sub_id)
        if kind == "slot":
            self.slot_subs.pop(sub_id, None)
        elif kind == "logs":
            table = self.logs_all[sub.commitment] if sub.key is None else \
                self.logs_mentions[sub.commitment].get(sub.key, {})
            table.pop(sub_id, None)
            if sub.key is not None and not table:
                self.logs_mentions[sub.commitment].pop(sub.key, None)
            self.logs_by_level[sub.commitment] -= 1
            self.logs_count -= 1
        elif kind == "account":
            table = self.accounts[sub.commitment].get(sub.key, {})
            table.pop(sub_id, None)
            if not table:
                self.accounts[sub.commitment].pop(sub.key, None)
            self.account_count -= 1
        else:
            table = self.signatures.get(sub.key, {})
            table.pop(sub_id, None)
            if not table:
                self.signatures.pop(sub.key, None)
        return True

    def drop_connection(self, conn) -> None:
        for sub_id in list(conn.subs):
            sub = self.by_id.get(sub_id)
            if sub is not None:
                self.remove(conn, sub.kind, sub_id)

    def is_active(self, sub: Subscription) -> bool:
        return self.by_id.get(sub.id) is sub

    # --- lookups ---
    def logs_subs(self, stored, level: str) -> list[Subscription]:
        subs = list(self.logs_all[level].values())
        mentions = self.logs_mentions[level]
        if mentions:
            for key in stored.account_keys:
                table = mentions.get(key)
                if table:
                    subs.extend(table.values())
        return subs

    def account_subs(self, key: str, level: str) -> list[Subscription]:
        table = self.accounts[level].get(key)
        return list(table.values()) if table else []

    def signature_subs(self, signature: str, level: str) -> list[Subscription]:
        table = self.signatures.get(signature)
        return [s for s in table.values() if s.commitment == level] if table else []

    def waiting_signatures(self) -> list[Subscription]:
        return [s for table in self.signatures.values() for s in table.values()]

    def received_subs(self, signature: str) -> list[Subscription]:
        table = self.signatures.get(signature)
        return [s for s in table.values() if s.received] if table else []
