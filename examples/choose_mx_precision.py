"""Choosing a number format: quantisation error (SQNR) against speed and energy, per precision.

For each precision preset (weights / activations / KV-cache formats, docs/FORMATS.md) it measures
the round-trip SQNR of the formats with the bit-exact MX numerics (`mx_error_stats` on the
standard samples of `chipletarch formats`: Gaussian, Laplace, Student-t(3), each also with one
32-sigma outlier per 32 values), then simulates prefill and decode on a design with native MX
rates (B200 by default) and the energy per token. The table and the plot put the two sides of
the choice next to each other; the SQNR is a screening figure for the tensors' formats, not a
prediction of model quality (measure that on the model).

    python examples/choose_mx_precision.py [--arch b200] [--model llama3.1-8b] [--out-dir DIR]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import chipletarch as ca
from chipletarch.report import precision_accuracy

PRECISIONS = ("bf16", "fp8", "mxfp8", "mxfp6", "w4a16", "mxfp4", "nvfp4")


def study(arch_name="b200", model="llama3.1-8b", precisions=PRECISIONS, batch=16,
          input_len=1024, output_len=256) -> list[dict]:
    arch = ca.load_architecture(arch_name)
    rows = []
    for prec in precisions:
        acc = precision_accuracy(prec)
        pre = ca.simulate(arch, model, "prefill", batch=batch, seq_len=input_len,
                          precision=prec)
        dec = ca.simulate(arch, model, "decode", batch=batch,
                          context_len=input_len + output_len // 2, precision=prec)
        e = ca.energy_of(dec, arch)
        worst = min(acc, key=lambda r: r["worst_db"])
        rows.append(dict(precision=prec, formats="/".join(r["format"] for r in acc),
                         gaussian_db=min(r["gaussian_db"] for r in acc),
                         worst_db=worst["worst_db"], worst_role=worst["role"], band=worst["band"],
                         ttft_ms=pre.ttft_s * 1e3, tpot_ms=dec.tpot_s * 1e3,
                         j_per_token=e.j_per_token,
                         weight_gb=dec.total("hbm_bytes") / 1e9,
                         notes=list(dict.fromkeys(pre.notes + dec.notes))))
    base = next(r for r in rows if r["precision"] == "bf16") if "bf16" in precisions else rows[0]
    for r in rows:
        r["decode_speedup"] = base["tpot_ms"] / r["tpot_ms"]
        r["prefill_speedup"] = base["ttft_ms"] / r["ttft_ms"]
    return rows


def draw(rows, title, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(11, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    for ax, key, what in ((ax1, "decode_speedup", "decode (TPOT)"),
                          (ax2, "prefill_speedup", "prefill (TTFT)")):
        for r in rows:
            for db, mk, lab in ((r["gaussian_db"], "o", "Gaussian"),
                                (r["worst_db"], "x", "worst sample")):
                ax.scatter(r[key], db, marker=mk, color="C0" if mk == "o" else "C3",
                           label=lab if r is rows[0] else None)
            ax.annotate(r["precision"], (r[key], r["gaussian_db"]), xytext=(5, 3),
                        textcoords="offset points", fontsize=8)
        ax.set_xlabel(f"{what} speed-up over bf16")
        ax.set_ylabel("SQNR dB of the weakest tensor format")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="b200")
    ap.add_argument("--model", default="llama3.1-8b")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="where to write the PNG (default: a temporary directory)")
    ap.add_argument("--quick", action="store_true", help="bf16, fp8, mxfp6, mxfp4 only (CI)")
    args = ap.parse_args(argv)
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="chipletarch-"))
    out.mkdir(parents=True, exist_ok=True)
    precs = ("bf16", "fp8", "mxfp6", "mxfp4") if args.quick else PRECISIONS
    rows = study(args.arch, args.model, precs, batch=args.batch)
    print(f"{args.model} on {args.arch}, batch {args.batch}, prompt 1024, decode at 1152 cached")
    hdr = (f"{'precision':<9} {'weights/acts/kv':<34}{'SQNR dB':>8}{'worst':>7}  {'risk':<9}"
           f"{'TTFT ms':>8}{'TPOT ms':>8}{'decode x':>9}{'J/token':>9}")
    print(hdr + "\n" + "-" * len(hdr))
    for r in rows:
        print(f"{r['precision']:<9} {r['formats']:<34}{r['gaussian_db']:>8.1f}"
              f"{r['worst_db']:>7.1f}  {r['band']:<9}{r['ttft_ms']:>8.1f}{r['tpot_ms']:>8.3f}"
              f"{r['decode_speedup']:>9.2f}{r['j_per_token']:>9.4f}")
    for r in rows:
        for n in r["notes"]:
            print(f"note ({r['precision']}): {n}")
    print("SQNR: weakest tensor format of the preset on Gaussian data; worst: over all samples "
          "(outliers included). Risk bands are a screening aid (chipletarch.report.RISK_BANDS).")
    p = draw(rows, f"{args.model} on {args.arch}: accuracy vs speed per precision",
             out / "choose_mx_precision.png")
    print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
