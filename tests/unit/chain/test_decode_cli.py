"""`launchray decode FILE|-`: JSON lines out for good input; exit 2 with one stderr line for bad input."""
from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from actors.cli import main
from pipelines.chain import programs as P
from tests.conftest import FIXTURES, ROOT

RAYDIUM = FIXTURES / "raydium_amm_v4" / "initialize2_transactionNotifications.json"
CREATE = FIXTURES / "pumpfun" / "create_2024_getTransaction_jsonParsed.json"


def _run(argv, capsys, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    code = main(["decode", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_good_file_prints_one_json_object_per_event(capsys):
    code, out, err = _run([str(RAYDIUM)], capsys)
    assert code == 0 and err == ""
    lines = [json.loads(ln) for ln in out.splitlines()]
    assert [ln["kind"] for ln in lines] == ["pool_created", "pool_created"]
    assert list(lines[0])[:4] == ["kind", "venue", "signature", "slot"]
    assert [ln["migration"] for ln in lines] == [False, True]
    assert lines[1]["creator"] == P.PUMP_MIGRATION_SIGNER
    assert isinstance(lines[1]["amount_b"], int) and lines[1]["amount_b"] == 206_900_000_000_000  # raw integers


def test_stdin_dash(capsys, monkeypatch):
    code, out, _ = _run(["-"], capsys, CREATE.read_text(), monkeypatch)
    kinds = [json.loads(ln)["kind"] for ln in out.splitlines()]
    assert code == 0 and kinds == ["launch", "trade"]
    trade = json.loads(out.splitlines()[1])
    assert (trade["side"], trade["sol_amount"], trade["quote_mint"]) == ("buy", 1_100_000_000, P.WSOL_MINT)


def test_array_of_documents(capsys, monkeypatch, tmp_path):
    docs = json.loads(RAYDIUM.read_text()) + [json.loads(CREATE.read_text())]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(docs))
    code, out, _ = _run([str(path)], capsys)
    assert code == 0 and [json.loads(ln)["kind"] for ln in out.splitlines()] == \
        ["pool_created", "pool_created", "launch", "trade"]


@pytest.mark.parametrize("stdin,needle", [
    ("{not json", "invalid JSON"),
    ("", "empty input"),
    ("   \n", "empty input"),
    ('{"hello": 1}', "unrecognised document"),
    ('[{"jsonrpc": "2.0", "id": 1, "result": null}]', "document [0]"),
    ('{"program_id": "' + P.PUMP + '", "accounts": [], "data": "181ec828051c0777ffffffff"}', "instruction record"),
    ("[" * 50_000, "nested too deeply"),
])
def test_bad_input_exits_2_with_one_line(capsys, monkeypatch, stdin, needle):
    code, out, err = _run(["-"], capsys, stdin, monkeypatch)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_missing_file(capsys, tmp_path):
    code, out, err = _run([str(tmp_path / "nope.json")], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "cannot read" in err


def test_subprocess_binary_garbage_no_traceback(tmp_path):
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 4)
    proc = subprocess.run([sys.executable, "-m", "actors.cli", "decode", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
