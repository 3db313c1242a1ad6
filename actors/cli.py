"""`launchray` command line: one module per subcommand, each with HELP, add_arguments(p) and main(args) -> int.

Subcommand modules keep their heavy imports (ray, aiohttp servers) inside main() so `launchray decode` and
`launchray --help` start fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, str] = {
    "run": "actors.commands.run",
    "simnet": "simnet.cli",
    "decode": "actors.commands.decode",
    "status": "actors.commands.status",
    "grafana": "actors.commands.grafana",
    "record": "actors.commands.record",
    "backtest": "actors.commands.backtest",
    "sweep": "actors.commands.sweep",
    "drill": "actors.commands.drill",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="launchray", description="Solana launch detection and trading on Ray")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # subcommand not built yet
            raise
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_main=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_main", None):
        parser.print_help()
        return 2
    try:
        return int(args._main(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
