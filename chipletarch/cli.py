"""The `chipletarch` command: one argparse parser, subcommands contributed by feature modules.

Each feature module that offers commands defines `add_commands(subparsers)`, which registers its
subcommands and sets `func` on each; `COMMAND_MODULES` lists them in the order `--help` shows.
Exit codes: 0 ok, 1 invalid input or infeasible design (a `ChipletarchError`), 2 usage (argparse).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import ChipletarchError

COMMAND_MODULES = [
    "chipletarch.arch.commands",
    "chipletarch.cost.commands",
    "chipletarch.workload.commands",
    "chipletarch.formats_commands",
    "chipletarch.engine.commands",
    "chipletarch.energy.commands",
    "chipletarch.serving.commands",
    "chipletarch.explore.commands",
    "chipletarch.report.commands",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chipletarch",
        description="Model chiplet AI accelerators for transformer inference.",
    )
    parser.add_argument("--version", action="version", version=f"chipletarch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        rc = args.func(args)
    except ChipletarchError as exc:
        print(f"chipletarch: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `chipletarch list | head`
        return 0
    return 0 if rc is None else int(rc)
