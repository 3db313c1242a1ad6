"""A Jupiter swap API (v6 shapes) routing over simnet's pools: pump.fun bonding curves and PumpSwap pools.

    GET  <jupiter>/quote?inputMint&outputMint&amount&slippageBps[&swapMode=ExactIn]
    POST <jupiter>/swap  {userPublicKey, quoteResponse, wrapAndUnwrapSol, dynamicComputeUnitLimit,
                          prioritizationFeeLamports}  -> {swapTransaction (base64 unsigned v0 tx), lastValidBlockHeight}

One side must be wrapped SOL. A coin still on its curve routes through pump.fun (buy_exact_sol_in / sell); a
migrated coin through its canonical PumpSwap pool (buy_exact_quote_in / sell, wrapping and unwrapping SOL).
Quotes use the market's ChainView, i.e. the programs' own integer math with the fee tier read from chain
state, so a swap built from a fresh quote executes exactly as quoted.
Errors are Jupiter's: HTTP 400 with {"error", "errorCode"}.
"""
from __future__ import annotations

import base64
import time

from aiohttp import web
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from pipelines.chain import curve, pda
from pipelines.chain import programs as P

from .jupiter_routes import Route, build_instructions, compute_budget
from .rpc import RpcNode

DEFAULT_SLIPPAGE_BPS = 50
DEFAULT_CU = {"Pump.fun": 150_000, "Pump.fun Amm": 250_000}
MAX_AUTO_PRIORITY_LAMPORTS = 5_000_000


class JupiterError(Exception):
    def __init__(self, message: str, code: str = "INVALID_REQUEST", status: int = 400) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status

    def response(self) -> web.Response:
        return web.json_response({"error": self.message, "errorCode": self.code}, status=self.status)


def _mint(query, name: str) -> str:
    value = query.get(name)
    if not value:
        raise JupiterError(f"Query parameter {name} is required")
    try:
        return str(Pubkey.from_string(value))
    except ValueError:
        raise JupiterError(f"Query parameter {name} cannot be parsed: Invalid") from None


def _int(value, name: str, lo: int, hi: int) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise JupiterError(f"Query parameter {name} cannot be parsed: invalid digit found in string") from None
    if not lo <= v <= hi:
        raise JupiterError(f"Query parameter {name} must be in {lo}..{hi}")
    return v


def _impact(amount_in: int, amount_out: int, reserve_in: int, reserve_out: int) -> str:
    """1 - executed / spot, both before fees, as Jupiter's decimal string."""
    if amount_in <= 0 or reserve_in <= 0 or reserve_out <= 0:
        return "0"
    spot_out = amount_in * reserve_out / reserve_in
    return f"{max(0.0, 1 - amount_out / spot_out):.10f}".rstrip("0").rstrip(".") or "0"


class JupiterApi:
    def __init__(self, node: RpcNode) -> None:
        self.node = node
        self._view = None

    @property
    def view(self):
        if self._view is None:
            from .market.execution import ChainView   # the market's quoting: the programs' math and fee reads
            self._view = ChainView(self.node.bank)
        return self._view

    # --- quote ---
    def quote(self, input_mint: str, output_mint: str, amount: int, slippage_bps: int) -> dict:
        if input_mint == output_mint:
            raise JupiterError("inputMint and outputMint must differ", "CIRCULAR_ARBITRAGE_IS_DISABLED")
        if P.WSOL_MINT not in (input_mint, output_mint):
            raise JupiterError("Could not find any route", "COULD_NOT_FIND_ANY_ROUTE")
        buy = input_mint == P.WSOL_MINT
        mint = output_mint if buy else input_mint
        route = self._route(mint, buy, amount)
        min_out = curve.slippage_min_out(route.out_amount, slippage_bps)
        return {
            "inputMint": input_mint, "inAmount": str(route.in_amount), "outputMint": output_mint,
            "outAmount": str(route.out_amount), "otherAmountThreshold": str(min_out), "swapMode": "ExactIn",
            "slippageBps": slippage_bps, "platformFee": None, "priceImpactPct": route.price_impact,
            "routePlan": [{"swapInfo": {
                "ammKey": route.amm_key, "label": route.label, "inputMint": input_mint, "outputMint": output_mint,
                "inAmount": str(route.in_amount), "outAmount": str(route.out_amount),
                "feeAmount": str(route.fee), "feeMint": P.WSOL_MINT}, "percent": 100}],
            "contextSlot": self.node.bank.slot, "timeTaken": 0.0,
        }

    def _route(self, mint: str, buy: bool, amount: int) -> Route:
        view = self.view
        bc = view.curve(mint)
        if bc is not None and not bc.complete:
            state = bc.state()
            mint_acc = self.node.bank.get_account(mint)
            token_program = str(mint_acc.owner) if mint_acc is not None else P.TOKEN
            if buy:
                q = view.quote_buy(state, amount)
                out, fee = q.tokens, q.protocol_fee + q.creator_fee
                impact = _impact(q.sol_cost, q.tokens, state.virtual_sol_reserves, state.virtual_token_reserves)
            else:
                q = view.quote_sell(state, amount)
                out, fee = q.net_sol, q.protocol_fee + q.creator_fee
                impact = _impact(amount, q.sol_out_gross, state.virtual_token_reserves, state.virtual_sol_reserves)
            if out <= 0:
                raise JupiterError("Could not find any route", "COULD_NOT_FIND_ANY_ROUTE")
            return Route("Pump.fun", str(pda.bonding_curve(mint)), mint, buy, amount, out, fee, impact,
                         creator=bc.creator, token_program=token_program)
        ps = view.pool(mint)
        if ps is None:
            raise JupiterError("The token is not tradable", "TOKEN_NOT_TRADABLE")
        try:
            if buy:
                q = view.quote_swap_buy(ps, amount)
                out, fee = q.base_out, q.lp_fee + q.protocol_fee + q.creator_fee
                impact = _impact(q.quote_in, q.base_out, ps.quote_reserve, ps.base_reserve)
            else:
                q = view.quote_swap_sell(ps, amount)
                out, fee = q.net_quote, q.lp_fee + q.protocol_fee + q.creator_fee
                impact = _impact(amount, q.quote_out_gross, ps.base_reserve, ps.quote_reserve)
        except ValueError:
            raise JupiterError("Could not find any route", "COULD_NOT_FIND_ANY_ROUTE") from None
        if out <= 0:
            raise JupiterError("Could not find any route", "COULD_NOT_FIND_ANY_ROUTE")
        return Route("Pump.fun Amm", ps.key, mint, buy, amount, out, fee, impact, pool=ps)

    async def handle_quote(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        q = request.query
        try:
            if q.get("swapMode", "ExactIn") != "ExactIn":
                raise JupiterError("swapMode ExactOut is not supported by simnet's routes", "NOT_SUPPORTED")
            result = self.quote(_mint(q, "inputMint"), _mint(q, "outputMint"),
                                _int(q.get("amount"), "amount", 1, 2**64 - 1),
                                _int(q.get("slippageBps", DEFAULT_SLIPPAGE_BPS), "slippageBps", 0, 10_000))
        except JupiterError as exc:
            return exc.response()
        result["timeTaken"] = round(time.perf_counter() - started, 6)
        return web.json_response(result)

    # --- swap ---
    def swap(self, body: dict) -> dict:
        try:
            user = Pubkey.from_string(body.get("userPublicKey") or "")
        except (ValueError, TypeError):
            raise JupiterError("userPublicKey is not a valid public key") from None
        quote = body.get("quoteResponse")
        if not isinstance(quote, dict) or not quote.get("routePlan"):
            raise JupiterError("quoteResponse is required (the object GET /quote returned)")
        try:
            info = quote["routePlan"][0]["swapInfo"]
            in_amount, threshold = int(quote["inAmount"]), int(quote["otherAmountThreshold"])
            input_mint, output_mint = quote["inputMint"], quote["outputMint"]
        except (KeyError, IndexError, TypeError, ValueError):
            raise JupiterError("quoteResponse is malformed") from None
        if P.WSOL_MINT not in (input_mint, output_mint):
            raise JupiterError("Could not find any route", "COULD_NOT_FIND_ANY_ROUTE")
        buy = input_mint == P.WSOL_MINT
        route = self._route(output_mint if buy else input_mint, buy, in_amount)
        if route.amm_key != info.get("ammKey"):
            raise JupiterError("the quoted route no longer exists (the coin migrated?): quote again",
                               "ROUTE_PLAN_DOES_NOT_CONSUME_ALL_THE_AMOUNT")
        wrap = body.get("wrapAndUnwrapSol", True) is not False
        ixs = build_instructions(route, user, threshold, self.view, wrap=wrap)
        blockhash, last_valid = self.node.bank.latest_blockhash()
        cu_limit = DEFAULT_CU[route.label]
        simulation_error = None
        if body.get("dynamicComputeUnitLimit"):
            sim = self.node.bank.simulate_transaction(self._unsigned(user, compute_budget(cu_limit, 0) + ixs,
                                                                      blockhash))
            if sim.err is None:
                cu_limit = min(1_400_000, max(1_000, sim.units_consumed * 12 // 10))
            else:
                simulation_error = {"error": sim.err, "errorCode": "TRANSACTION_SIMULATION_FAILED"}
        priority, tip = self._priority(body.get("prioritizationFeeLamports"))
        cu_price = priority * 1_000_000 // cu_limit if priority else 0
        if tip:
            from .jito import TIP_ACCOUNTS
            from pipelines.chain.builders import jito_tip
            ixs = ixs + [jito_tip(user, TIP_ACCOUNTS[self.node.bank.slot % len(TIP_ACCOUNTS)], tip)]
        stolen = self.node.faults.tamper_swap()
        if stolen:      # the compromised-API fault: the user's signature would pay a stranger
            ixs = ixs + [transfer(TransferParams(from_pubkey=user, to_pubkey=Pubkey.from_string(
                self.node.faults.stranger), lamports=stolen))]
        tx = self._unsigned(user, compute_budget(cu_limit, cu_price) + ixs, blockhash)
        return {"swapTransaction": base64.b64encode(bytes(tx)).decode(), "lastValidBlockHeight": last_valid,
                "prioritizationFeeLamports": -(-cu_limit * cu_price // 1_000_000), "computeUnitLimit": cu_limit,
                "prioritizationType": {"computeBudget": {"microLamports": cu_price,
                                                         "estimatedMicroLamports": cu_price}},
                "dynamicSlippageReport": None, "simulationError": simulation_error}

    def _priority(self, value) -> tuple[int, int]:
        """(priority fee lamports, jito tip lamports) from prioritizationFeeLamports."""
        if value is None:
            return 0, 0
        if isinstance(value, bool):
            raise JupiterError("prioritizationFeeLamports must be lamports, \"auto\" or an object")
        if isinstance(value, int):
            if value < 0:
                raise JupiterError("prioritizationFeeLamports must not be negative")
            return value, 0
        if value == "auto":
            fees = sorted(f for _, f in self.node.bank.recent_prioritization_fees([]) if f)
            micro = fees[len(fees) * 3 // 4] if fees else 0
            return min(MAX_AUTO_PRIORITY_LAMPORTS, micro * 200_000 // 1_000_000), 0
        if isinstance(value, dict):
            if isinstance(value.get("jitoTipLamports"), int) and value["jitoTipLamports"] > 0:
                return 0, value["jitoTipLamports"]
            level = value.get("priorityLevelWithMaxLamports")
            if isinstance(level, dict) and isinstance(level.get("maxLamports"), int) and level["maxLamports"] >= 0:
                return level["maxLamports"], 0
        raise JupiterError("prioritizationFeeLamports must be lamports, \"auto\" or an object")

    @staticmethod
    def _unsigned(user: Pubkey, ixs: list, blockhash) -> VersionedTransaction:
        msg = MessageV0.try_compile(user, ixs, [], blockhash)
        return VersionedTransaction.populate(msg, [Signature.default()] * msg.header.num_required_signatures)

    async def handle_swap(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return JupiterError("body must be JSON").response()
        if not isinstance(body, dict):
            return JupiterError("body must be a JSON object").response()
        try:
            return web.json_response(self.swap(body))
        except JupiterError as exc:
            return exc.response()
