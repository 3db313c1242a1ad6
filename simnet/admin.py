"""Admin endpoints for tests and operators: faults, the market's ground truth, airdrops, manual slots, status,
and completing a coin's curve (the market then migrates it)."""
from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

from aiohttp import web

from .faults import FaultError

if TYPE_CHECKING:
    from .server import Simnet

GROUND_TRUTH_KEYS = ("launches", "trades", "rugs", "migrations")


def _jsonable(obj):
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.hex()
    return str(obj)


def _json(data, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, default=_jsonable), status=status, content_type="application/json")


def _bad(message: str) -> web.Response:
    return _json({"error": message}, status=400)


async def _body(request: web.Request) -> dict | None:
    try:
        data = await request.json() if await request.read() else {}
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def add_admin_routes(app: web.Application, sn: "Simnet") -> None:
    async def get_faults(request: web.Request) -> web.Response:
        return _json(sn.faults.snapshot())

    async def post_faults(request: web.Request) -> web.Response:
        body = await _body(request)
        if body is None:
            return _bad("body must be a JSON object")
        try:
            sn.faults.configure(body)
        except FaultError as exc:
            return _bad(str(exc))
        return _json(sn.faults.snapshot())

    async def ground_truth(request: web.Request) -> web.Response:
        truth = {k: [] for k in GROUND_TRUTH_KEYS}
        if sn.market is not None:
            given = sn.market.ground_truth() or {}
            truth.update({k: list(v) for k, v in dict(given).items()})
        return _json(truth)

    async def airdrop(request: web.Request) -> web.Response:
        body = await _body(request)
        if body is None:
            return _bad("body must be a JSON object")
        address, lamports = body.get("address"), body.get("lamports")
        if not isinstance(lamports, int) or isinstance(lamports, bool) or lamports <= 0:
            return _bad("lamports must be a positive integer")
        try:
            from solders.pubkey import Pubkey
            Pubkey.from_string(address)
        except (ValueError, TypeError):
            return _bad("address must be a base58 public key")
        try:
            signature = sn.bank.airdrop(address, lamports)
        except RuntimeError as exc:
            return _bad(str(exc))
        return _json({"signature": signature, "slot": sn.bank.slot})

    async def advance_slot(request: web.Request) -> web.Response:
        body = await _body(request)
        n = 1 if body is None else body.get("slots", 1)
        if not isinstance(n, int) or isinstance(n, bool) or not 0 < n <= 10_000:
            return _bad("slots must be an integer in 1..10000")
        for _ in range(n):
            sn.bank.advance_slot()
        return _json({"slot": sn.bank.slot, "blockHeight": sn.bank.block_height})

    async def complete_curve(request: web.Request) -> web.Response:
        # the drill's way to make a held coin migrate: the market's own whale buy + migration bot, not a shortcut
        body = await _body(request)
        if body is None:
            return _bad("body must be a JSON object")
        mint = body.get("mint")
        try:
            from solders.pubkey import Pubkey
            Pubkey.from_string(mint)
        except (ValueError, TypeError):
            return _bad("mint must be a base58 public key")
        if sn.market is None or not hasattr(sn.market, "complete_curve"):
            return _json({"error": "simnet runs no market"}, status=409)
        try:
            slot = sn.market.complete_curve(mint)
        except ValueError as exc:
            return _json({"error": str(exc)}, status=409)
        return _json({"mint": mint, "slot": slot})

    async def status(request: web.Request) -> web.Response:
        return _json({"slot": sn.bank.slot, "blockHeight": sn.bank.block_height,
                      "wsConnections": len(sn.pubsub.connections),
                      "notificationsDelivered": sn.pubsub.delivered, "faults": sn.faults.snapshot(),
                      "urls": {"http": sn.http_url, "ws": sn.ws_url, "jupiter": sn.jupiter_url, "jito": sn.jito_url}})

    async def wallet(request: web.Request) -> web.Response:
        address = request.query.get("address", "")
        try:
            from solders.pubkey import Pubkey
            Pubkey.from_string(address)
        except (ValueError, TypeError):
            return _bad("address must be a base58 public key")
        return _json(wallet_truth(sn.bank, address))

    app.router.add_get("/admin/wallet", wallet)
    app.router.add_get("/admin/faults", get_faults)
    app.router.add_post("/admin/faults", post_faults)
    app.router.add_get("/admin/ground_truth", ground_truth)
    app.router.add_post("/admin/airdrop", airdrop)
    app.router.add_post("/admin/advance_slot", advance_slot)
    app.router.add_get("/admin/status", status)
    app.router.add_post("/admin/complete_curve", complete_curve)


def wallet_truth(bank, address: str) -> dict:
    """What the chain knows of one wallet: balances, and every stored transaction that touched it, with the
    wallet's own lamport and token changes (the drill compares them with launchray's ledger)."""
    from pipelines.chain.mint import decode_token_account
    tokens: dict[str, int] = {}
    for _, acct in bank.token_accounts_by_owner(address):
        ta = decode_token_account(bytes(acct.data), str(acct.owner))
        tokens[str(ta.mint)] = tokens.get(str(ta.mint), 0) + ta.amount
    txs, before = [], None
    while True:
        page = bank.signatures_for_address(address, before=before, limit=1000)
        for info in page:
            stored = bank.get_transaction(info.signature)
            if stored is not None:
                txs.append(_wallet_tx(stored, address))
        if len(page) < 1000:
            break
        before = page[-1].signature
    return {"address": address, "slot": bank.slot, "lamports": bank.get_balance(address), "tokens": tokens,
            "transactions": txs}


def _wallet_tx(stored, address: str) -> dict:
    r = stored.result
    keys = stored.account_keys
    i = keys.index(address) if address in keys else -1
    delta = r.post_balances[i] - r.pre_balances[i] if 0 <= i < len(r.post_balances) else 0
    token_deltas: dict[str, int] = {}
    for sign, balances in ((-1, r.pre_token_balances), (1, r.post_token_balances)):
        for tb in balances:
            if tb.owner == address:
                token_deltas[tb.mint] = token_deltas.get(tb.mint, 0) + sign * tb.amount
    msg = stored.transaction.message
    n_signers = msg.header.num_required_signatures
    return {"signature": stored.signature, "slot": stored.slot, "err": r.err,
            "signer": address in [str(k) for k in list(msg.account_keys)[:n_signers]],
            "lamports_delta": delta, "token_deltas": {m: d for m, d in token_deltas.items() if d}}
