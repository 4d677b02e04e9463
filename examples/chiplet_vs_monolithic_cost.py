"""Chiplet vs monolithic: when does splitting a die pay, and what does it do to a real package?

Part 1 (pure cost model, chipletarch.cost.split): the recurring cost of n equal chiplets (each
carrying a 10 % die-to-die PHY area overhead) on an organic substrate or a silicon interposer,
over the cost of one die of the same total module area on an organic package, as the area grows
to the reticle limit; and the crossover area where the ratio falls below 1. Bigger dies yield
worse (negative-binomial yield in area), so past some area the smaller chiplets win despite the
PHY overhead and the extra assembly steps.

Part 2 (whole packages, chipletarch.cost.package_cost + simulate): the bundled study pair
`mono-reticle-hbm4` (one 800 mm^2 N3P die) and `ucie4-hbm4` (four 206 mm^2 chiplets in a UCIe-A
ring, same cores, clock, memory, ports and TDP): cost of a good package by component, and the
decode latency and $/Mtoken the split costs or saves on Llama-3.1-70B.

    python examples/chiplet_vs_monolithic_cost.py [--node N5] [--out-dir DIR] [--quick]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import chipletarch as ca
from chipletarch.cost.split import (catalog_node, catalog_packaging, crossover_area,
                                    split_ratio)


def ratio_curves(node_name="N5", ns=(2, 4), technologies=("organic-substrate",
                                                           "silicon-interposer"), areas=None):
    node = catalog_node(node_name)
    mono = catalog_packaging("monolithic")
    areas = np.linspace(100, 850, 16) if areas is None else np.asarray(areas)
    curves, cross = {}, {}
    for tech in technologies:
        pk = catalog_packaging(tech)
        for n in ns:
            curves[(tech, n)] = np.array([split_ratio(a, n, node, pk, monolithic_packaging=mono)
                                          for a in areas])
            cross[(tech, n)] = crossover_area(n, node, pk, monolithic_packaging=mono)
    return areas, curves, cross


def package_pair(model="llama3.1-70b", precision="fp8", batch=16, utilisation=0.6):
    rows = {}
    for name in ("mono-reticle-hbm4", "ucie4-hbm4"):
        arch = ca.load_architecture(name)
        pc = ca.package_cost(arch)
        dec = ca.simulate(arch, model, "decode", batch=batch, context_len=2048,
                          precision=precision)
        e = ca.energy_of(dec, arch)
        tc = ca.token_cost(pc, dec.tokens_per_s, power_w=e.average_power_w,
                           utilisation=utilisation)
        rows[name] = dict(cost=pc, tpot_ms=dec.tpot_s * 1e3, usd_per_mtoken=tc.usd_per_million_tokens,
                          j_per_token=e.j_per_token, bound=dec.bound_share())
    return rows


def draw(areas, curves, cross, node_name, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(8, 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for i, ((tech, n), r) in enumerate(curves.items()):
        ax.plot(areas, r, marker="o", ms=3, color=f"C{i}", label=f"{n} chiplets, {tech}")
        c = cross[(tech, n)]
        if c is not None:
            ax.axvline(c, color=f"C{i}", ls=":", lw=1)
    ax.axhline(1.0, color="k", lw=1)
    ax.set_xlabel("total module area (mm², monolithic equivalent)")
    ax.set_ylabel("chiplet cost / monolithic cost")
    ax.set_title(f"recurring cost of splitting a die, {node_name} (dotted: crossover)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--node", default="N5", help="catalog process node (N3, N5, N7, ...)")
    ap.add_argument("--out-dir", type=Path, default=None,
                    help="where to write the PNG (default: a temporary directory)")
    ap.add_argument("--quick", action="store_true", help="coarser area grid (CI smoke test)")
    args = ap.parse_args(argv)
    out = args.out_dir or Path(tempfile.mkdtemp(prefix="chipletarch-"))
    out.mkdir(parents=True, exist_ok=True)

    areas = np.linspace(100, 850, 6 if args.quick else 16)
    areas, curves, cross = ratio_curves(args.node, areas=areas)
    print(f"Part 1: chiplet / monolithic recurring cost on {args.node} (catalog wafer price, "
          f"D0, clustering); < 1 means the split is cheaper")
    print(f"{'area mm2':>9}" + "".join(f"{f'{n}x {t[:9]}':>18}" for (t, n) in curves))
    for i, a in enumerate(areas):
        print(f"{a:>9.0f}" + "".join(f"{r[i]:>18.3f}" for r in curves.values()))
    for (t, n), c in cross.items():
        print(f"crossover, {n} chiplets on {t}: "
              + (f"{c:.0f} mm2" if c is not None else "none below the reticle"))

    print("\nPart 2: the bundled study pair (same cores, clock, memory, TDP)")
    rows = package_pair()
    keys = ("dies", "hbm", "carrier", "substrate", "assembly_scrap")
    print(f"{'package':<20}" + "".join(f"{k:>15}" for k in keys) + f"{'total $':>10}"
          f"{'TPOT ms':>9}{'$/Mtok':>8}")
    for name, r in rows.items():
        c = r["cost"].components()
        print(f"{name:<20}" + "".join(f"{c.get(k, 0.0):>15,.0f}" for k in keys)
              + f"{r['cost'].total:>10,.0f}{r['tpot_ms']:>9.2f}{r['usd_per_mtoken']:>8.3f}")
    m, u = rows["mono-reticle-hbm4"], rows["ucie4-hbm4"]
    dies_ratio = u["cost"].components()["dies"] / m["cost"].components()["dies"]
    print(f"dies: chiplets cost {dies_ratio:.2f}x the monolithic die (yield); whole package "
          f"{u['cost'].total / m['cost'].total:.2f}x (HBM and assembly scrap dominate both); "
          f"decode {u['tpot_ms'] / m['tpot_ms']:.2f}x the latency (D2D hops)")
    p = draw(areas, curves, cross, args.node, out / "chiplet_vs_monolithic.png")
    print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
