"""simnet throughput: transactions executed through sendTransaction over HTTP, and WebSocket notifications
delivered to clients.

    python benchmarks/simnet.py [--txs 20000] [--conns 8] [--window 64] [--ws-clients 16] [--notify-txs 4000]

The server runs in this process; the load generator runs in a second process (the machine has 2 cores), so
client work does not eat the server's core and the numbers are end to end over loopback.

tx_per_s: signed SOL transfers sent as base64 sendTransaction requests (with preflight, the default), pipelined
    over --conns keep-alive connections with --window requests in flight each; counted when the response
    carries the signature. Also tx_per_s_skip_preflight, and tx_per_s_batched (--batch calls per JSON-RPC batch
    request: one HTTP round trip and one socket write for many transactions).
notifications_per_s: --ws-clients WebSocket clients (aiohttp) each hold a logsSubscribe "all" (processed) and
    count logsNotification frames while the server executes --notify-txs transfers as fast as it can;
    delivered frames / (last frame - first frame) seconds, measured in the client process.

Prints one JSON object: {"name": "simnet", "metrics": {"tx_per_s", "notifications_per_s", ...}}.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.I)


# --- client process ---------------------------------------------------------------------------------------------

def _transfers(n: int, payers, blockhash, offset: int) -> list[bytes]:
    from solders.keypair import Keypair
    from solders.message import Message
    from solders.system_program import TransferParams, transfer
    from solders.transaction import Transaction
    dest = Keypair().pubkey()
    out = []
    for i in range(n):
        payer = payers[i % len(payers)]
        ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=dest, lamports=1_000_000 + offset + i))
        out.append(bytes(Transaction([payer], Message([ix], payer.pubkey()), blockhash)))
    return out


async def _pipelined(host: str, port: int, requests: list[bytes], window: int) -> tuple[int, int]:
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
    ok = errors = 0
    sent = min(window, len(requests))
    writer.write(b"".join(requests[:sent]))
    for _ in range(len(requests)):
        head = await reader.readuntil(b"\r\n\r\n")
        body = await reader.readexactly(int(_CONTENT_LENGTH.search(head).group(1)))
        if b'"error"' in body:
            errors += 1
        else:
            ok += 1
        if sent < len(requests):
            writer.write(requests[sent])
            sent += 1
    writer.close()
    return ok, errors


def _post(path_body: bytes) -> bytes:
    return (b"POST / HTTP/1.1\r\nHost: simnet\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(path_body)) + path_body


async def _tx_phase(http_url: str, n: int, conns: int, window: int, skip_preflight: bool,
                    batch: int = 1) -> dict:
    import aiohttp
    from solders.hash import Hash
    from solders.keypair import Keypair
    host, port = http_url.split("//")[1].split(":")
    payers = [Keypair() for _ in range(64)]
    async with aiohttp.ClientSession() as s:
        for p in payers:
            async with s.post(http_url + "/admin/airdrop", json={"address": str(p.pubkey()), "lamports": 10**13}) as r:
                r.raise_for_status()
        async with s.post(http_url, json={"jsonrpc": "2.0", "id": 1, "method": "getLatestBlockhash"}) as r:
            blockhash = Hash.from_string((await r.json())["result"]["value"]["blockhash"])
    txs = _transfers(n, payers, blockhash, offset=7_000_000 if skip_preflight else 0)
    opts = {"encoding": "base64", "skipPreflight": skip_preflight}
    calls = [{"jsonrpc": "2.0", "id": i, "method": "sendTransaction",
              "params": [base64.b64encode(t).decode(), opts]} for i, t in enumerate(txs)]
    if batch > 1:
        bodies = [_post(json.dumps(calls[i:i + batch]).encode()) for i in range(0, len(calls), batch)]
    else:
        bodies = [_post(json.dumps(c).encode()) for c in calls]
    per = [bodies[i::conns] for i in range(conns)]
    t0 = time.perf_counter()
    results = await asyncio.gather(*(_pipelined(host, int(port), chunk, max(1, window // batch))
                                     for chunk in per))
    elapsed = time.perf_counter() - t0
    ok = sum(r[0] for r in results) * batch         # a batch answers all or reports an error in its body
    return {"ok": ok, "errors": sum(r[1] for r in results), "seconds": elapsed, "tx_per_s": ok / elapsed}


async def _ws_phase(ws_url: str, clients: int, expected_each: int, ready, timeout: float) -> dict:
    import aiohttp
    first: list[float] = []
    last: list[float] = []
    counts = [0] * clients

    async def client(i: int, session, subscribed: asyncio.Event, ws) -> None:
        await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "logsSubscribe",
                                      "params": ["all", {"commitment": "processed"}]}))
        reply = json.loads((await ws.receive()).data)
        assert isinstance(reply.get("result"), int), reply
        subscribed.set()
        deadline = time.perf_counter() + timeout
        while counts[i] < expected_each:
            msg = await ws.receive(timeout=max(0.1, deadline - time.perf_counter()))
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            if counts[i] == 0:
                first.append(time.perf_counter())
                assert msg.data.startswith('{"jsonrpc":"2.0","method":"logsNotification"'), msg.data[:80]
            counts[i] += 1
        last.append(time.perf_counter())

    async with aiohttp.ClientSession() as session:
        sockets = [await session.ws_connect(ws_url, max_msg_size=0, compress=0) for _ in range(clients)]
        events = [asyncio.Event() for _ in range(clients)]
        tasks = [asyncio.create_task(client(i, session, events[i], sockets[i])) for i in range(clients)]
        await asyncio.gather(*(e.wait() for e in events))
        ready.send(("subscribed", None))
        try:
            await asyncio.gather(*tasks)
        except (asyncio.TimeoutError, TimeoutError):
            pass
        for ws in sockets:
            await ws.close()
    total = sum(counts)
    span = (max(last) - min(first)) if first and last else float("inf")
    return {"delivered": total, "expected": expected_each * clients, "seconds": span,
            "notifications_per_s": total / span if span > 0 else 0.0}


def _client_main(conn, args: dict) -> None:
    try:
        tx = asyncio.run(_tx_phase(args["http"], args["txs"], args["conns"], args["window"], False))
        conn.send(("tx", tx))
        tx_skip = asyncio.run(_tx_phase(args["http"], args["txs"] // 2, args["conns"], args["window"], True))
        conn.send(("tx_skip", tx_skip))
        tx_batch = asyncio.run(_tx_phase(args["http"], args["txs"] // 2, args["conns"], args["window"], False,
                                         batch=args["batch"]))
        conn.send(("tx_batch", tx_batch))
        ws = asyncio.run(_ws_phase(args["ws"], args["ws_clients"], args["notify_txs"], conn, args["timeout"]))
        conn.send(("ws", ws))
    except Exception as exc:  # report, never hang the parent
        conn.send(("error", repr(exc)))


# --- server process ---------------------------------------------------------------------------------------------

async def _serve(opts: argparse.Namespace) -> dict:
    from solders.keypair import Keypair
    from solders.transaction import Transaction

    from pipelines.config import SimnetConfig
    from simnet.server import Simnet

    async with Simnet(SimnetConfig(seed=opts.seed)) as sn:
        parent, child = mp.Pipe()
        proc = mp.get_context("spawn").Process(target=_client_main, args=(child, {
            "http": sn.http_url, "ws": sn.ws_url, "txs": opts.txs, "conns": opts.conns, "window": opts.window,
            "ws_clients": opts.ws_clients, "notify_txs": opts.notify_txs, "timeout": opts.timeout,
            "batch": opts.batch}), daemon=True)
        proc.start()
        loop = asyncio.get_running_loop()
        results: dict = {}
        while "ws" not in results and "error" not in results:
            kind, value = await loop.run_in_executor(None, parent.recv)
            if kind == "subscribed":
                continue
            results[kind] = value
            if kind == "tx_batch":
                # the client subscribes next; drive transfers straight through the bank once it has
                payers = [Keypair() for _ in range(64)]
                for p in payers:
                    sn.bank.airdrop(p.pubkey(), 10**13)
                txs = _transfers(opts.notify_txs, payers, sn.bank.latest_blockhash()[0], offset=11_000_000)
                txs = [Transaction.from_bytes(t) for t in txs]
                msg = await loop.run_in_executor(None, parent.recv)
                if msg[0] != "subscribed":
                    results[msg[0]] = msg[1]
                    break
                t0 = time.perf_counter()
                for i, t in enumerate(txs):
                    sn.bank.process_transaction(t)
                    if i % 32 == 31:
                        await asyncio.sleep(0)      # let the loop flush frames to the sockets
                results["drive_seconds"] = time.perf_counter() - t0
        proc.join(30)
        results["server_delivered"] = sn.pubsub.delivered
        return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--txs", type=int, default=20_000)
    p.add_argument("--conns", type=int, default=8)
    p.add_argument("--window", type=int, default=64)
    p.add_argument("--batch", type=int, default=20, help="calls per JSON-RPC batch for tx_per_s_batched")
    p.add_argument("--ws-clients", type=int, default=16)
    p.add_argument("--notify-txs", type=int, default=4_000)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--profile", default="", help="write a cProfile of the server process to this file")
    opts = p.parse_args()
    if opts.profile:
        import cProfile
        prof = cProfile.Profile()
        r = prof.runcall(asyncio.run, _serve(opts))
        prof.dump_stats(opts.profile)
    else:
        r = asyncio.run(_serve(opts))
    if "error" in r:
        print(json.dumps({"name": "simnet", "error": r["error"]}))
        sys.exit(1)
    metrics = {
        "tx_per_s": round(r["tx"]["tx_per_s"], 1),
        "notifications_per_s": round(r["ws"]["notifications_per_s"], 1),
        "tx_per_s_skip_preflight": round(r["tx_skip"]["tx_per_s"], 1),
        "tx_per_s_batched": round(r["tx_batch"]["tx_per_s"], 1),
        "tx_errors": r["tx"]["errors"] + r["tx_skip"]["errors"] + r["tx_batch"]["errors"],
        "notifications_delivered": r["ws"]["delivered"],
        "notifications_expected": r["ws"]["expected"],
        "ws_clients": opts.ws_clients, "http_connections": opts.conns, "window": opts.window,
        "load_avg_1m_after": round(os.getloadavg()[0], 2),      # the box is shared: read numbers with this
    }
    print(json.dumps({"name": "simnet", "metrics": metrics}))


if __name__ == "__main__":
    main()
