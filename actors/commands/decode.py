"""`launchray decode FILE|-`: print the events in a chain document, one JSON object per line.

Exit 0 with the events (possibly none), 2 with one line on stderr when the input is missing, not JSON or not a
document we know (never a traceback).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HELP = "decode a transaction / notification / instruction JSON document (file or '-' for stdin) into events"
MAX_INPUT_BYTES = 64 * 1024 * 1024  # a full block is a few MB; refuse what cannot be a chain document


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="JSON file, or - to read stdin")


def _fail(message: str, code: int = 2) -> int:
    print(f"launchray decode: {message}".replace("\n", " "), file=sys.stderr)
    return code


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    with open(path, "rb") as f:
        return f.read(MAX_INPUT_BYTES + 1)


def main(args: argparse.Namespace) -> int:
    from pipelines.chain.decode import decode_document
    from pipelines.chain.errors import DecodeError
    from pipelines.chain.events import event_to_dict

    try:
        raw = _read(args.file)
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}")
    if len(raw) > MAX_INPUT_BYTES:
        return _fail(f"input larger than {MAX_INPUT_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return _fail(f"input is not UTF-8 text (byte {exc.start})")
    if not text.strip():
        return _fail("empty input: expected a JSON document")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return _fail(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
    except RecursionError:
        return _fail("invalid JSON: nested too deeply")
    try:
        events = decode_document(doc)
    except DecodeError as exc:
        return _fail(str(exc))
    except Exception as exc:  # a decoder bug must still not print a traceback at the user
        return _fail(f"internal error while decoding ({type(exc).__name__}): {exc}", 1)
    out = sys.stdout
    try:
        for ev in events:
            out.write(json.dumps(event_to_dict(ev)) + "\n")
        out.flush()
    except BrokenPipeError:  # `launchray decode x | head`: the reader left; exit quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
