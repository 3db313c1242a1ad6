"""The drill's rig: the processes and the disk `launchray drill` plays with (actors/commands/drill.py runs it).

  SimnetProcess  `launchray simnet` in its own session on free loopback ports, with its admin API
  RunProcess     `launchray run` in its own session (its own Ray, RAY_TMPDIR in the drill's directory), started,
                 stopped with SIGTERM, or killed with SIGKILL together with everything it started
  LedgerDisk     the ledger's directory on a small tmpfs that can be filled up (root); else RLIMIT_FSIZE on the
                 processes that hold the ledger open (the same EFBIG/ENOSPC for SQLite's writes)
  ledger_facts / chain_facts   what pipelines/drill.py needs, read from the ledger (read-only) and simnet
No secret goes through here: the wallet key only ever lives in its 0600 file.
"""
from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from pipelines.drill import ChainFacts, LedgerFacts, LedgerFill, LedgerOrder, LedgerPosition, WalletTx


class RigError(RuntimeError):
    """The drill could not set something up (simnet, the run, the disk); the message says what."""


def _free_port_pair() -> int:
    for _ in range(100):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise RigError("no free pair of adjacent loopback ports for simnet")


def _tail(path: Path, n: int = 1) -> str:
    """The run's own last word (its one-line reason) if it printed one, else the last line of its log."""
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    own = [ln for ln in lines if ln.startswith("launchray run:")]
    return " | ".join((own or lines)[-n:])[-300:]


def _kill_session(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)      # the process was started in its own session: its group is its pid
    except ProcessLookupError:
        pass


def kill_strays(marker: str) -> int:
    """SIGKILL processes whose command line names `marker` (the drill's directory: Ray's processes name their
    session dir) and that survived their parent; returns how many."""
    n = 0
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                n += 1
            except ProcessLookupError:
                pass
    return n


class SimnetProcess:
    def __init__(self, workdir: Path, profile: str, seed: int | None) -> None:
        self.workdir = workdir
        self.profile = profile
        self.seed = seed
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log = workdir / "simnet.log"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port + 1}"

    def start(self, timeout: float = 60.0) -> None:
        self.port = _free_port_pair()
        cmd = [sys.executable, "-m", "actors.cli", "simnet", "--port", str(self.port), "--profile", self.profile]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RigError(f"simnet exited with {self.proc.returncode}: {_tail(self.log)}")
            try:
                self.admin("GET", "/status")
                return
            except (OSError, RigError):
                time.sleep(0.2)
        raise RigError("simnet did not answer /admin/status in time")

    def admin(self, method: str, path: str, body: dict | None = None, timeout: float = 30.0):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.http_url + "/admin" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:
            raise RigError(f"simnet {method} /admin{path}: HTTP {exc.code} {exc.read()[:200]!r}") from None

    def faults(self, settings: dict) -> dict:
        return self.admin("POST", "/faults", settings)

    def slot(self) -> int:
        return int(self.admin("GET", "/status")["slot"])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            _kill_session(self.proc, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                _kill_session(self.proc, signal.SIGKILL)
                self.proc.wait(5)


class RunProcess:
    """One `launchray run` at a time; `start()` again after a kill starts a new one on the same ledger."""

    def __init__(self, workdir: Path, profile: str, env: dict[str, str], shards: int) -> None:
        self.workdir = workdir
        self.profile = profile
        self.env = env
        self.shards = shards
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.log = workdir / "run-0.log"
        self._told: subprocess.Popen | None = None

    def start(self, timeout: float = 240.0) -> None:
        self.starts += 1
        self.log = self.workdir / f"run-{self.starts}.log"
        cmd = [sys.executable, "-m", "actors.cli", "run", "--profile", self.profile, "--confirm-live",
               "--shards", str(self.shards), "--summary-json", str(self.workdir / f"summary-{self.starts}.json")]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RigError(f"launchray run exited with {self.proc.returncode} while starting: {_tail(self.log)}")
            try:
                if " actors up " in self.log.read_text(errors="replace"):
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RigError(f"launchray run was not up after {timeout:.0f} s: {_tail(self.log)}")

    def exited(self) -> str | None:
        """How the run ended ("exit N: its one-line reason"), or None while it runs."""
        if self.proc is None or self.proc.poll() is None:
            return None
        return f"exit {self.proc.returncode}: {_tail(self.log)}"

    def take_exit(self) -> str | None:
        """Like exited(), but each ending is told once (and never one the drill caused)."""
        ended = self.exited()
        if ended is None or self.proc is self._told:
            return None
        self._told = self.proc
        return ended

    def sigkill(self) -> None:
        """SIGKILL the run and everything it started (its Ray included), as a crash or an OOM kill would."""
        if self.proc is not None:
            _kill_session(self.proc, signal.SIGKILL)
            self.proc.wait(10)
            self._told = self.proc
        time.sleep(1.0)
        kill_strays(str(self.workdir))

    def stop(self, timeout: float = 180.0) -> str:
        """SIGTERM and wait for the graceful shutdown; 'clean', 'exit N: ...' or 'killed after T s'."""
        if self.proc is None or self.proc.poll() is not None:
            return self.exited() or "not running"
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.sigkill()
            return f"killed after {timeout:.0f} s without stopping"
        time.sleep(1.0)
        kill_strays(str(self.workdir))
        return "clean" if code == 0 else f"exit {code}: {_tail(self.log)}"

    def ray_address(self) -> str:
        """host:port of the GCS of this run's own Ray: the session its process started (named after its pid)."""
        if self.proc is None or self.proc.poll() is not None:
            raise RigError("the run is not running")
        for session in Path(self.env["RAY_TMPDIR"]).glob(f"ray/session_2*_{self.proc.pid}"):
            for f in session.glob("gcs_server_port_*"):
                port = f.read_text().strip()
                if port.isdigit():
                    return f"127.0.0.1:{port}"
        raise RigError("the run's Ray (its GCS port file) was not found")

    def kill_actor(self, name: str, timeout: float = 60.0) -> str:
        """ray.kill(name, no_restart=False) in the run's Ray, from a child process (a Ray that dies under it
        cannot hang the drill); what happened, in words."""
        try:
            address = self.ray_address()
        except RigError as exc:
            return f"could not kill {name}: {exc}"
        env = {**os.environ, "RAY_TMPDIR": self.env["RAY_TMPDIR"], "RAY_AUTH_MODE": "disabled",
               "RAY_USAGE_STATS_ENABLED": "0"}
        ns = json.loads(self.env["LAUNCHRAY__RAY__NAMESPACE"])
        try:
            done = subprocess.run([sys.executable, "-m", "actors.drill_rig", "kill", address, ns, name], env=env,
                                  capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return f"could not kill {name}: the run's Ray did not answer in {timeout:.0f} s"
        lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
        return lines[-1] if done.returncode == 0 and lines else \
            f"could not kill {name}: {(lines or done.stderr.splitlines() or ['?'])[-1][-200:]}"


class LedgerDisk:
    """The ledger's directory on a 64 MiB tmpfs (fill it up to make the disk full), or, where mounting is not
    allowed, a plain directory whose writers get RLIMIT_FSIZE = 0 while the disk is 'full'."""

    SIZE = "64m"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mounted = False
        self._filler = path / ".drill-filler"
        self._limited: list[tuple[int, tuple[int, int]]] = []
        path.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.SIZE},mode=0700", "tmpfs", str(path)],
                           check=True, capture_output=True, timeout=20)
            self.mounted = True
        except (OSError, subprocess.SubprocessError):
            self.mounted = False

    @property
    def mechanism(self) -> str:
        return "tmpfs filled up (ENOSPC)" if self.mounted else "RLIMIT_FSIZE=0 on the ledger's writers (EFBIG)"

    def fill(self) -> str:
        if self.mounted:
            written = 0
            fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                for size in (1 << 20, 4096, 1):     # down to the last byte
                    chunk = b"\0" * size
                    try:
                        while True:
                            written += os.write(fd, chunk)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
            finally:
                os.close(fd)
            return f"filled the ledger's tmpfs ({written >> 20} MiB)"
        pids = self._writers()
        for pid in pids:
            try:
                old = resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
                self._limited.append((pid, old))
            except (ProcessLookupError, PermissionError):
                pass
        return f"RLIMIT_FSIZE=0 on {len(self._limited)} process(es) holding the ledger open"

    def free(self) -> None:
        if self.mounted:
            try:
                self._filler.unlink()
            except FileNotFoundError:
                pass
        for pid, old in self._limited:
            try:
                resource.prlimit(pid, resource.RLIMIT_FSIZE, old)
            except (ProcessLookupError, PermissionError):
                pass
        self._limited.clear()

    def _writers(self) -> list[int]:
        target = str(self.path)
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if any(os.readlink(fd).startswith(target) for fd in (entry / "fd").iterdir()):
                    found.append(int(entry.name))
            except OSError:
                continue
        return found

    def release(self) -> None:
        self.free()
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=20)
            self.mounted = False


def copy_ledger(disk_path: Path, dest: Path) -> Path:
    """A copy of the ledger files (db + wal) off the tmpfs, to read after the disk is gone."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in disk_path.glob("ledger.sqlite*"):
        shutil.copy2(f, dest / f.name)
    return dest / "ledger.sqlite"


def ledger_facts(path: Path) -> LedgerFacts:
    from pipelines.ledger.store import LedgerStore
    store = LedgerStore(path, readonly=True)
    try:
        orders = store.orders()
        by_id = {o.id: o for o in orders}
        fills = tuple(LedgerFill(f.signature, f.order_id, f.mint, f.side.value, f.lamports, f.tokens, f.slot,
                                 by_id[f.order_id].reason if f.order_id in by_id and f.side.value == "buy" else "")
                      for f in store.fills())
        return LedgerFacts(
            fills=fills,
            orders=tuple(LedgerOrder(o.id, o.mint, o.side.value, o.state.value, o.created_at) for o in orders),
            positions=tuple(LedgerPosition(p.mint, p.opened_at, p.is_open, p.strategy) for p in store.positions()),
            launch_mints=frozenset(store.launch_mints()), tx_costs_lamports=store.tx_costs_total(),
            tx_cost_signatures=_tx_cost_signatures(path))
    finally:
        store.close()


def _tx_cost_signatures(path: Path) -> frozenset[str]:
    return frozenset(r[0] for r in ledger_rows(path, "SELECT signature FROM tx_costs", timeout=5.0))


def ledger_rows(path: Path, sql: str, timeout: float = 1.0) -> list[tuple]:
    """Rows of one read-only query on the run's ledger (the run owns it and may be writing); [] when it cannot
    be read now."""
    import sqlite3
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return []


def chain_facts(simnet: SimnetProcess, wallet: str, funded: int, stranger: str) -> ChainFacts:
    truth = simnet.admin("GET", "/wallet?" + urllib.parse.urlencode({"address": wallet}), timeout=120)
    launches = simnet.admin("GET", "/ground_truth", timeout=120)["launches"]
    stolen = simnet.admin("GET", "/wallet?" + urllib.parse.urlencode({"address": stranger}), timeout=120)
    txs = tuple(WalletTx(t["signature"], int(t["slot"]), t["err"] is None, bool(t["signer"]),
                         int(t["lamports_delta"])) for t in truth["transactions"])
    return ChainFacts(funded_lamports=funded, wallet_lamports=int(truth["lamports"]),
                      wallet_tokens={m: int(v) for m, v in truth["tokens"].items()}, transactions=txs,
                      launches=tuple((l["mint"], int(l["slot"])) for l in launches),
                      stolen_lamports=int(stolen["lamports"]))


def _kill_main(address: str, namespace: str, name: str) -> int:
    import ray
    ray.init(address=address, namespace=namespace, log_to_driver=False, configure_logging=False)
    try:
        ray.kill(ray.get_actor(name, namespace=namespace), no_restart=False)
    except ValueError:
        print(f"no actor {name} to kill")
        return 0
    print(f"killed {name}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "kill":
        sys.exit(_kill_main(*sys.argv[2:]))
    sys.exit("usage: python -m actors.drill_rig kill GCS_ADDRESS NAMESPACE ACTOR")
