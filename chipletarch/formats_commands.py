"""`chipletarch formats`: list the number formats with their storage cost and quantization quality.

For every registry format it prints element bits, block size, scale format, effective bits per
element, max normal, and the SQNR (dB) of a round trip through the format (`mx.quantize`) on three
standard distributions: Gaussian N(0, 1), Laplace (scale 1) and Student-t with 3 degrees of
freedom, each without and with one outlier per 32-element block (a value of 32× the sample's
standard deviation, random sign, at a random position). With outliers, the SQNR is measured on
the other elements only: it shows how much precision ordinary values lose when a block scale (or a
per-tensor scale) has to cover an outlier. Samples are fixed (seeded) so the table is reproducible;
reports use these figures to flag the accuracy risk of a precision choice.

`chipletarch formats --presets` prints the precision presets instead.
"""
from __future__ import annotations

import json

import numpy as np

from .formats import FORMATS, PRECISIONS, get_format

DISTRIBUTIONS = ("gaussian", "laplace", "student_t3")
OUTLIER_BLOCK = 32          # one outlier per this many elements
OUTLIER_SIGMAS = 32.0       # outlier magnitude in sample standard deviations


def samples(rows: int = 64, cols: int = 1024, seed: int = 0) -> dict:
    """The standard samples: {(distribution, with_outlier): (x float32, inlier mask)}."""
    out = {}
    for i, dist in enumerate(DISTRIBUTIONS):
        rng = np.random.default_rng(seed + i)
        if dist == "gaussian":
            x = rng.standard_normal((rows, cols))
        elif dist == "laplace":
            x = rng.laplace(size=(rows, cols))
        else:
            x = rng.standard_t(3, size=(rows, cols))
        x = x.astype(np.float32)
        out[(dist, False)] = (x, np.ones(x.shape, bool))
        xo = x.copy()
        nb = cols // OUTLIER_BLOCK
        pos = rng.integers(0, OUTLIER_BLOCK, (rows, nb)) + np.arange(nb) * OUTLIER_BLOCK
        sign = np.where(rng.random((rows, nb)) < 0.5, -1.0, 1.0)
        mag = np.float32(OUTLIER_SIGMAS * float(np.std(x)))
        np.put_along_axis(xo, pos, (sign * mag).astype(np.float32), axis=1)
        inl = np.ones(x.shape, bool)
        np.put_along_axis(inl, pos, False, axis=1)
        out[(dist, True)] = (xo, inl)
    return out


def format_table(rows: int = 64, cols: int = 1024, seed: int = 0) -> list[dict]:
    """One dict per format: registry figures plus SQNR (dB) per sample."""
    from .mx import mx_error_stats

    data = samples(rows, cols, seed)
    table = []
    for f in FORMATS.values():
        row = {
            "name": f.name, "family": f.family, "element_bits": f.element_bits,
            "block_size": f.block_size, "scale_format": f.scale_format or "-",
            "bits_per_element": f.bits_per_element, "max_normal": f.max_normal,
        }
        for (dist, outl), (x, inl) in data.items():
            key = f"sqnr_{dist}" + ("_outlier" if outl else "")
            row[key] = mx_error_stats(x, f, where=inl)["sqnr_db"]
        table.append(row)
    return table


def _fmt_db(v: float) -> str:
    return "exact" if v == float("inf") else f"{v:.1f}"


def _cmd_formats(args) -> int:
    if args.presets:
        rows = [{"name": p.name, "weights": p.weights, "activations": p.activations,
                 "kv_cache": p.kv_cache, "compute": p.compute, "description": p.description}
                for p in PRECISIONS.values()]
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        print(f"{'preset':<10} {'weights':<11} {'activations':<11} {'kv_cache':<11} "
              f"{'compute':<11} description")
        for r in rows:
            print(f"{r['name']:<10} {r['weights']:<11} {r['activations']:<11} "
                  f"{r['kv_cache']:<11} {r['compute']:<11} {r['description']}")
        return 0
    table = format_table(seed=args.seed)
    if args.name:
        keep = {get_format(n).name for n in args.name}
        table = [r for r in table if r["name"] in keep]
    if args.json:
        print(json.dumps(table, indent=2, default=float))
        return 0
    print("SQNR (dB) of a round trip on 65,536 values; '+o': one 32-sigma outlier per 32 "
          "values, SQNR of the other values")
    print(f"{'format':<11} {'bits':>5} {'block':>5} {'scale':>5} {'bits/el':>7} "
          f"{'max normal':>10}  {'gauss':>6} {'+o':>6} {'laplace':>7} {'+o':>6} "
          f"{'t(3)':>6} {'+o':>6}")
    for r in table:
        print(f"{r['name']:<11} {r['element_bits']:>5} {r['block_size'] or '-':>5} "
              f"{r['scale_format']:>5} {r['bits_per_element']:>7.3g} {r['max_normal']:>10.4g}  "
              f"{_fmt_db(r['sqnr_gaussian']):>6} {_fmt_db(r['sqnr_gaussian_outlier']):>6} "
              f"{_fmt_db(r['sqnr_laplace']):>7} {_fmt_db(r['sqnr_laplace_outlier']):>6} "
              f"{_fmt_db(r['sqnr_student_t3']):>6} {_fmt_db(r['sqnr_student_t3_outlier']):>6}")
    print("per-tensor formats (fp8_*, int8, int4) use one amax scale for the whole sample; "
          "see docs/FORMATS.md")
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "formats", help="list number formats: bits per element and quantization SQNR",
        description=__doc__.split("\n\n")[1])
    p.add_argument("name", nargs="*", help="only these formats (names or aliases)")
    p.add_argument("--presets", action="store_true", help="list the precision presets instead")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--seed", type=int, default=0, help="sample seed (default 0)")
    p.set_defaults(func=_cmd_formats)
