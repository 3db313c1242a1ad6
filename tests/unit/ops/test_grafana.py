"""Dashboards query only metrics we export; `launchray grafana provision` against a fake Grafana on 127.0.0.1."""
import asyncio
import json
import re

import pytest
from aiohttp import web

from actors.cli import main as cli_main
from actors.commands.grafana import DASHBOARD_DIR, load_dashboards, provision
from actors.metrics import EXPORTED_NAMES, METRIC_NAMES

TOKEN = "glsa_testtoken_0123456789abcdef"
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_BY = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")


def panels(board):
    for p in board["panels"]:
        yield p
        yield from p.get("panels", [])   # collapsed rows


def exprs(board):
    for p in panels(board):
        for t in p.get("targets", []):
            yield p["title"], t["expr"]


def test_the_four_dashboards_exist_with_unique_uids():
    boards = load_dashboards(DASHBOARD_DIR)
    assert sorted(b["uid"] for b in boards) == ["launchray-execution", "launchray-overview", "launchray-pipeline",
                                                "launchray-rpc"]
    for b in boards:
        assert b["templating"]["list"][0]["type"] == "datasource"
        ids = [p["id"] for p in panels(b)]
        assert len(ids) == len(set(ids))


def test_every_panel_queries_only_exported_catalogue_metrics_with_their_labels():
    for board in load_dashboards(DASHBOARD_DIR):
        for p in panels(board):
            if p.get("type") == "row":
                continue
            assert p.get("targets"), f"{board['title']} / {p['title']}: no query"
            assert p["datasource"]["uid"] == "${datasource}"
        for title, expr in exprs(board):
            where = f"{board['title']} / {title}: {expr}"
            used = [m for m in _IDENT.findall(expr) if "launchray" in m]
            assert used, f"{where}: queries no launchray metric"
            for m in used:
                assert m in EXPORTED_NAMES, f"{where}: {m} is not exported (see actors/metrics.py)"
            allowed = {"le"} if any(m.endswith("_bucket") for m in used) else set()
            for m in used:
                allowed |= set(METRIC_NAMES[EXPORTED_NAMES[m]][2])
            for group in _BY.findall(expr):
                labels = {x.strip() for x in group.split(",") if x.strip()}
                assert labels <= allowed, f"{where}: groups by {labels - allowed}, not a tag of its metrics"
            for metric, matchers in _SELECTOR.findall(expr):
                names = set(re.findall(r"([a-zA-Z_]+)\s*(?:=~|!~|!=|=)", matchers))
                assert names <= set(METRIC_NAMES[EXPORTED_NAMES[metric]][2]), where


def test_every_catalogue_metric_is_on_some_dashboard():
    text = " ".join(e for b in load_dashboards(DASHBOARD_DIR) for _, e in exprs(b))
    shown = {EXPORTED_NAMES[m] for m in _IDENT.findall(text) if m in EXPORTED_NAMES}
    assert shown == set(METRIC_NAMES)


class FakeGrafana:
    """The four endpoints grafana-client calls for provisioning; records every request."""

    def __init__(self, folders=(), fail_status=None):
        self.folders = list(folders)
        self.fail_status = fail_status
        self.requests: list[tuple[str, str, dict | None, str]] = []
        self.dashboards: dict[str, dict] = {}

    async def _record(self, request):
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.method, request.path, body, request.headers.get("Authorization", "")))
        if self.fail_status:
            return web.json_response({"message": "invalid API key"}, status=self.fail_status)
        return None

    async def get_folders(self, request):
        return await self._record(request) or web.json_response(self.folders)

    async def create_folder(self, request):
        fail = await self._record(request)
        if fail:
            return fail
        body = self.requests[-1][2]
        folder = {"id": len(self.folders) + 1, "uid": body.get("uid") or "generated", "title": body["title"]}
        self.folders.append(folder)
        return web.json_response(folder)

    async def post_dashboard(self, request):
        fail = await self._record(request)
        if fail:
            return fail
        body = self.requests[-1][2]
        uid = body["dashboard"]["uid"]
        status = "success"
        if uid in self.dashboards and not body.get("overwrite"):
            return web.json_response({"status": "version-mismatch"}, status=412)
        self.dashboards[uid] = body
        return web.json_response({"id": len(self.dashboards), "uid": uid, "status": status, "version": 1,
                                  "url": f"/d/{uid}/x", "slug": "x"})

    async def start(self):
        app = web.Application()
        app.router.add_get("/api/folders", self.get_folders)
        app.router.add_post("/api/folders", self.create_folder)
        app.router.add_post("/api/dashboards/db", self.post_dashboard)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        return self

    async def stop(self):
        await self.runner.cleanup()


async def test_provision_creates_the_folder_and_posts_every_dashboard():
    fake = await FakeGrafana().start()
    boards = load_dashboards(DASHBOARD_DIR)
    try:
        results = await asyncio.to_thread(provision, fake.url, TOKEN, boards)
        # again: the folder exists now, dashboards are overwritten in place
        await asyncio.to_thread(provision, fake.url, TOKEN, boards)
    finally:
        await fake.stop()
    assert [r["status"] for r in results] == ["success"] * len(boards)
    calls = [(m, p) for m, p, _, _ in fake.requests]
    assert calls.count(("POST", "/api/folders")) == 1
    assert calls.count(("POST", "/api/dashboards/db")) == 2 * len(boards)
    assert all(auth == f"Bearer {TOKEN}" for *_, auth in fake.requests)
    assert set(fake.dashboards) == {b["uid"] for b in boards}
    for b in boards:
        posted = fake.dashboards[b["uid"]]
        assert posted["overwrite"] is True and posted["folderUid"] == "launchray"
        assert posted["dashboard"]["id"] is None
        assert posted["dashboard"]["panels"] == b["panels"]
    assert fake.folders == [{"id": 1, "uid": "launchray", "title": "launchray"}]


async def test_cli_provision_reports_each_dashboard(capsys):
    fake = await FakeGrafana(folders=[{"id": 7, "uid": "abc", "title": "launchray"}]).start()
    try:
        rc = await asyncio.to_thread(cli_main, ["grafana", "provision", "--url", fake.url, "--token", TOKEN])
    finally:
        await fake.stop()
    out = capsys.readouterr().out
    assert rc == 0
    assert "launchray / Overview: success /d/launchray-overview/x" in out
    assert all(body["folderUid"] == "abc" for m, p, body, _ in fake.requests if p == "/api/dashboards/db")
    assert ("POST", "/api/folders") not in [(m, p) for m, p, _, _ in fake.requests]


async def test_cli_provision_failure_is_reported_without_the_token(capsys, monkeypatch):
    fake = await FakeGrafana(fail_status=401).start()
    try:
        rc = await asyncio.to_thread(cli_main, ["grafana", "provision", "--url", fake.url, "--token", TOKEN])
    finally:
        await fake.stop()
    captured = capsys.readouterr()
    assert rc == 1 and "provisioning failed" in captured.err
    assert TOKEN not in captured.err + captured.out


def test_cli_needs_a_token(capsys, monkeypatch):
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    assert cli_main(["grafana", "provision", "--url", "http://127.0.0.1:1"]) == 2
    assert "no token" in capsys.readouterr().err


def test_a_broken_dashboard_file_is_named(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(ValueError, match="a.json"):
        load_dashboards(tmp_path)
    (tmp_path / "a.json").write_text(json.dumps({"title": "no uid"}))
    with pytest.raises(ValueError, match="uid"):
        load_dashboards(tmp_path)
