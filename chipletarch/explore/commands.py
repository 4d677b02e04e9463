"""CLI: `chipletarch sweep`, `chipletarch pareto`, `chipletarch export` (docs/SWEEPS.md)."""
from __future__ import annotations

import sys

import numpy as np

from ..errors import SpecError


def add_commands(sub) -> None:
    p = sub.add_parser("sweep", help="evaluate a design-space sweep into a SQLite results store",
                       description="Evaluate every point of a sweep spec (YAML) into a SQLite "
                                   "store, one committed chunk at a time.")
    p.add_argument("spec", help="sweep YAML path or bundled sweep name (workloads/sweeps/)")
    p.add_argument("-o", "--output", required=True, help="results store (.sqlite)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: CPU count; 0 = in this process)")
    p.add_argument("--dask", metavar="ADDR", default=None,
                   help="Dask scheduler address (tcp://host:8786), or 'local' for a LocalCluster")
    p.add_argument("--resume", action="store_true", help="finish an interrupted sweep")
    p.add_argument("--overwrite", action="store_true", help="replace an existing store")
    p.add_argument("--allow-code-change", action="store_true",
                   help="--resume a store written by other chipletarch model code (recorded "
                        "in the manifest); only when the change cannot move results")
    p.add_argument("--limit", type=int, default=None,
                   help="stop after about N points in this run (whole chunks; --resume goes on)")
    p.add_argument("--chunk-size", type=int, default=None,
                   help="points per committed chunk (default: the spec's options.chunk_size)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("pareto", help="Pareto frontier of a results store",
                       description="Non-dominated points of a sweep over two or more metrics.")
    p.add_argument("store", help="results store (.sqlite)")
    p.add_argument("--x", required=True, help="first objective (a column)")
    p.add_argument("--y", required=True, help="second objective (a column)")
    p.add_argument("--z", action="append", default=[], help="further objectives (repeatable)")
    p.add_argument("--maximize", action="append", default=[], metavar="COL",
                   help="objective to maximise (repeatable); the others are minimised")
    p.add_argument("--minimize", action="append", default=[], metavar="COL",
                   help="objective to minimise (the default; for clarity)")
    p.add_argument("--where", default=None,
                   help="extra SQL filter on the ok points, e.g. \"model = 'llama3.1-70b'\"")
    p.add_argument("--show", default=None,
                   help="comma-separated extra columns in the table (default: the axes)")
    p.add_argument("--png", default=None, help="write a scatter + frontier plot (first two "
                                               "objectives)")
    p.add_argument("--csv", default=None, help="write the frontier table as CSV")
    p.set_defaults(func=_cmd_pareto)

    p = sub.add_parser("export", help="export a results store to CSV or Parquet")
    p.add_argument("store", help="results store (.sqlite)")
    p.add_argument("--csv", default=None, help="CSV output path")
    p.add_argument("--parquet", default=None, help="Parquet output path (needs pyarrow)")
    p.add_argument("--status", default=None, help="only points with this status (e.g. ok)")
    p.set_defaults(func=_cmd_export)


def _cmd_sweep(args) -> int:
    from .run import run_sweep
    from .spec import load_sweep
    spec = load_sweep(args.spec)
    s = run_sweep(spec, args.output, workers=args.workers, dask=args.dask, resume=args.resume,
                  overwrite=args.overwrite, limit=args.limit, chunk_size=args.chunk_size,
                  progress=not args.no_progress, allow_code_change=args.allow_code_change)
    st = ", ".join(f"{k} {v:,}" for k, v in sorted(s["status"].items()))
    print(f"{spec.name}: {s['stored']:,} of {s['points']:,} points stored in {s['store']} "
          f"({st})")
    print(f"this run: {s['evaluated_now']:,} points in {s['wall_s']:.1f} s "
          f"({s['points_per_s']:,.0f} points/s, {s['mode']})")
    for reason, n in s["top_reasons"]:
        print(f"  {n:>8,}  {reason}")
    if s["interrupted"]:
        print(f"interrupted: committed chunks are kept; finish with: chipletarch sweep "
              f"{args.spec} -o {args.output} --resume", file=sys.stderr)
        return 130
    if not s["complete"]:
        print("incomplete (--limit): continue with --resume", file=sys.stderr)
    if s["status"].get("error"):
        print(f"{s['status']['error']} point(s) failed with an internal error (status 'error'); "
              f"this is a bug, please report it with the reason column", file=sys.stderr)
        return 1
    return 0


def _cmd_pareto(args) -> int:
    from .pareto import frontier, plot_frontier
    from .store import Store
    objectives = [args.x, args.y] + list(args.z)
    bad = [c for c in args.maximize + args.minimize if c not in objectives]
    if bad:
        raise SpecError(f"--maximize/--minimize name(s) {', '.join(bad)} that are not "
                        f"objectives ({', '.join(objectives)})")
    both = set(args.maximize) & set(args.minimize)
    if both:
        raise SpecError(f"{', '.join(sorted(both))} both maximised and minimised")
    maximize = [c in args.maximize for c in objectives]
    with Store.open(args.store, readonly=True) as st:
        spec = _manifest_axes(st)
        extra = [c.strip() for c in args.show.split(",")] if args.show else spec
        cols = list(dict.fromkeys(["idx"] + objectives + [c for c in extra if c]))
        where = "status = 'ok'" + (f" AND ({args.where})" if args.where else "")
        try:
            data = st.read(cols, where=where)
        except Exception as exc:  # sqlite3.OperationalError from a bad --where
            if isinstance(exc, SpecError):
                raise
            raise SpecError(f"pareto: {exc}") from None
        n = len(data["idx"])
        if n == 0:
            raise SpecError(f"{args.store}: no ok points"
                            f"{' matching --where' if args.where else ''}")
        for c in objectives:
            if data[c].dtype == object:
                raise SpecError(f"pareto: objective '{c}' is not numeric")
        front = frontier(data, objectives, maximize)
        print(f"{len(front)} non-dominated of {n:,} ok points "
              f"({', '.join(('max ' if m else 'min ') + c for c, m in zip(objectives, maximize))})")
        widths = {c: max(len(c), 10) for c in cols}
        print("  ".join(f"{c:>{widths[c]}}" for c in cols))
        for i in front:
            print("  ".join(f"{_fmt(data[c][i]):>{widths[c]}}" for c in cols))
        if args.csv:
            import csv
            with open(args.csv, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(cols)
                for i in front:
                    w.writerow([data[c][i] for c in cols])
        if args.png:
            full = st.read(objectives[:2], where=where)
            plot_frontier(full, objectives[0], objectives[1], maximize[:2],
                          frontier(full, objectives[:2], maximize[:2]), args.png,
                          title=f"{st.manifest.get('spec_name')}: {n:,} points"
                                + (f" ({args.where})" if args.where else ""))
            print(f"plot: {args.png}")
    return 0


def _manifest_axes(st) -> list:
    import json
    try:
        return [a["name"] for a in json.loads(st.manifest["spec"])["axes"]]
    except (KeyError, ValueError):
        return []


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "nan"
        a = abs(v)
        return f"{v:.4g}" if a < 1e-3 or a >= 1e6 else f"{v:.4f}".rstrip("0").rstrip(".") \
            if a < 1 else f"{v:,.2f}"
    return str(v)


def _cmd_export(args) -> int:
    from .store import Store
    if not args.csv and not args.parquet:
        raise SpecError("export: give --csv PATH and/or --parquet PATH")
    with Store.open(args.store, readonly=True) as st:
        if args.csv:
            n = st.export_csv(args.csv, args.status)
            print(f"{n:,} rows -> {args.csv}")
        if args.parquet:
            n = st.export_parquet(args.parquet, args.status)
            print(f"{n:,} rows -> {args.parquet}")
    return 0
