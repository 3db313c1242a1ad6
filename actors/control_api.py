"""The control API's HTTP layer (aiohttp): routes from `pipelines.api_models.ROUTES`, bearer-token auth, JSON
bodies parsed into the pydantic request models, and every error as {"error": {"code", "message"}}.

The operations themselves are methods of a backend (the ControlPlane actor) named `api_<op>`; this module only
turns HTTP into calls and answers into HTTP, so the mapping of failures to status codes lives in one place:
    400 bad_json           the body is not JSON
    401 unauthorized       missing or wrong token (also for unknown routes: no route listing without a token)
    404 not_found          unknown route;  unknown_token / unknown_trade from the operations
    405 method_not_allowed
    409 conflict           the operation conflicts with the current state (executed/expired trade, halted)
    413 too_large          body over MAX_BODY
    422 invalid            valid JSON, invalid values; the message names the key
    503 unavailable        an actor did not answer
"""
from __future__ import annotations

import hmac
import json
import logging
from typing import Any, Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel, ValidationError

from pipelines.api_models import ROUTES, Route

log = logging.getLogger("launchray.control")

MAX_BODY = 64 * 1024
PUBLIC_PATHS = frozenset(r.path for r in ROUTES if not r.auth)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def validation_message(exc: ValidationError, limit: int = 5) -> str:
    """Each problem with its key: "mode: Input should be 'exits_only' or 'flatten'; x: unknown field"."""
    out = []
    for err in exc.errors()[:limit]:
        key = ".".join(str(x) for x in err["loc"]) or "(body)"
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        out.append(f"{key}: {msg}")
    return "; ".join(out)


async def parse_body(request: web.Request, model: type[BaseModel], required: bool) -> Any:
    """The request body as `model`; an empty body is the model's defaults when not `required`."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise ApiError(400, "bad_json", "a JSON body is required")
        return model.model_validate({})
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid", "(body): expected a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid", validation_message(exc)) from None


def _token_ok(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def make_app(backend: Any, token: str) -> web.Application:
    """The aiohttp app for `backend` (an object with async api_<op>(request, route) methods)."""

    @web.middleware
    async def errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except web.HTTPNotFound:
            return error_response(404, "not_found", f"no route {request.method} {request.path}")
        except web.HTTPMethodNotAllowed as exc:
            return error_response(405, "method_not_allowed",
                                  f"{request.method} not allowed on {request.path} (allowed: "
                                  f"{', '.join(sorted(exc.allowed_methods))})")
        except web.HTTPRequestEntityTooLarge:
            return error_response(413, "too_large", f"body over {MAX_BODY} bytes")
        except web.HTTPException as exc:
            return error_response(exc.status, "http_error", exc.reason)
        except Exception:   # a bug must cost one request, never the server; the log has the traceback
            log.exception("control API %s %s failed", request.method, request.path)
            return error_response(500, "internal", "internal error (see the control plane log)")

    @web.middleware
    async def auth(request: web.Request, handler):
        if request.path not in PUBLIC_PATHS and not _token_ok(request, token):
            return error_response(401, "unauthorized", "missing or wrong bearer token "
                                  "(Authorization: Bearer <token>; see LAUNCHRAY_API_TOKEN or <ledger dir>/api_token)")
        return await handler(request)

    app = web.Application(middlewares=[errors, auth], client_max_size=MAX_BODY)
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _handler(backend, route))
    return app


def _handler(backend: Any, route: Route):
    op = getattr(backend, f"api_{route.op}")

    async def handle(request: web.Request) -> web.StreamResponse:
        args: dict[str, Any] = {}
        if route.request is not None and route.op != "patch_config":
            optional = route.op in ("pause", "resume")
            args["body"] = await parse_body(request, route.request, required=not optional)
        elif route.op == "patch_config":
            raw = await request.read()
            try:
                args["body"] = json.loads(raw) if raw.strip() else None
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiError(400, "bad_json", f"body is not valid JSON: {exc}") from None
            args["who"] = "api" + (f":{_operator(request)}" if _operator(request) else "")
        if route.query:
            args["query"] = dict(request.query)
        for name in route.path_params:
            args[name] = request.match_info[name]
        result = await op(**args)
        if isinstance(result, web.StreamResponse):
            return result
        status = route.status
        if isinstance(result, tuple):       # (model, status) when the status depends on the answer (/health)
            result, status = result
        return web.json_response(result.model_dump(mode="json"), status=status)

    handle.__name__ = route.op
    return handle


def _operator(request: web.Request) -> str:
    """Who made a config change, from the optional X-Launchray-Operator header (printable, short)."""
    raw = request.headers.get("X-Launchray-Operator", "")
    return "".join(ch for ch in raw if ch.isprintable() and ch not in "\"'\\")[:40]
