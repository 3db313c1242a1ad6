"""`launchray grafana provision --url URL --token T`: push conf/grafana/*.json dashboards into a "launchray" folder.

Uses grafana-client (GrafanaApi.from_url, folder.*, dashboard.update_dashboard with overwrite), so re-running it
updates the dashboards in place (they keep their uids). The dashboards query a Prometheus data source chosen
in Grafana through their `datasource` variable. The token may come from GRAFANA_TOKEN instead of the command line
(a command line is visible to every user of the machine).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HELP = "provision the launchray Grafana dashboards (grafana provision --url URL --token T)"
DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "conf" / "grafana"
FOLDER_TITLE = "launchray"
FOLDER_UID = "launchray"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="grafana_action", metavar="ACTION")
    p = sub.add_parser("provision", help="create or update the dashboards in Grafana")
    p.add_argument("--url", required=True, help="Grafana base URL, e.g. http://127.0.0.1:3000")
    p.add_argument("--token", default=None, help="service account token (default: $GRAFANA_TOKEN)")
    p.add_argument("--dir", default=str(DASHBOARD_DIR), help="dashboard JSON folder (default: conf/grafana)")
    p.add_argument("--folder", default=FOLDER_TITLE, help="Grafana folder title (default: launchray)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request")


def load_dashboards(folder: str | Path) -> list[dict]:
    """Every *.json dashboard in `folder`, sorted by file name; raises ValueError naming a broken file."""
    out = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            board = json.loads(path.read_text())
        except ValueError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from None
        if not isinstance(board, dict) or not board.get("uid") or not board.get("title"):
            raise ValueError(f"{path}: a dashboard needs a uid and a title")
        out.append(board)
    return out


def ensure_folder(api, title: str, uid: str) -> str:
    """The uid of the folder titled `title`, created (with `uid`) if there is none."""
    for folder in api.folder.get_all_folders() or []:
        if folder.get("title") == title:
            return folder["uid"]
    return api.folder.create_folder(title, uid=uid or None)["uid"]


def provision(url: str, token: str, dashboards: list[dict], folder_title: str = FOLDER_TITLE,
              timeout: float = 10.0) -> list[dict]:
    """Create the folder if needed and post every dashboard with overwrite; returns Grafana's answers."""
    from grafana_client import GrafanaApi

    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    folder_uid = ensure_folder(api, folder_title, FOLDER_UID if folder_title == FOLDER_TITLE else "")
    results = []
    for board in dashboards:
        body = {"dashboard": {**board, "id": None}, "folderUid": folder_uid, "overwrite": True,
                "message": "launchray grafana provision"}
        results.append(api.dashboard.update_dashboard(body))
    return results


def main(args: argparse.Namespace) -> int:
    if getattr(args, "grafana_action", None) != "provision":
        print("usage: launchray grafana provision --url URL [--token T]", file=sys.stderr)
        return 2
    token = args.token or os.environ.get("GRAFANA_TOKEN", "")
    if not token:
        print("grafana: no token (--token or GRAFANA_TOKEN)", file=sys.stderr)
        return 2
    try:
        boards = load_dashboards(args.dir)
    except (OSError, ValueError) as exc:
        print(f"grafana: {exc}", file=sys.stderr)
        return 1
    if not boards:
        print(f"grafana: no dashboards in {args.dir}", file=sys.stderr)
        return 1
    try:
        results = provision(args.url, token, boards, args.folder, args.timeout)
    except Exception as exc:  # noqa: BLE001 - report, never print the token
        from pipelines.redaction import Redactor

        message = Redactor([token])(str(exc))
        print(f"grafana: provisioning failed: {type(exc).__name__}: {message}", file=sys.stderr)
        return 1
    for board, result in zip(boards, results):
        print(f"{board['title']}: {result.get('status', 'ok')} {result.get('url', '')}".rstrip())
    return 0
