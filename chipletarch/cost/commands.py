"""`chipletarch cost ARCH...`: manufacturing cost of one or more architectures, side by side.

Prints one column per architecture (component $ per good package, yields, total), or JSON with
--json; --png draws stacked bars of the components. --volume sets the production volume that
amortises NRE (without it NRE is left out and the table says so).
"""
from __future__ import annotations

import json
import math

from ..errors import SpecError
from .model import YIELD_MODELS
from .economics import Economics, token_cost
from .package import CostOptions, PackageCost, family_cost, package_cost

LABELS = {
    "dies": "known-good dies",
    "hbm": "HBM / memory",
    "carrier": "interposer / RDL",
    "substrate": "substrate",
    "bumps": "bumps",
    "assembly": "assembly process",
    "assembly_scrap": "assembly scrap",
    "final_test": "final test",
    "nre": "NRE (amortised)",
}


def add_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "cost", help="manufacturing cost per package (dies, HBM, packaging, yield, NRE)")
    p.add_argument("archs", nargs="+", metavar="ARCH", help="bundled name or YAML path")
    p.add_argument("--volume", type=float, metavar="N",
                   help="packages built per product (amortises NRE; default: NRE left out)")
    p.add_argument("--family", action="store_true",
                   help="treat the ARCHs as one product family: shared die designs (same name, "
                        "area, node) amortise their NRE over all products")
    p.add_argument("--yield-model", choices=YIELD_MODELS, default="negative_binomial")
    p.add_argument("--bond-yield", type=float, metavar="Y",
                   help="per-attach bonding yield for every package (default: the technology's "
                        "catalog value; COST_MODEL.md §10 gives 0.95-0.99 for interposers; TSMC's "
                        "2026 >98 %% per 5.5-reticle CoWoS is ~0.998 per attach, docs/COST.md)")
    p.add_argument("--assembly-usd", type=float, default=None, metavar="USD",
                   help="assembly process cost per package started (default: the technology's $/mm^2 of "
                        "carrier, E, calibrated on H100 CoWoS-S; 0 for organic)")
    p.add_argument("--final-test-usd", type=float, default=0.0, metavar="USD",
                   help="final (package) test cost per package tested (default 0: no public figure)")
    p.add_argument("--tokens-per-s", type=float, nargs="+", metavar="TPS",
                   help="simulated throughput per package, one per ARCH: adds $ per million "
                        "tokens (capex over lifetime + energy at TDP; docs/COST.md §8)")
    p.add_argument("--lifetime-years", type=float, default=Economics.lifetime_years)
    p.add_argument("--utilisation", type=float, default=Economics.utilisation)
    p.add_argument("--energy-usd-per-kwh", type=float, default=Economics.energy_usd_per_kwh)
    p.add_argument("--pue", type=float, default=Economics.pue)
    p.add_argument("--json", action="store_true", help="print the full breakdowns as JSON")
    p.add_argument("--png", metavar="PATH", help="draw stacked cost bars to a PNG file")
    p.set_defaults(func=cmd_cost)

    p = subparsers.add_parser(
        "cost-crossover",
        help="die area above which splitting into n chiplets costs less than one die")
    p.add_argument("--nodes", nargs="+", default=["N3", "N5", "N7", "N16", "N28"],
                   metavar="NODE", help="catalog process nodes")
    p.add_argument("--technologies", nargs="+", metavar="TECH",
                   default=["organic-substrate", "bridge", "silicon-interposer"],
                   help="catalog package technologies for the chiplet version")
    p.add_argument("-n", "--chiplets", nargs="+", type=int, default=[2, 4, 8], metavar="N")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_crossover)


def _money(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def render_table(costs: list[PackageCost]) -> str:
    head = ["$ per good package"] + [c.name for c in costs]
    rows = [[LABELS[k]] + [_money(c.components()[k]) for c in costs] for k in PackageCost.COMPONENTS]
    rows.append(["recurring (no NRE)"] + [_money(c.recurring) for c in costs])
    rows.append(["TOTAL"] + [_money(c.total) for c in costs])
    rows.append(["assembly yield"] + [f"{c.assembly_yield:.3f}" for c in costs])
    rows.append(["carrier yield"] + ["-" if c.carrier_yield is None else f"{c.carrier_yield:.3f}"
                                     for c in costs])
    names = sorted({n for c in costs for n in c.die_yields})
    for n in names:
        rows.append([f"die yield {n}"] + [f"{c.die_yields[n]:.3f}" if n in c.die_yields else "-"
                                          for c in costs])
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                               for i, (v, w) in enumerate(zip(r, widths))))
    for c in costs:
        for note in c.notes:
            lines.append(f"note ({c.name}): {note}")
    return "\n".join(lines)


def plot_stacked(costs: list[PackageCost], path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(costs), 4.5))
    x = range(len(costs))
    bottom = [0.0] * len(costs)
    for k in PackageCost.COMPONENTS:
        vals = [c.components()[k] for c in costs]
        if not any(vals):
            continue
        ax.bar(x, vals, bottom=bottom, label=LABELS[k], width=0.6)
        bottom = [b + v for b, v in zip(bottom, vals)]
    for i, c in enumerate(costs):
        ax.text(i, bottom[i], f"${c.total:,.0f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(x), [c.name for c in costs], rotation=20, ha="right")
    ax.set_ylabel("US$ per good package")
    vol = {c.volume for c in costs}
    ax.set_title("Manufacturing cost" + (f" (volume {next(iter(vol)):,.0f})"
                                         if len(vol) == 1 and None not in vol else ""))
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def cmd_cost(args) -> int:
    if args.volume is not None and not (args.volume > 0 and math.isfinite(args.volume)):
        raise SpecError(f"--volume must be a positive number, got {args.volume:g}")
    for flag, v in (("--assembly-usd", args.assembly_usd), ("--final-test-usd", args.final_test_usd)):
        if v is not None and not (v >= 0 and math.isfinite(v)):
            raise SpecError(f"{flag} must be a non-negative number, got {v:g}")
    if args.bond_yield is not None and not (0 < args.bond_yield <= 1):
        raise SpecError(f"--bond-yield must lie in (0, 1], got {args.bond_yield:g}")
    opts = CostOptions(yield_model=args.yield_model, bond_yield=args.bond_yield,
                       assembly_usd=args.assembly_usd,
                       final_test_usd=args.final_test_usd)
    if args.family:
        if args.volume is None:
            raise SpecError("--family needs --volume (it only changes how NRE is amortised)")
        costs = list(family_cost([(a, args.volume) for a in args.archs], opts).values())
    else:
        costs = [package_cost(a, volume=args.volume, options=opts) for a in args.archs]
    tokens = None
    if args.tokens_per_s is not None:
        if len(args.tokens_per_s) != len(costs):
            raise SpecError(f"--tokens-per-s needs one value per ARCH ({len(costs)}), "
                            f"got {len(args.tokens_per_s)}")
        from .package import _load
        eco = Economics(lifetime_years=args.lifetime_years, utilisation=args.utilisation,
                        energy_usd_per_kwh=args.energy_usd_per_kwh, pue=args.pue)
        tokens = []
        for name, c, tps in zip(args.archs, costs, args.tokens_per_s):
            tdp = getattr(_load(name), "tdp_w", None)
            tokens.append(token_cost(c, tps, power_w=tdp, economics=eco))
    if args.json:
        out = [c.to_dict() for c in costs]
        for d, t in zip(out, tokens or []):
            d["token_cost"] = t.to_dict()
        print(json.dumps(out, indent=2, default=float))
    else:
        print(render_table(costs))
        if tokens:
            w = max(len(t.name) for t in tokens)
            for t in tokens:
                print(f"{t.name:<{w}}  ${t.usd_per_million_tokens:.4g} per million tokens "
                      f"(capex ${t.capex_usd_per_million_tokens:.3g}, energy "
                      f"${t.opex_usd_per_million_tokens:.3g}) at {t.tokens_per_s:g} tokens/s, "
                      f"{t.power_w:g} W")
    if args.png:
        plot_stacked(costs, args.png)
    return 0


def cmd_crossover(args) -> int:
    from .split import catalog_node, catalog_packaging, crossover_table
    if any(n < 1 for n in args.chiplets):
        raise SpecError("chiplet counts must be >= 1")
    # canonical catalog names, so that aliases (5nm, cowos-s) label the table as the rows do
    args.nodes = [catalog_node(n).name for n in args.nodes]
    args.technologies = [catalog_packaging(t).name for t in args.technologies]
    rows = crossover_table(nodes=args.nodes, technologies=args.technologies, ns=args.chiplets)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("smallest total module area (mm^2) at which n chiplets (+10 % D2D area each) cost no "
          "more than one monolithic die on an organic package; ratio at 800 mm^2 in brackets")
    head = ["node", "n"] + list(args.technologies)
    body = []
    for node in args.nodes:
        for n in args.chiplets:
            cells = []
            for t in args.technologies:
                r = next(r for r in rows if r["technology"] == t and r["n"] == n
                         and r["node"].lower() == node.lower())
                a = r["crossover_mm2"]
                cells.append(("never < 858" if a is None else f"{a:.0f}")
                             + f" ({r['ratio_at_800']:.2f})")
            body.append([node, str(n)] + cells)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    for r in [head, ["-" * w for w in widths]] + body:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
    return 0
