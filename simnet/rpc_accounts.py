"""Account and token RPC methods: getAccountInfo, getMultipleAccounts, getBalance and the getToken* family.

Reads go through RpcNode.get_account at RpcNode.read_slot(), so the stale-reads fault serves old state with a
matching (older) context slot, like a lagging node would.
"""
from __future__ import annotations

from pipelines.chain import programs as P

from .parsed import ui_token_amount
from .render import ACCOUNT_ENCODINGS, check_slice_and_encoding, data_slice, mint_decimals_from, ui_account
from .rpc import (RpcNode, arg, check_min_context_slot, commitment, config, invalid_params, max_inputs, pubkey,
                  too_many)
from .token_data import TOKEN_PROGRAMS, decode_account, decode_mint

MAX_MULTIPLE_ACCOUNTS = 100
_NATIVE_MINT_DECIMALS = 9


def methods(node: RpcNode) -> dict:
    def read_config(params: list, i: int, name: str) -> tuple[dict, int]:
        if len(params) > i + 1:
            too_many(params)
        cfg = config(params, i, name)
        commitment(cfg)
        slot = node.read_slot()
        check_min_context_slot(cfg, slot)
        return cfg, slot

    def getter(slot: int):
        return lambda address: node.get_account(address, slot)

    def account_encoding(cfg: dict, default: str) -> tuple[str, tuple[int, int] | None]:
        enc = cfg.get("encoding") or default
        if enc not in ACCOUNT_ENCODINGS:
            listed = ", ".join(f"`{a}`" for a in ACCOUNT_ENCODINGS)
            raise invalid_params(f"Invalid params: unknown variant `{enc}`, expected one of {listed}.")
        sliced = data_slice(cfg)
        check_slice_and_encoding(enc, sliced)
        return enc, sliced

    def get_account_info(params: list):
        key = pubkey(arg(params, 0, "a string", (str,)))
        cfg, slot = read_config(params, 1, "RpcAccountInfoConfig")
        enc, sliced = account_encoding(cfg, "binary")
        get = getter(slot)
        return {"context": node.context(slot),
                "value": ui_account(get(key), enc, sliced, mint_decimals_from(get))}

    def get_multiple_accounts(params: list):
        keys = arg(params, 0, "a sequence", (list,))
        max_inputs(keys, MAX_MULTIPLE_ACCOUNTS)
        keys = [pubkey(k) for k in keys]
        cfg, slot = read_config(params, 1, "RpcAccountInfoConfig")
        enc, sliced = account_encoding(cfg, "base64")
        get = getter(slot)
        decimals = mint_decimals_from(get)
        return {"context": node.context(slot), "value": [ui_account(get(k), enc, sliced, decimals) for k in keys]}

    def get_balance(params: list):
        key = pubkey(arg(params, 0, "a string", (str,)))
        _, slot = read_config(params, 1, "RpcContextConfig")
        acc = node.get_account(key, slot)
        return {"context": node.context(slot), "value": 0 if acc is None else acc.lamports}

    def token_account(get, key):
        acc = get(key)
        if acc is None:
            raise invalid_params("Invalid param: could not find account")
        ta = decode_account(str(acc.owner), bytes(acc.data))
        if ta is None:
            raise invalid_params("Invalid param: not a Token account")
        return ta

    def mint_info(get, key):
        acc = get(key)
        if acc is None:
            raise invalid_params("Invalid param: could not find account")
        if str(acc.owner) not in TOKEN_PROGRAMS:
            raise invalid_params("Invalid param: not a Token mint")
        m = decode_mint(str(acc.owner), bytes(acc.data))
        if m is None:
            raise invalid_params("Invalid param: mint could not be unpacked")
        return m

    def get_token_account_balance(params: list):
        key = pubkey(arg(params, 0, "a string", (str,)))
        cfg, slot = read_config(params, 1, "CommitmentConfig")
        get = getter(slot)
        ta = token_account(get, key)
        decimals = _NATIVE_MINT_DECIMALS if ta.mint == P.WSOL_MINT else None
        if decimals is None:
            decimals = mint_decimals_from(get)(ta.mint)
            if decimals is None:
                raise invalid_params("Invalid param: mint could not be unpacked")
        return {"context": node.context(slot), "value": ui_token_amount(ta.amount, decimals)}

    def get_token_supply(params: list):
        key = pubkey(arg(params, 0, "a string", (str,)))
        _, slot = read_config(params, 1, "CommitmentConfig")
        m = mint_info(getter(slot), key)
        return {"context": node.context(slot), "value": ui_token_amount(m.supply, m.decimals)}

    def get_token_largest_accounts(params: list):
        key = pubkey(arg(params, 0, "a string", (str,)))
        _, slot = read_config(params, 1, "CommitmentConfig")
        get = getter(slot)
        m = mint_info(get, key)
        rows = []
        for address, amount in node.bank.token_largest_accounts(key, 20):
            if slot != node.bank.slot:            # stale reads: amounts as of the old slot
                acc = get(address)
                ta = None if acc is None else decode_account(str(acc.owner), bytes(acc.data))
                if ta is None:
                    continue
                amount = ta.amount
            rows.append({"address": str(address), **ui_token_amount(amount, m.decimals)})
        rows.sort(key=lambda r: -int(r["amount"]))
        return {"context": node.context(slot), "value": rows}

    def get_token_accounts_by_owner(params: list):
        owner = pubkey(arg(params, 0, "a string", (str,)))
        filt = arg(params, 1, "struct RpcTokenAccountsFilter", (dict,))
        cfg, slot = read_config(params, 2, "RpcAccountInfoConfig")
        enc, sliced = account_encoding(cfg, "binary")
        get = getter(slot)
        if set(filt) == {"mint"}:
            mint = pubkey(filt["mint"])
            if str(mint) != P.WSOL_MINT and get(mint) is None and node.bank.get_account(mint) is None:
                raise invalid_params("Invalid param: could not find mint")
            found = node.bank.token_accounts_by_owner(owner, mint=mint)
        elif set(filt) == {"programId"}:
            program = pubkey(filt["programId"])
            if str(program) not in TOKEN_PROGRAMS:
                raise invalid_params("Invalid param: unrecognized Token program id")
            found = node.bank.token_accounts_by_owner(owner, program_id=program)
        else:
            raise invalid_params("Invalid params: expected {\"mint\": <pubkey>} or {\"programId\": <pubkey>}.")
        decimals = mint_decimals_from(get)
        value = []
        for address, acc in found:
            if slot != node.bank.slot:
                acc = get(address)
                if acc is None:
                    continue
            value.append({"account": ui_account(acc, enc, sliced, decimals), "pubkey": str(address)})
        return {"context": node.context(slot), "value": value}

    return {
        "getAccountInfo": get_account_info,
        "getMultipleAccounts": get_multiple_accounts,
        "getBalance": get_balance,
        "getTokenAccountBalance": get_token_account_balance,
        "getTokenSupply": get_token_supply,
        "getTokenLargestAccounts": get_token_largest_accounts,
        "getTokenAccountsByOwner": get_token_accounts_by_owner,
    }
