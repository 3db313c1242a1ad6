"""`launchray drill`: the pre-deployment checklist, runnable. The profile's strategies trade in live mode
(real signing, real sends) against a `launchray simnet` of their own while simnet's faults are switched on in
turn and together, the ledger's disk fills up, actors are killed mid-trade and the whole run is SIGKILLed and
started again on the same ledger. Then the ledger is compared with the chain (pipelines/drill.py) and a table
and a verdict are printed; exit 0 only when nothing was lost, duplicated, stuck, missed or stolen.

Everything lives in a temporary directory (kept, its path printed): the wallet key (0600), the ledger, logs,
Ray's session. Nothing is sent anywhere but 127.0.0.1. See docs/drill.md.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
import os
import signal
import tempfile
import time
import uuid
from pathlib import Path

HELP = "live mode against simnet under injected faults, crashes and a full disk: a verdict before real money"

FUNDED_SOL = 20
SETTLE_S = 5.0          # after the last phase: let the last notifications and confirmations arrive
MUST_FIRE_EXTRA_S = 45.0    # how long a phase whose fault must fire may run past its time waiting for it
HELD_WAIT_S = 120.0         # how long the tamper phase waits for the run to hold a coin (launches are sparse)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="sim", help="profile whose strategies are drilled (default: sim)")
    p.add_argument("--minutes", type=float, default=10.0, help="about how long the fault phases take (default 10)")
    p.add_argument("--json", default="", metavar="PATH", help="also write the verdict as JSON to PATH")
    p.add_argument("--seed", type=int, default=None, help="simnet seed (default: the profile's)")
    p.add_argument("--shards", type=int, default=1, help="analyzer shards of the drilled run (default 1)")
    p.add_argument("--keep-risk-limits", action="store_true",
                   help="keep the profile's loss breakers (by default the drill turns off the consecutive-loss "
                        "pause, daily loss limit and drawdown halt, so that every fault phase meets trades)")
    p.add_argument("--phases", default="", metavar="WORDS",
                   help="only the phases whose names contain one of these comma-separated words (e.g. "
                        "'sigkill,disk'); default: all")


def main(args: argparse.Namespace) -> int:
    from pipelines.config import ConfigError, load_config
    from pipelines.drill import plan
    if args.minutes <= 0:
        print("launchray drill: --minutes must be positive")
        return 2
    try:
        cfg = load_config(args.profile, env={})
    except ConfigError as exc:
        print(f"launchray drill: {exc}")
        return 2
    max_hold = min(cfg.exits.max_hold_s, max(10.0, 4.0 * args.minutes))
    seed = cfg.simnet.seed if args.seed is None else args.seed
    phases = plan(args.minutes, slot_ms=cfg.simnet.slot_ms / cfg.simnet.speed,
                  confirm_timeout_s=cfg.execution.confirm_timeout_s, rpc_timeout_s=cfg.rpc.timeout_s,
                  max_hold_s=max_hold, seed=seed)
    if args.phases:
        words = [w.strip().lower() for w in args.phases.split(",") if w.strip()]
        phases = tuple(p for p in phases if any(w in p.name for w in words))
        if not phases:
            print(f"launchray drill: no phase matches {args.phases!r}")
            return 2
    workdir = Path(tempfile.mkdtemp(prefix="lrd-", dir="/tmp"))     # short: Ray's socket paths live under it
    print(f"launchray drill: profile {args.profile}, {len(phases)} phases, work dir {workdir}", flush=True)
    drill = Drill(args, cfg, workdir, phases, max_hold, seed)

    def interrupted(*_):
        raise KeyboardInterrupt      # SIGTERM too: unwind through cleanup (simnet, the run, the mount)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        return drill.run()
    finally:
        drill.cleanup()


class Drill:
    def __init__(self, args, cfg, workdir: Path, phases, max_hold_s: float, seed: int) -> None:
        from actors.drill_rig import LedgerDisk, SimnetProcess
        self.args, self.cfg, self.workdir, self.specs = args, cfg, workdir, phases
        self.max_hold_s = max_hold_s
        self.simnet = SimnetProcess(workdir, args.profile, seed)
        self.disk = LedgerDisk(workdir / "ledger")
        self.run_proc = None
        self.done: list = []

    # --- set-up -----------------------------------------------------------------------------------------------
    def _wallet(self) -> tuple[str, Path]:
        from solders.keypair import Keypair
        kp = Keypair()
        key_file = self.workdir / "wallet.json"
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(list(bytes(kp)), f)
        return str(kp.pubkey()), key_file

    def _env(self, key_file: Path) -> dict[str, str]:
        sn = self.simnet
        # nothing of the user's launchray or Ray settings: the run starts its own Ray, keeps all in the work dir
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LAUNCHRAY", "RAY_"))}
        overrides = {
            "EXECUTION__MODE": "live", "EXECUTION__WALLET_KEY_FILE": str(key_file),
            "EXECUTION__JUPITER_URL": sn.http_url + "/jupiter", "EXECUTION__JITO_URL": sn.http_url + "/jito",
            "CHAIN__SOURCE": "rpc", "CHAIN__RPC_HTTP": [sn.http_url], "CHAIN__RPC_WS": [sn.ws_url],
            "LEDGER__PATH": str(self.disk.path / "ledger.sqlite"), "LOGGING__DIR": str(self.workdir / "logs"),
            "TELEMETRY__TRACE_FILE": str(self.workdir / "traces.jsonl"),
            "RAY__NAMESPACE": f"drill-{uuid.uuid4().hex[:12]}", "RAY__INCLUDE_DASHBOARD": False,
            "RAY__ADDRESS": "local", "API__PORT": 0, "EXITS__MAX_HOLD_S": self.max_hold_s,
            "DATA_DIR": str(self.workdir / "data"),
        }
        if not self.args.keep_risk_limits:
            # simnet's coins rug often: five losses in a row would pause entries for the rest of the drill and
            # leave the later fault phases with no trade to break
            overrides.update({"RISK__CONSECUTIVE_LOSS_PAUSE_S": 0.0, "RISK__DAILY_LOSS_LIMIT": 1.0,
                              "RISK__DRAWDOWN_HALT": 1.0})
        for key, value in overrides.items():
            env["LAUNCHRAY__" + key] = json.dumps(value) if not isinstance(value, bool) else str(value).lower()
        env["RAY_TMPDIR"] = str(self.workdir / "r")
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        # the run's Ray is the drill's own, on loopback: no shared ~/.ray/auth_token, which other Rays on the
        # machine may rewrite, between it and the drill attaching to kill actors
        env["RAY_AUTH_MODE"] = "disabled"
        return env

    # --- the drill --------------------------------------------------------------------------------------------
    def run(self) -> int:
        from actors.drill_rig import RigError, RunProcess, chain_facts, copy_ledger, ledger_facts
        from pipelines.drill import Rules, exit_grace_s, format_table, verdict
        try:
            self.simnet.start()
            wallet, key_file = self._wallet()
            funded = FUNDED_SOL * 10**9
            self.simnet.admin("POST", "/airdrop", {"address": wallet, "lamports": funded})
            stranger = self.simnet.admin("GET", "/faults")["stranger"]
            (self.workdir / "r").mkdir(exist_ok=True)
            self.run_proc = RunProcess(self.workdir, self.args.profile, self._env(key_file), self.args.shards)
            print(f"  simnet {self.simnet.http_url}, wallet {wallet} funded with {FUNDED_SOL} SOL; starting "
                  f"`launchray run` in live mode ({self.disk.mechanism} for the full-disk phase; exits.max_hold_s "
                  f"{self.max_hold_s:g}" + ("" if self.args.keep_risk_limits else
                                           "; loss breakers off: --keep-risk-limits keeps them") + ")",
                  flush=True)
            self.run_proc.start()
            for spec in self.specs:
                self.done.append(self._phase(spec))
                row = self.done[-1]
                print(f"  phase {row.name!r}: {row.ended_at - row.started_at:.0f} s, slots {row.start_slot}.."
                      f"{row.end_slot}" + "".join(f"; {n}" for n in (*row.run_exits, *row.notes)), flush=True)
            settle: list[str] = []
            self._wait(time.time() + SETTLE_S, settle)
            if settle:      # counted with the last phase
                self.done[-1] = replace(self.done[-1], run_exits=(*self.done[-1].run_exits, *settle))
            stop = self.run_proc.stop()
            print(f"  run stopped: {stop}", flush=True)
            if stop != "clean":
                self._note_last(f"final stop: {stop}")
            self.simnet.faults({})
            ledger_path = copy_ledger(self.disk.path, self.workdir / "ledger-copy")
            ledger = ledger_facts(ledger_path)
            chain = chain_facts(self.simnet, wallet, funded, stranger)
        except RigError as exc:
            print(f"launchray drill: could not run the drill: {exc}")
            return 2
        rules = Rules(self.max_hold_s, grace_s=exit_grace_s(self.cfg.execution.confirm_timeout_s))
        v = verdict(self.done, ledger, chain, rules, time.time())
        print()
        print(format_table(v), flush=True)
        if self.args.json:
            out = {"profile": self.args.profile, "minutes": self.args.minutes, "workdir": str(self.workdir),
                   "loss_breakers": "profile" if self.args.keep_risk_limits else "off",
                   "wallet": wallet, "funded_lamports": funded, "disk_full_mechanism": self.disk.mechanism,
                   "rules": {"max_hold_s": rules.max_hold_s, "grace_s": rules.grace_s}, **v.to_dict()}
            Path(self.args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(self.args.json).write_text(json.dumps(out, indent=2))
        return 0 if v.passed else 1

    def _note_last(self, note: str) -> None:
        if self.done:
            self.done[-1] = replace(self.done[-1], notes=(*self.done[-1].notes, note))

    def _phase(self, spec):
        from pipelines.drill import Phase
        before = self.simnet.admin("GET", "/faults")["fired"]
        started, start_slot = time.time(), self.simnet.slot()
        notes: list[str] = []
        exits: list[str] = []
        targets: list[str] = []
        self.simnet.faults(dict(spec.faults))
        deadline = started + spec.seconds
        if spec.action == "fill_disk":
            notes.append(self.disk.fill())
        elif spec.action == "kill_actors":
            notes += self._kill_actors(deadline, exits)
        elif spec.action == "sigkill_restart":
            notes += self._sigkill_restart(deadline, exits)
        elif spec.action == "migrate_held":
            notes += self._migrate_held(max(deadline, time.time() + HELD_WAIT_S), exits, targets)
        self._wait(deadline, exits)
        if spec.must_fire and targets:
            notes += self._wait_fired(spec.must_fire, before, time.time() + MUST_FIRE_EXTRA_S, exits)
        if spec.action == "fill_disk":
            self.disk.free()
            notes.append("freed the ledger's disk")
            self._wait(time.time() + 5.0, exits)      # the run resumes (or restarts) with room again
        self.simnet.faults({})
        after = self.simnet.admin("GET", "/faults")["fired"]
        fired = {k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)}
        return Phase(spec.name, started, time.time(), start_slot, self.simnet.slot(), dict(spec.faults), fired,
                     spec.critical, tuple(exits), tuple(notes), must_fire=spec.must_fire, targets=tuple(targets))

    def _wait(self, deadline: float, exits: list[str]) -> None:
        """Until deadline; a run that stops by itself is recorded and started again (as systemd would)."""
        while time.time() < deadline:
            ended = self.run_proc.take_exit()
            if ended:
                exits.append(ended)
            if self.run_proc.exited():
                self._restart()
            time.sleep(0.25)

    def _restart(self) -> None:
        """Start the run again; a start that fails is told by take_exit() on the next look."""
        from actors.drill_rig import RigError
        try:
            self.run_proc.start()
        except RigError as exc:
            print(f"  restart failed: {exc}", flush=True)

    def _in_flight(self, deadline: float) -> str | None:
        """Wait for an order the run has sent and not resolved (the moment to crash it); its id, or None."""
        from actors.drill_rig import ledger_rows
        path = self.disk.path / "ledger.sqlite"
        while time.time() < deadline:
            rows = ledger_rows(path, "SELECT id FROM orders WHERE state IN ('submitted', 'intent') LIMIT 1")
            if rows:
                return rows[0][0]
            time.sleep(0.05)
        return None

    def _open_mints(self) -> list[str]:
        """Mints of the run's open positions, newest first (read-only: the run owns the ledger)."""
        from actors.drill_rig import ledger_rows
        rows = ledger_rows(self.disk.path / "ledger.sqlite",
                           "SELECT mint FROM positions WHERE is_open = 1 ORDER BY opened_at DESC")
        return [r[0] for r in rows]

    def _migrate_held(self, deadline: float, exits: list[str], targets: list[str]) -> list[str]:
        """Complete the curve of one coin the run holds (simnet's market buys the rest and migrates it), so
        the run's exit on migration sells it through Jupiter while the phase's fault is on. Waits for a held
        coin still on its curve until `deadline` (past the phase's time: a phase with no held coin tests
        nothing); the coin goes to `targets`."""
        from actors.drill_rig import RigError
        refused: dict[str, str] = {}
        began = time.time()
        while time.time() < deadline:
            for mint in self._open_mints():
                if mint in refused:
                    continue
                try:
                    done = self.simnet.admin("POST", "/complete_curve", {"mint": mint})
                except RigError as exc:        # dead and buried, or already complete: try another held coin
                    refused[mint] = str(exc)[-120:]
                    continue
                targets.append(mint)
                return [f"waited {time.time() - began:.0f} s for a held coin; completed the curve of held coin {mint[:8]} (simnet's whale buys the rest in slot "
                        f"{done['slot']}, its bot migrates it): its exit goes to Jupiter"]
            self._wait(time.time() + 0.5, exits)
        return [f"no held coin could be made to migrate in {time.time() - began:.0f} s ({len(refused)} refused"
                + (f", e.g. {next(iter(refused.values()))}" if refused else "") + ")"]

    def _wait_fired(self, counter: str, before: dict, until: float, exits: list[str]) -> list[str]:
        """Keep the fault on past the phase's time until `counter` moves (the run met the fault), or `until`."""
        waited = time.time()
        while time.time() < until:
            if self.simnet.admin("GET", "/faults")["fired"].get(counter, 0) > before.get(counter, 0):
                break
            self._wait(time.time() + 0.5, exits)
        extra = time.time() - waited
        return [f"kept the fault on {extra:.0f} s longer until {counter} fired"] if extra >= 1.0 else []

    def _kill_actors(self, deadline: float, exits: list[str]) -> list[str]:
        from actors import names
        notes = []
        step = max(2.0, (deadline - time.time()) / 5)
        for name in (names.EXECUTOR, names.LEDGER, names.POSITIONS, names.INGEST):
            self._wait(time.time() + 0.1, exits)          # a run that stopped is started again first
            order = self._in_flight(min(deadline, time.time() + step))
            note = self.run_proc.kill_actor(name)
            notes.append(note + (f" with order {order[:8]} in flight" if order and note.startswith("killed")
                                 else ""))
            self._wait(time.time() + 1.0, exits)
        return notes

    def _sigkill_restart(self, deadline: float, exits: list[str]) -> list[str]:
        order = self._in_flight(time.time() + max(2.0, (deadline - time.time()) / 2))
        self.run_proc.sigkill()
        down_at = time.time()
        time.sleep(5.0)                     # launches keep coming while it is down
        self._restart()
        return ["SIGKILLed the run" + (f" with order {order[:8]} in flight" if order else "") +
                f"; down {time.time() - down_at:.0f} s until it was up again on the same ledger"]

    def cleanup(self) -> None:
        from actors.drill_rig import kill_strays
        if self.run_proc is not None and self.run_proc.exited() is None:
            self.run_proc.sigkill()
        self.simnet.stop()
        kill_strays(str(self.workdir))
        self.disk.release()
