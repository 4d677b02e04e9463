"""`chipletarch report CONFIG -o report.html`: the HTML report command.

CONFIG is a report YAML (designs x workloads; see chipletarch/report/config.py and
examples/report.yaml) or a sweep results store (SQLite, written by `chipletarch sweep`), which
gives a report of that store's Pareto frontier.
"""
from __future__ import annotations

import sys


def add_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="one self-contained HTML report: designs x workloads, or a sweep store")
    p.add_argument("config", metavar="CONFIG",
                   help="report YAML (designs, workloads, ...) or a sweep results store")
    p.add_argument("-o", "--output", default="report.html", help="HTML file to write "
                                                                 "(default report.html)")
    p.add_argument("--title", help="override the config's title")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    import dataclasses
    import time

    from . import load_report_config, write_report

    cfg = load_report_config(args.config)
    if args.title:
        cfg = dataclasses.replace(cfg, title=args.title)
    t0 = time.perf_counter()
    say = None if args.quiet else (lambda msg: print(f"  {msg}", file=sys.stderr))
    path = write_report(cfg, args.output, progress=say)
    size = path.stat().st_size
    print(f"wrote {path} ({size / 1024:,.0f} KiB, {time.perf_counter() - t0:.1f} s)")
    return 0


__all__ = ["add_commands", "cmd_report"]
