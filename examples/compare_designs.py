"""Compare packages on one workload: latency, throughput, energy per token, cost per token.

Runs the same point (model, precision, batch, prompt and output lengths, tensor parallelism) on
several bundled architectures with the public API — `simulate` for prefill and decode,
`energy_of` for joules, `package_cost` and `token_cost` for dollars — prints one table and draws
the engine's latency breakdown (by operator class and by bounding resource) for both phases.

    python examples/compare_designs.py [--designs h100-sxm h200-sxm b200 mi300x] \
        [--model llama3.1-70b] [--precision fp8] [--tp 2] [--out-dir DIR]

Same point definition as sweeps and reports: TTFT = prefill of `batch` x `input_len` tokens;
TPOT = one decode step at `input_len + output_len / 2` cached tokens.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import chipletarch as ca
from chipletarch.engine.commands import draw_compare

DEFAULT_DESIGNS = ("h100-sxm", "h200-sxm", "b200", "mi300x")


def compare(designs, model="llama3.1-70b", precision="fp8", batch=16, input_len=2048,
            output_len=256, tp=2, utilisation=0.6) -> list[dict]:
    rows = []
    ctx = input_len + output_len // 2
    for name in designs:
        arch = ca.load_architecture(name)
        pre = ca.simulate(arch, model, "prefill", batch=batch, seq_len=input_len,
                          precision=precision, tp=tp)
        dec = ca.simulate(arch, model, "decode", batch=batch, context_len=ctx,
                          precision=precision, tp=tp)
        e = ca.energy_of(dec, arch)
        packages = tp                      # one device per package (simulate's default)
        cost = ca.package_cost(arch)
        tc = ca.token_cost(cost, dec.tokens_per_s / packages, power_w=e.average_power_w,
                           utilisation=utilisation)
        share = dec.bound_share()
        rows.append(dict(design=name, prefill=pre, decode=dec, ttft_ms=pre.ttft_s * 1e3,
                         tpot_ms=dec.tpot_s * 1e3, tokens_per_s=dec.tokens_per_s,
                         j_per_token=e.j_per_token, power_w=e.average_power_w,
                         package_usd=cost.total, usd_per_mtoken=tc.usd_per_million_tokens,
                         decode_bound=max(share, key=share.get)))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", nargs="+", default=list(DEFAULT_DESIGNS))
    ap.add_argument("--model", default="llama3.1-70b")
    ap.add_argument("--precision", default="fp8")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--tp", type=int, default=2)
    ap.add_argument("--utilisation", type=float, default=0.6,
                    help="share of hours serving at this rate, for $/Mtoken (an assumption)")
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="where to write the PNGs (default: a temporary directory)")
    ap.add_argument("--quick", action="store_true", help="two designs only (CI smoke test)")
    args = ap.parse_args(argv)
    designs = args.designs[:2] if args.quick else args.designs
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="chipletarch-"))
    out.mkdir(parents=True, exist_ok=True)

    rows = compare(designs, args.model, args.precision, args.batch, tp=args.tp,
                   utilisation=args.utilisation)
    print(f"{args.model} {args.precision}, batch {args.batch}, tp={args.tp}, input 2048, "
          f"output 256; $/Mtoken at utilisation {args.utilisation:g}")
    hdr = (f"{'design':<12}{'TTFT ms':>10}{'TPOT ms':>10}{'tokens/s':>10}{'J/token':>9}"
           f"{'W/pkg':>7}{'pkg $':>8}{'$/Mtok':>8}  decode bound")
    print(hdr + "\n" + "-" * len(hdr))
    for r in rows:
        print(f"{r['design']:<12}{r['ttft_ms']:>10.1f}{r['tpot_ms']:>10.2f}"
              f"{r['tokens_per_s']:>10,.0f}{r['j_per_token']:>9.3f}{r['power_w']:>7.0f}"
              f"{r['package_usd']:>8,.0f}{r['usd_per_mtoken']:>8.3f}  {r['decode_bound']}")
    best = min(rows, key=lambda r: r["usd_per_mtoken"])
    print(f"cheapest per token: {best['design']}; fastest decode: "
          f"{min(rows, key=lambda r: r['tpot_ms'])['design']}")
    for phase in ("prefill", "decode"):
        p = out / f"compare_{phase}.png"
        draw_compare([r[phase] for r in rows], p)
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
