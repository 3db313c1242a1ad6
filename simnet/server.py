"""simnet assembled: the bank, the slot clock, JSON-RPC over HTTP, WebSocket pubsub on the next port (as
solana-test-validator does), the Jupiter and Jito APIs and the admin endpoints, all on 127.0.0.1.

    async with Simnet(cfg) as sn:            # cfg: SimnetConfig, a whole Config, or None for defaults
        sn.http_url, sn.ws_url, sn.jupiter_url, sn.jito_url, sn.admin_url, sn.bank

    with SimnetThread(cfg) as sn:            # the same in a background thread with its own loop
        sn.call(lambda: sn.bank.airdrop(addr, 10**9))   # bank work must run on simnet's loop

HTTP routes: POST / (JSON-RPC), GET /health, GET <jupiter>/quote, POST <jupiter>/swap,
POST <jito>/api/v1/bundles, POST <jito>/api/v1/transactions, GET|POST /admin/faults, GET /admin/ground_truth,
POST /admin/airdrop, POST /admin/advance_slot, GET /admin/status, GET /admin/wallet?address=.
"""
from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from typing import Any

from aiohttp import web

from pipelines.config import Config, SimnetConfig

from .admin import add_admin_routes
from .clock import SlotClock
from .faults import Faults
from .history import AccountHistory
from .jito import JitoEngine
from .pubsub import PubsubServer
from .rpc import Dispatcher, RpcNode, build_methods
from .send_faults import HeldTransactions, SlotTimes

log = logging.getLogger(__name__)

JUPITER_PREFIX = "/jupiter"
JITO_PREFIX = "/jito"
_JSON = "application/json"


def _simnet_config(cfg: SimnetConfig | Config | None) -> SimnetConfig:
    if cfg is None:
        return SimnetConfig()
    if isinstance(cfg, Config):
        return cfg.simnet
    return cfg


def _bind_pair(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """Listening sockets on port and port + 1 (port 0: any free pair)."""
    def bind(p: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, p))
        except OSError:
            s.close()
            raise
        return s

    if port:
        first = bind(port)
        try:
            return first, bind(port + 1)
        except OSError:
            first.close()
            raise
    for _ in range(100):
        first = bind(0)
        p = first.getsockname()[1]
        if p >= 65535:
            first.close()
            continue
        try:
            return first, bind(p + 1)
        except OSError:
            first.close()
    raise OSError("no free pair of adjacent ports for simnet")


class Simnet:
    def __init__(self, cfg: SimnetConfig | Config | None = None, *, market: Any = None, bank: Any = None,
                 tick: bool = True, account_history: bool = True) -> None:
        self.cfg = _simnet_config(cfg)
        self.market = market
        if bank is None:
            bank = getattr(market, "bank", None)
        if bank is None:
            from .bank import Bank
            bank = Bank(seed=self.cfg.seed)
        self.bank = bank
        self.faults = Faults(dict(self.cfg.faults), seed=self.cfg.seed)
        self.history = AccountHistory()
        # Account history costs every account write; it is always kept unless turned off, and then only while
        # the stale-reads fault needs it.
        self.account_history = account_history
        self._history_attached = False
        self.node = RpcNode(bank, self.faults, self.history, held=HeldTransactions(bank), slot_times=SlotTimes())
        self.methods = build_methods(self.node)
        self.rpc = Dispatcher(self.methods)
        self.pubsub = PubsubServer(bank, self.faults)
        self.node.on_sent.append(self.pubsub.on_received)
        self.jito = JitoEngine(self.node, self.methods["sendTransaction"])
        self.jupiter = _make_jupiter(self)
        self.clock = SlotClock(bank, slot_ms=self.cfg.slot_ms, speed=self.cfg.speed,
                               before_advance=getattr(market, "on_slot", None)) if tick else None
        self._runners: list[web.AppRunner] = []
        self.host = self.cfg.host
        self.http_port = 0
        self.ws_port = 0

    def attach_market(self, market: Any) -> None:
        """Start (or, with None, stop) the market: it acts in each slot before the slot closes."""
        self.market = market
        if self.clock is not None:
            self.clock.before_advance = getattr(market, "on_slot", None)

    # --- urls ---
    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}"

    @property
    def jupiter_url(self) -> str:
        return self.http_url + JUPITER_PREFIX

    @property
    def jito_url(self) -> str:
        return self.http_url + JITO_PREFIX

    @property
    def admin_url(self) -> str:
        return self.http_url + "/admin"

    # --- lifecycle ---
    async def start(self) -> "Simnet":
        loop = asyncio.get_running_loop()
        self.pubsub.bind_loop(loop)
        self.bank.add_listener(self.pubsub)
        self.bank.add_listener(self.node.held)
        self.bank.add_listener(self.node.slot_times)
        self.faults.on_change(self._track_history)
        http_sock, ws_sock = _bind_pair(self.host, self.cfg.port)
        self.http_port = http_sock.getsockname()[1]
        self.ws_port = ws_sock.getsockname()[1]
        for app, sock in ((self._http_app(), http_sock), (self.pubsub.app(), ws_sock)):
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            await web.SockSite(runner, sock, shutdown_timeout=0.5).start()
            self._runners.append(runner)
        if self.clock is not None:
            self.clock.start()
        return self

    def attach_market(self, market: Any) -> None:
        """Let `market` act in every slot from now on (None detaches); its ground truth is served at /admin."""
        self.market = market
        if self.clock is not None:
            self.clock.before_advance = getattr(market, "on_slot", None)

    def _track_history(self, settings) -> None:
        """Attach the account history listener when it is wanted (always, or while stale reads are on)."""
        wanted = self.account_history or bool(settings.stale_slots)
        if wanted and not self._history_attached:
            self.history.clear()
            self.bank.add_listener(self.history)
            self._history_attached = True
        elif not wanted and self._history_attached:
            self.bank.remove_listener(self.history)
            self._history_attached = False

    async def stop(self) -> None:
        if self.clock is not None:
            await self.clock.stop()
        self.pubsub.disconnect_all()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        for listener in (self.pubsub, self.node.held, self.node.slot_times):
            self.bank.remove_listener(listener)
        if self._history_attached:
            self.bank.remove_listener(self.history)
            self._history_attached = False

    async def __aenter__(self) -> "Simnet":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # --- HTTP ---
    def _http_app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/", self._rpc_handler(self.rpc))
        app.router.add_get("/", self._method_not_allowed)
        app.router.add_get("/health", self._health)
        app.router.add_post(JITO_PREFIX + "/api/v1/bundles", self._rpc_handler(self.jito.bundles_dispatcher))
        app.router.add_post(JITO_PREFIX + "/api/v1/transactions",
                            self._rpc_handler(self.jito.transactions_dispatcher))
        if self.jupiter is not None:
            app.router.add_get(JUPITER_PREFIX + "/quote", self._faulted(self.jupiter.handle_quote, "jupiter/quote"))
            app.router.add_post(JUPITER_PREFIX + "/swap", self._faulted(self.jupiter.handle_swap, "jupiter/swap"))
        add_admin_routes(app, self)
        return app

    async def _fault_gate(self, methods: frozenset[str] = frozenset()) -> web.Response | None:
        """Apply the HTTP faults to one request calling `methods`; a response when it must fail."""
        faults = self.faults
        if not faults.active:
            return None
        delay = faults.latency_s()
        if delay:
            await asyncio.sleep(delay)
        hang = faults.timeout_hang_s(methods)
        if hang:
            await asyncio.sleep(hang)
        status = faults.http_status(methods)
        if status == 429:
            return web.json_response({"jsonrpc": "2.0", "error": {"code": 429, "message": "Too many requests"},
                                      "id": None}, status=429)
        if status is not None:
            return web.Response(status=status, text="Service Unavailable")
        return None

    def _rpc_handler(self, dispatcher: Dispatcher):
        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            if self.faults.active:
                failed = await self._fault_gate(rpc_methods(body) if self.faults.needs_method else frozenset())
                if failed is not None:
                    return failed
            out = dispatcher.handle(body)
            return web.Response(body=b"" if out is None else out.encode(), content_type=_JSON)
        return handle

    def _faulted(self, handler, name: str):
        async def handle(request: web.Request) -> web.StreamResponse:
            failed = await self._fault_gate(frozenset((name,)))
            return failed if failed is not None else await handler(request)
        return handle

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _method_not_allowed(self, request: web.Request) -> web.Response:
        return web.Response(status=405, text="Used HTTP Method is not allowed. POST or OPTIONS is required")


def rpc_methods(body: bytes) -> frozenset[str]:
    """The JSON-RPC method names a request body calls (empty when it is not JSON-RPC)."""
    try:
        req = json.loads(body)
    except (ValueError, RecursionError):
        return frozenset()
    items = req if isinstance(req, list) else [req]
    return frozenset(r["method"] for r in items if isinstance(r, dict) and isinstance(r.get("method"), str))


def _make_jupiter(sn: Simnet):
    try:
        from .jupiter import JupiterApi
    except ImportError as exc:  # the pool math it needs is written concurrently; run without it meanwhile
        log.warning("simnet Jupiter API disabled: %s", exc)
        return None
    return JupiterApi(sn.node)


class SimnetThread:
    """Simnet on a background thread with its own event loop, for synchronous callers."""

    def __init__(self, cfg: SimnetConfig | Config | None = None, **kwargs: Any) -> None:
        self._cfg = cfg
        self._kwargs = kwargs
        self.simnet: Simnet | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None

    def start(self, timeout: float = 30.0) -> "SimnetThread":
        self._thread = threading.Thread(target=self._main, name="simnet", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("simnet did not start in time")
        if self._error is not None:
            raise RuntimeError(f"simnet failed to start: {self._error}") from self._error
        return self

    def _main(self) -> None:
        loop = self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        try:
            self.simnet = await Simnet(self._cfg, **self._kwargs).start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            await self.simnet.stop()

    def stop(self, timeout: float = 10.0) -> None:
        if self.loop is not None and self._stopping is not None and self._thread and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout)

    def call(self, fn, *args, timeout: float = 30.0):
        """Run fn(*args) on simnet's loop (the bank is single-threaded) and return its result."""
        async def run():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def __enter__(self) -> "SimnetThread":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __getattr__(self, name: str):
        # http_url, ws_url, jupiter_url, jito_url, admin_url, bank, faults, ...
        simnet = self.__dict__.get("simnet")
        if simnet is None:
            raise AttributeError(name)
        return getattr(simnet, name)
