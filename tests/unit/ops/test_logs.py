import json
import logging
import os
import time

import pytest
from solders.keypair import Keypair
from solders.signature import Signature

from actors.logs import SIGNALS, TRADES, RetentionFileHandler, log_event, setup_logging
from pipelines.config import LoggingConfig
from pipelines.redaction import Redactor, is_keypair_base58, redact_patterns

API_TOKEN = "api-token-0f3c9a7e5b1d"


@pytest.fixture
def logs(tmp_path):
    setup = setup_logging(LoggingConfig(dir=str(tmp_path / "logs"), level="DEBUG"), secrets=[API_TOKEN])
    yield setup
    setup.close()


def read(setup, category) -> list[dict]:
    for h in setup.handlers.values():
        h.flush()
    path = setup.paths()[category]
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def all_text(setup) -> str:
    for h in setup.handlers.values():
        h.flush()
    return "".join(p.read_text() for p in setup.paths().values() if p.exists())


def test_records_land_in_their_files(logs):
    log_event(TRADES, "fill", order_id="o1", lamports=250_000_000, side="buy")
    log_event(SIGNALS, "signal", mint="M1", score=0.82)
    logging.getLogger("launchray.orchestrator").info("loop started")
    logging.getLogger("launchray.executor").error("send failed", extra={"order_id": "o2"})
    logging.getLogger("launchray.trades.paper").error("fill rejected")

    trades = read(logs, "trades")
    assert [r["msg"] for r in trades] == ["fill", "fill rejected"]
    assert trades[0]["order_id"] == "o1" and trades[0]["lamports"] == 250_000_000 and trades[0]["level"] == "INFO"
    assert trades[0]["logger"] == TRADES and trades[0]["ts"].endswith("+00:00")
    assert [(r["msg"], r["score"]) for r in read(logs, "signals")] == [("signal", 0.82)]
    assert [r["msg"] for r in read(logs, "errors")] == ["send failed", "fill rejected"]
    assert read(logs, "errors")[0]["order_id"] == "o2"
    # system: everything that is not a trade or a signal, plus every error for context
    assert [r["msg"] for r in read(logs, "system")] == ["loop started", "send failed", "fill rejected"]


def test_exceptions_are_one_json_line_with_the_traceback(logs):
    try:
        raise RuntimeError("rpc exploded")
    except RuntimeError:
        logging.getLogger("launchray.rpc").exception("call failed")
    (rec,) = read(logs, "errors")
    assert rec["msg"] == "call failed" and "RuntimeError: rpc exploded" in rec["exc"]
    assert len(logs.paths()["errors"].read_text().splitlines()) == 1


def test_a_keypair_secret_never_reaches_a_log_file(logs):
    kp = Keypair()
    b58 = str(kp)                         # solders' str() of a Keypair IS the base58 secret
    as_json = json.dumps(list(bytes(kp)))
    sig = Signature.new_unique()          # 64 bytes of base58 too, but not a keypair: must stay readable
    lg = logging.getLogger("launchray.wallet")
    lg.info("loaded %s", b58)
    lg.info("loaded keypair %s", kp)
    lg.info("file content %s", as_json)
    lg.info("compact %s", as_json.replace(" ", ""))
    lg.info("extra", extra={"key": kp, "raw": bytes(kp), "ints": list(bytes(kp)), "hex": bytes(kp).hex()})
    log_event("launchray.wallet", "fields", nested={"deep": [b58]})
    lg.warning("auth header was Bearer %s and token %s", "eyJhbGciOiJIUzI1NiJ9.payload.sig", API_TOKEN)
    try:
        raise ValueError(f"bad key {b58}")
    except ValueError:
        lg.exception("wallet failed")
    log_event(TRADES, "fill", signature=str(sig), mint=str(kp.pubkey()))

    text = all_text(logs)
    assert b58 not in text and bytes(kp).hex() not in text
    assert as_json not in text and as_json.replace(" ", "") not in text
    assert b58[:32] not in text                            # not even the first half
    assert "eyJhbGciOiJIUzI1NiJ9" not in text and API_TOKEN not in text
    assert text.count("[REDACTED]") >= 10
    trades = read(logs, "trades")
    assert trades[0]["signature"] == str(sig) and trades[0]["mint"] == str(kp.pubkey())


def test_console_and_other_existing_handlers_are_redacted_too(tmp_path, caplog):
    kp = Keypair()
    setup = setup_logging(LoggingConfig(dir=str(tmp_path)))
    try:
        logging.getLogger("launchray.x").warning("key %s", kp)
    finally:
        setup.close()
    assert str(kp) not in caplog.text and "[REDACTED]" in caplog.text


def _old_file(path, days_old, now):
    path.write_text("{}\n")
    t = now - days_old * 86400
    os.utime(path, (t, t))


def test_rollover_deletes_files_past_retention_and_keeps_recent_ones(logs):
    now = time.time()
    trades_h, errors_h = logs.handlers["trades"], logs.handlers["errors"]
    d = logs.paths()["trades"].parent
    _old_file(d / "trades.jsonl.2020-01-01", 91, now)     # trades keep 90 days
    _old_file(d / "trades.jsonl.2020-03-01", 89, now)
    _old_file(d / "errors.jsonl.2020-03-01", 31, now)     # errors keep 30
    _old_file(d / "errors.jsonl.2020-03-05", 29, now)
    _old_file(d / "trades.jsonl.keepme", 400, now)        # not a rotated name: never ours to delete

    log_event(TRADES, "before midnight")
    logging.getLogger("x").error("before midnight")
    trades_h.rolloverAt = errors_h.rolloverAt = int(now) - 1   # as if midnight has passed
    log_event(TRADES, "after midnight")
    logging.getLogger("x").error("after midnight")

    names = sorted(p.name for p in d.iterdir())
    assert "trades.jsonl.2020-01-01" not in names and "errors.jsonl.2020-03-01" not in names
    assert {"trades.jsonl.2020-03-01", "errors.jsonl.2020-03-05", "trades.jsonl.keepme"} <= set(names)
    rotated = [n for n in names if n.startswith("trades.jsonl.20") and n not in ("trades.jsonl.2020-03-01",)]
    assert len(rotated) == 1                               # yesterday's file, holding the first record
    assert json.loads((d / rotated[0]).read_text())["msg"] == "before midnight"
    assert [r["msg"] for r in read(logs, "trades")] == ["after midnight"]


def test_startup_sweep_applies_configured_retention(tmp_path):
    now = time.time()
    _old_file(tmp_path / "system.jsonl.2020-01-01", 15, now)
    _old_file(tmp_path / "system.jsonl.2020-01-02", 13, now)
    _old_file(tmp_path / "signals.jsonl.2020-01-01", 6, now)
    setup = setup_logging(LoggingConfig(dir=str(tmp_path), retention_days={"signals": 5}))
    try:
        names = {p.name for p in tmp_path.iterdir()}
        assert "system.jsonl.2020-01-01" not in names            # default 14 days
        assert "system.jsonl.2020-01-02" in names
        assert "signals.jsonl.2020-01-01" not in names           # configured 5 days
        assert setup.handlers["trades"].retention_days == 90
    finally:
        setup.close()


def test_handler_alone_finds_only_its_rotated_files(tmp_path):
    h = RetentionFileHandler(tmp_path / "a.jsonl", 1)
    (tmp_path / "a.jsonl.2024-05-06").write_text("")
    (tmp_path / "a.jsonl.notadate").write_text("")
    (tmp_path / "b.jsonl.2024-05-06").write_text("")
    assert [p.name for p in h.rotated_files()] == ["a.jsonl.2024-05-06"]
    h.close()


def test_redaction_patterns_directly():
    kp = Keypair()
    assert is_keypair_base58(str(kp)) and not is_keypair_base58(str(Signature.new_unique()))
    assert redact_patterns(f"x {kp} y") == "x [REDACTED] y"
    assert redact_patterns("https://rpc.example/?api-key=abc123&x=1") == "https://rpc.example/?api-key=[REDACTED]&x=1"
    assert redact_patterns("bot 987654321:AAFtokenpartthatislongenough_abcdefghij") == "bot [REDACTED]"
    assert redact_patterns(str(list(range(64)))) == "[REDACTED]"
    assert redact_patterns(str(list(range(63)))) == str(list(range(63)))  # not a keypair shape
    r = Redactor(["s3cret", "a-registered-secret"])
    assert r("the a-registered-secret and s3cret") == "the [REDACTED] and [REDACTED]"
    assert Redactor(["abc"])("abc") == "abc"   # too short to be a secret; would shred text


def test_structured_fields_never_shadow_the_core_keys(logs):
    log_event(TRADES, "fill", msg="not the message", level="x", order_id="o1")
    (rec,) = read(logs, "trades")
    assert rec["msg"] == "fill" and rec["level"] == "INFO"
    assert rec["field_msg"] == "not the message" and rec["field_level"] == "x" and rec["order_id"] == "o1"
