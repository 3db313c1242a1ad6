"""`launchray status`: the terminal dashboard, fed by the control API of a running system.

`--once` prints one frame (for scripts); otherwise the frame is redrawn every --interval seconds until Ctrl+C.
The token comes from --token, else LAUNCHRAY_API_TOKEN, else --token-file, else `<ledger dir>/api_token` of the
profile (where the ControlPlane writes the one it generated; with a per-run ledger path, the newest run's). Exit 2, with one line on stderr, when the API
cannot be reached or refuses the token.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HELP = "show the running system's dashboard (status, capital, positions, top tokens, health)"
DEFAULT_URL = "http://127.0.0.1:8787"
TIMEOUT_S = 10.0


class StatusError(Exception):
    """One line for the operator; exit code 2."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", default="", help=f"control API base URL (default: api.host/api.port of the profile, "
                                             f"{DEFAULT_URL})")
    p.add_argument("--token", default="", help="API token (default: $LAUNCHRAY_API_TOKEN, then the token file)")
    p.add_argument("--token-file", default="", help="file holding the token (default: <ledger dir>/api_token)")
    p.add_argument("--profile", default="sim", help="profile whose api and ledger settings to use (default: sim)")
    p.add_argument("--once", action="store_true", help="print one frame and exit")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between frames (default: 2)")
    p.add_argument("--top", type=int, default=5, help="top momentum tokens to show (default: 5)")
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal")


def _profile(name: str):
    """The profile with its paths where `launchray run` put them (under its data directory)."""
    import os

    from actors.commands.run import with_durable_paths
    from pipelines.config import ConfigError, load_config
    from pipelines.data_dir import DataDirError
    try:
        return with_durable_paths(load_config(name), os.environ)
    except (ConfigError, DataDirError):
        return None


def token_file_of(ledger_path: str) -> Path | None:
    """<ledger dir>/api_token; for a per-run ledger path ("var/sim/{run_id}/ledger.sqlite") the newest run's."""
    path = Path(ledger_path).parent / "api_token"
    if "{run_id}" not in str(path):
        return path
    runs = sorted(glob.glob(str(path).replace("{run_id}", "*")), key=os.path.getmtime)
    return Path(runs[-1]) if runs else None


def resolve(args: argparse.Namespace, env) -> tuple[str, str]:
    """(base URL, token)."""
    cfg = None
    url = args.url
    if not url:
        cfg = _profile(args.profile)
        url = f"http://{cfg.api.host}:{cfg.api.port}" if cfg is not None and cfg.api.port else DEFAULT_URL
    token = args.token or env.get("LAUNCHRAY_API_TOKEN", "")
    if not token:
        path = Path(args.token_file) if args.token_file else None
        if path is None:
            cfg = cfg or _profile(args.profile)
            if cfg is not None:
                path = token_file_of(cfg.ledger.path)
        if path is not None:
            try:
                token = path.read_text().strip()
            except OSError:
                token = ""
    return url.rstrip("/"), token


def fetch(url: str, path: str, token: str) -> dict:
    req = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}",
                                                      "Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise StatusError(f"the control API at {url} refused the token (401): pass --token, set "
                              "LAUNCHRAY_API_TOKEN, or point --token-file at <ledger dir>/api_token") from None
        if path == "/health" and exc.code == 503:   # an unhealthy system still answers its health
            try:
                return json.loads(exc.read())
            except ValueError:
                pass
        raise StatusError(f"the control API at {url} answered {exc.code} to {path}: {_message(exc)}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StatusError(f"cannot reach the control API at {url} ({reason}); is `launchray run` running?") from None
    except ValueError:
        raise StatusError(f"the control API at {url} answered {path} with something that is not JSON") from None


def _message(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read())["error"]["message"])[:200]
    except (ValueError, KeyError, TypeError, OSError):
        return exc.reason or "error"


def frame(url: str, token: str, top: int):
    from pipelines.status_view import Frame
    status = fetch(url, "/api/v1/status", token)
    health = fetch(url, "/health", token)
    positions = fetch(url, "/api/v1/positions", token).get("positions", [])
    tokens = fetch(url, f"/api/v1/tokens/top?n={max(1, min(100, top))}", token).get("tokens", [])
    return Frame(status=status, health=health, positions=positions, top=tokens, url=url)


def main(args: argparse.Namespace) -> int:
    from pipelines.status_view import render

    url, token = resolve(args, os.environ)
    if not token:
        print("launchray status: no API token: pass --token, set LAUNCHRAY_API_TOKEN, or use --token-file",
              file=sys.stderr)
        return 2
    colour = not args.no_color and not args.once and sys.stdout.isatty()
    try:
        if args.once:
            sys.stdout.write(render(frame(url, token, args.top), time.time(), colour=False))
            return 0
        while True:
            text = render(frame(url, token, args.top), time.time(), colour=colour)
            sys.stdout.write("\x1b[H\x1b[2J" + text + f"\n{url}  refresh {args.interval:g}s  Ctrl+C to quit\n")
            sys.stdout.flush()
            time.sleep(max(0.2, args.interval))
    except StatusError as exc:
        print(f"launchray status: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
