"""A custom systolic-array chiplet package with native MXFP4, built in Python and simulated.

The package: four compute chiplets on a silicon interposer, each with 8 cores whose matrix
engine is a 128 x 128 weight-stationary systolic array, joined by UCIe-advanced links in a 2 x 2
mesh, one HBM3E stack per chiplet. It is a study design, not a product: the per-core rates are
this example's assumptions (stated next to each number) and nothing here is calibrated.

What it shows: how a new compute unit is described (`Core` with `macs_per_cycle` per format and
a `Systolic` block), how a package is assembled from dies, memory and links, and what native
MXFP4 buys over BF16 on this design for Llama-3.1-8B prefill and decode (latency, energy per
token), with the bounding resource of each case so the speed-up can be read correctly.

    python examples/custom_systolic_mxfp4.py [--out-dir DIR] [--batch 32]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import chipletarch as ca
from chipletarch.arch import Architecture, ComputeDie, Core, MemoryStack, Systolic, mesh
from chipletarch.arch.drawing import draw_package


def build_package() -> Architecture:
    core = Core(
        macs_per_cycle={
            "bf16": 128 * 128,          # one MAC per PE per clock in BF16 (the array's native width)
            "fp8_e4m3": 2 * 128 * 128,  # assumption: each PE splits into 2 FP8 multipliers
            "mxfp8_e4m3": 2 * 128 * 128,
            "mxfp4_e2m1": 4 * 128 * 128,  # assumption: 4 FP4 products per PE per clock, scales per 32
        },
        vector_flops_per_cycle=512,     # 256 FP32 FMA lanes per core (assumption)
        sfu_ops_per_cycle=32,
        sram_kib=2048,                  # 2 MiB scratchpad per core feeding the array
        sram_bytes_per_cycle=768,       # 128 BF16 inputs + 128 FP32 partial sums per clock
        systolic=Systolic(rows=128, cols=128, dataflow="weight-stationary"),
    )
    chiplet = ComputeDie(name="sa", count=4, process="N3P", area_mm2=180, clock_ghz=1.6,
                         cores=8, memory_interfaces=1, cache_mib=32, core=core)
    return Architecture(
        name="systolic-mxfp4-quad",
        description="4 systolic chiplets (8 x 128x128 MXU each), UCIe-A 2x2 mesh, 4x HBM3E",
        technology="silicon-interposer",
        tdp_w=600,
        dies=[chiplet],
        memory=[MemoryStack(name="hbm", count=4, generation="hbm3e", capacity_gb=36,
                            bandwidth_gb_s=1200, attach="sa")],
        links=mesh(["sa0", "sa1", "sa2", "sa3"], rows=2, kind="ucie-advanced",
                   bandwidth_gb_s=1024),
    )


def run(out_dir: Path, batch: int = 32, model: str = "llama3.1-8b") -> dict:
    pkg = build_package()
    print(f"{pkg.name}: {pkg.description}")
    for f in ("bf16", "mxfp4"):
        print(f"  peak {f:6s} {pkg.peak_flops(f) / 1e12:8,.0f} TFLOP/s")
    print(f"  memory {pkg.memory_capacity_bytes / 1e9:.0f} GB at "
          f"{pkg.memory_bandwidth_bytes_per_s / 1e12:.2f} TB/s")
    png = draw_package(pkg, out_dir / "systolic_mxfp4_quad.png")
    yaml_path = out_dir / "systolic_mxfp4_quad.yaml"
    yaml_path.write_text(pkg.to_yaml())          # loads back with chipletarch.load_architecture

    rows = {}
    print(f"\n{model}, batch {batch}: prefill 1024 tokens, decode at 1024 cached tokens")
    print(f"{'precision':<10}{'TTFT ms':>10}{'TPOT ms':>10}{'tok/s':>10}{'J/token':>10}"
          f"  decode bound")
    for prec in ("bf16", "mxfp4"):
        pre = ca.simulate(pkg, model, "prefill", batch=batch, seq_len=1024, precision=prec)
        dec = ca.simulate(pkg, model, "decode", batch=batch, context_len=1024, precision=prec)
        e = ca.energy_of(dec, pkg)
        share = dec.bound_share()
        top = max(share, key=share.get)
        rows[prec] = dict(ttft_s=pre.ttft_s, tpot_s=dec.tpot_s, tokens_per_s=dec.tokens_per_s,
                          j_per_token=e.j_per_token, decode_bound=top, notes=dec.notes)
        print(f"{prec:<10}{pre.ttft_s * 1e3:>10.2f}{dec.tpot_s * 1e3:>10.3f}"
              f"{dec.tokens_per_s:>10,.0f}{e.j_per_token:>10.4f}  {top} {share[top]:.0%}")
    sp = rows["bf16"]["tpot_s"] / rows["mxfp4"]["tpot_s"]
    print(f"\nMXFP4 decode speed-up over BF16: {sp:.2f}x "
          f"(weights 4.25 vs 16 bits/element; the bound column says which resource limits it)")
    for n in dict.fromkeys(rows["mxfp4"]["notes"] + rows["bf16"]["notes"]):
        print(f"note: {n}")
    print(f"wrote {png}\nwrote {yaml_path}")
    return {"rows": rows, "speedup": sp, "png": png, "yaml": yaml_path, "arch": pkg}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", type=Path, default=None, help="where to write the PNG and YAML "
                                                               "(default: a temporary directory)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--quick", action="store_true", help="accepted for CI symmetry (already fast)")
    args = ap.parse_args(argv)
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="chipletarch-"))
    out.mkdir(parents=True, exist_ok=True)
    run(out, batch=args.batch)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
