"""What a landed transaction did to our wallet: the live executor's fills come from the chain, not from quotes.

Lamports are the wallet's SOL balance change (everything included: curve fees, network and priority fees,
tip, and the rent of a token account the transaction created), tokens the change of the wallet's balance
of the mint; the venue fees inside are read from the transaction's own trade events.
"""
from __future__ import annotations

from pipelines.chain.decode import decode_transaction
from pipelines.chain.errors import DecodeError
from pipelines.chain.events import Trade
from pipelines.messages import Fill, Side


def _account_keys(result: dict) -> list[str]:
    msg = result["transaction"]["message"]
    keys = [k if isinstance(k, str) else k["pubkey"] for k in msg["accountKeys"]]
    loaded = (result.get("meta") or {}).get("loadedAddresses") or {}
    return keys + list(loaded.get("writable", [])) + list(loaded.get("readonly", []))


def _token_amount(balances: list[dict], owner: str, mint: str) -> int:
    return sum(int(b["uiTokenAmount"]["amount"]) for b in balances or ()
               if b.get("owner") == owner and b.get("mint") == mint)


def fill_from_transaction(result: dict, order_id: str, wallet: str, mint: str, side: Side, ts: float) -> Fill:
    """A Fill from a getTransaction result (json encoding) of a landed, successful transaction."""
    meta = result.get("meta") or {}
    if meta.get("err") is not None:
        raise DecodeError(f"transaction failed on chain: {meta['err']}")
    try:
        keys = _account_keys(result)
        i = keys.index(wallet)
        sol_delta = meta["postBalances"][i] - meta["preBalances"][i]
        tok_delta = (_token_amount(meta.get("postTokenBalances"), wallet, mint)
                     - _token_amount(meta.get("preTokenBalances"), wallet, mint))
        signature = result["transaction"]["signatures"][0]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise DecodeError(f"transaction does not show the wallet's balances: {exc}") from None
    venue_fees = sum(ev.fee + ev.creator_fee for ev in decode_transaction(result)
                     if isinstance(ev, Trade) and ev.mint == mint and ev.user == wallet)
    lamports = -sol_delta if side is Side.BUY else sol_delta
    tokens = tok_delta if side is Side.BUY else -tok_delta
    if tokens <= 0:
        raise DecodeError(f"transaction moved {tok_delta} tokens of {mint} for a {side.value}")
    return Fill(order_id=order_id, mint=mint, side=side, lamports=lamports, tokens=tokens,
                fee_lamports=int(meta.get("fee", 0)) + venue_fees, price=abs(lamports) / tokens,
                slot=int(result.get("slot", 0)), ts=ts, signature=signature, quote_slot=int(result.get("slot", 0)))
