"""The cost model's validation numbers, reproducible: `python -m chipletarch.cost.validation`.

Prints (as Markdown) every table of docs/VALIDATION.md "## Cost": AMD's EPYC chiplet ratio, the
Chiplet Actuary split ratios, the bills of materials of the bundled H100 / H200 / B200 / MI300X
files against the published estimate ranges (defined in `PUBLISHED` / `published_range`), a step
table of the BOM changes, the scrap breakdown, sensitivities, the H100 logic-die reconciliation
and the crossover areas per node and package technology.
"""
from __future__ import annotations

import math

from . import model as M
from .package import CostOptions, package_cost
from .params import ACTUARY_NODES, ACTUARY_PACKAGING
from .split import catalog_node, crossover_table, split_ratio

# ---- published estimates (HARDWARE.md §1-4; COST_MODEL.md §5b/§6) ----------------------------
# HBM price per GB by generation: every sheet figure that gives one (E).
HBM_USD_PER_GB = {
    # [C30] ~$15/GB; [C25] H100 80 GB => ~$1,200-1,500, i.e. $15-18.75/GB
    "hbm3": (15.0, 1500 / 80, "[C30] $15/GB; [C25] $1,200-1,500 for 80 GB"),
    # [C32] $238 per 24 GB 8-Hi HBM3E stack (model) = $9.92/GB; [C26][S8] B200 HBM ~$2,900 for 192 GB =
    # $15.1/GB; [C31] HBM3 $15 x 1.2 = $18/GB
    "hbm3e": (238 / 24, 18.0, "[C32] $238/24 GB; [S8] $2,900/192 GB; [C31] $15 x 1.2"),
}

# Per product: published totals and the published split of one source. A component a source gives
# becomes a range over every sheet figure for it; HBM in particular also spans the generation's
# $/GB range above times the physical capacity. The rest of a split total (what its source does not
# itemise) is kept at that source's value. The published range of the total = [min, max] over the
# published totals, the ranges a source publishes for the total (`ranges`), and the sums of the
# component ranges (docs/VALIDATION.md "Published ranges"). Sources [X#] are outside the reference
# sheets; docs/COST.md "Sources beyond the reference sheets" lists them.
PUBLISHED = {
    "h100-sxm": dict(
        totals=[(3320, "[S7] Raymond James"), (3370, "sum of the [S8] split"),
                (3000, "[S9] with materials"), (3000, "[S7] Epoch AI notebook, an independent estimate")],
        split=(3370, dict(logic=300, hbm=1400, packaging=750, test_assembly=920)),     # [S8]
        components=dict(logic=(200, 300, "[S9] $200, [S8] $300"),
                        hbm=(1200, 1500, "[C25][C30] 80 GB x $15-18.75; [S8] 1.4k; [S9] 1,500"),
                        packaging=(723, 750, "[C25] 723, [C26] 750"),
                        test_assembly=(920, 920, "[S8]")),
        src="HARDWARE §1 [S7][S8][S9]; COST_MODEL §5b/§6 [C25][C26][C30]"),
    "h200-sxm": dict(
        totals=[(4800, "[S8]")],
        split=None,                  # [S8] gives the total only; the same GH100 and CoWoS-S as H100
        components=dict(logic=(200, 300, "as H100 (same die, HARDWARE §2)"),
                        hbm=(144 * 238 / 24, 144 * 18.0, "144 GB x HBM3e $9.92-18/GB"),
                        packaging=(723, 750, "as H100 (CoWoS-S)"),
                        test_assembly=(920, 920, "as H100 [S8]")),
        src="HARDWARE §2 [S8]; components as H100 + HBM3e $/GB"),
    "b200": dict(
        totals=[(6400, "[S8]")],
        # [X1] Epoch AI's B200 estimate publishes its own range of the total
        ranges=[(5700, 7300, "[X1] Epoch AI")],
        # [X2] itemises all of [S8]'s 6,400: HBM 2,900, packaging 1,100, yield loss 1,000, logic 900,
        # other 500 (test+assembly here = yield loss + other, what follows the packaging)
        split=(6400, dict(hbm=2900, packaging=1100, logic=900, test_assembly=1500)),
        components=dict(logic=(720, 1200, "[X1] 720-1,200; [X2] 900"),
                        hbm=(192 * 238 / 24, 192 * 18.0,
                             "192 GB x HBM3e $9.92-18/GB; [S8] 2,900; [X1] 2,800-3,100"),
                        packaging=(1000, 1200, "[X1] 1,000-1,200; [C26] 1,100"),
                        test_assembly=(1500, 1580, "yield loss + other: [X2] 1,000 + 500; "
                                                   "[X1] 1,100 + 480")),
        src="HARDWARE §3 [S8]; COST_MODEL §5b [C26], §6 [C31][C32]; [X1][X2]"),
    "mi300x": dict(
        totals=[(5300, "[S8]")],
        # [S8]'s cost bridge itemises the rest: test & assembly $600
        split=(5300, dict(logic=600, hbm=2900, packaging=1200, test_assembly=600)),
        components=dict(logic=(600, 600, "[S8]"),
                        hbm=(2880, 3600, "192 GB x HBM3 $15-18.75/GB; [S8] 2,900"),
                        packaging=(1200, 1200, "[C25]"),
                        test_assembly=(600, 600, "[S8] cost bridge")),
        src="HARDWARE §4 [S8]; COST_MODEL §5b [C25], §6 [C25][C30]"),
}

def published_range(name: str) -> tuple[float, float]:
    """[min, max] of a product's published total: its published totals and the sums of its
    component ranges (the split source's unitemised rest at that source's value)."""
    pub = PUBLISHED[name]
    comps = pub["components"]
    lo = sum(c[0] for c in comps.values())
    hi = sum(c[1] for c in comps.values())
    if pub["split"] is not None:
        total, items = pub["split"]
        rest = total - sum(items.values())
        lo, hi = lo + rest, hi + rest
    values = [t for t, _ in pub["totals"]]
    for r_lo, r_hi, _ in pub.get("ranges", ()):
        values += [r_lo, r_hi]
    return float(min(values + [lo])), float(max(values + [hi]))


# 12-Hi stacks where HARDWARE.md says so (MI300X §4 "8 stacks x 24 GB (12-Hi)")
BOM_OPTIONS: dict = {}   # every BOM input comes from the bundled YAMLs (MI300X stack_height: 12)
DESIGNS = ("h100-sxm", "h200-sxm", "b200", "mi300x")


def bom_architectures():
    """The bundled YAML files of the four products with published bills of materials."""
    from ..arch import load_architecture
    return [load_architecture(n) for n in DESIGNS]


def _range(r):
    if r is None:
        return "-"
    lo, hi = (round(r[0]), round(r[1]))
    return f"{lo:,}" if lo == hi else f"{lo:,}-{hi:,}"


def _dev(x, r):
    """"in" inside [lo, hi], else the deviation from the nearer end."""
    if r is None:
        return "-"
    lo, hi = r
    if lo - 0.5 <= x <= hi + 0.5:
        return "in"
    return f"{x / (lo if x < lo else hi) - 1:+.0%}"


# ---- the previous defaults, for the step table -----------------------------------------------
# Chiplet Actuary's packaging yields [C2] (CM §5a) as the catalog had them before the per-
# technology yields: interposer D0 0.06 at alpha 6 and 0.95 per attach (CoWoS-S, SoIC), the fan-out
# RDL row for CoWoS-L (D0 0.05, alpha 3, 0.98) without bridges.
_ACTUARY_TECH = {
    "silicon-interposer": dict(interposer_defect_density_per_cm2=0.06, interposer_cluster_alpha=6.0,
                               bond_yield_per_die=0.95, hybrid_bond_yield_per_die=None),
    "3d-hybrid-bonding": dict(interposer_defect_density_per_cm2=0.06, interposer_cluster_alpha=6.0,
                              bond_yield_per_die=0.95, hybrid_bond_yield_per_die=None),
    "bridge": dict(interposer_defect_density_per_cm2=0.05, interposer_cluster_alpha=3.0,
                   bond_yield_per_die=0.98, bridge_area_mm2=None),
}


def _with_tech(a, **update):
    return a.model_copy(update={"technology": a.technology.model_copy(update=update)})


def _usable_gb(a):
    return a.model_copy(update={"memory": [m.model_copy(update={"physical_capacity_gb": None})
                                           for m in a.memory]})


def _with_nodes(a, update_for):
    """Every die's process node with the fields `update_for(node)` returns replaced (a D0 or
    wafer-price sensitivity); an empty dict leaves that die's node alone."""
    dies = [d.model_copy(update={"process": d.process.model_copy(update=update_for(d.process))})
            for d in a.dies]
    return a.model_copy(update={"dies": dies})


def _mature_d0(node) -> dict:
    """Mature end of CM §10's D0 range for the node's family: N5/N4 0.07-0.11, N6/N7 0.06-0.09."""
    if node.feature_nm <= 5:
        return {"defect_density_per_cm2": 0.07}
    if node.feature_nm <= 7:
        return {"defect_density_per_cm2": 0.06}
    return {}


def _s9_wafer(node) -> dict:
    """[S9]'s $13,400 wafer, quoted for H100's 4N: applied to the N5/N4 family only."""
    return {"wafer_price_usd": 13400.0} if node.feature_nm <= 5 else {}


def _with_fraction(a, delta):
    dies = []
    for d in a.dies:
        r = getattr(d, "redundancy", None)
        if r is not None:
            r = r.model_copy(update={"area_fraction": min(1.0, max(0.05, r.area_fraction + delta))})
        dies.append(d.model_copy(update={"redundancy": r}))
    return a.model_copy(update={"dies": dies})


def _recurring(a, **opts) -> float:
    from dataclasses import replace
    return package_cost(a, options=replace(BOM_OPTIONS.get(a.name, CostOptions()), **opts)).recurring


def step_table() -> str:
    """Recurring total as each change of the BOM work is applied in turn."""
    lines = ["| design | Chiplet Actuary packaging yields, no harvesting, usable GB | + harvesting "
             "(`redundancy`) | + packaging yields per technology, bridges | + HBM priced on "
             "physical GB (catalog) | published range | in / out |",
             "|---|---|---|---|---|---|---|"]
    for a in bom_architectures():
        old = _usable_gb(_with_tech(a, **_ACTUARY_TECH.get(a.technology.name, {})))
        v = [_recurring(old, redundancy=False), _recurring(old),
             _recurring(_usable_gb(a)), _recurring(a)]
        r = published_range(a.name)
        lines.append(f"| {a.name} | " + " | ".join(f"{x:,.0f}" for x in v)
                     + f" | {_range(r)} | {_dev(v[-1], r)} |")
    return "\n".join(lines)


def bom_table() -> str:
    """Component table at catalog defaults. "packaging" = interposer/RDL + bridges + substrate +
    bumps + assembly process (what analysts call the CoWoS cost; H100's is the calibration point
    of params.ASSEMBLY_USD_PER_CARRIER_MM2), before scrap; "assembly scrap" = every component lost
    to carrier test, hybrid bonds, die/stack attach and substrate attach."""
    lines = ["| design | interposer mm^2 | logic die yields | carrier yield | assembly yield | "
             "logic dies | HBM | packaging | assembly scrap | recurring total | published range | "
             "in / out |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    comp = ["| design | logic vs published | HBM vs published | packaging vs published | "
            "scrap + final test vs published test+assembly (B200: yield loss + other) |",
            "|---|---|---|---|---|"]
    for a in bom_architectures():
        pub = PUBLISHED[a.name]["components"]
        c = package_cost(a, options=BOM_OPTIONS.get(a.name, CostOptions()))
        area = next((i["area_mm2"] for i in c.items if i["category"] == "carrier"), None)
        ys = " / ".join(f"{k} {v:.2f}" for k, v in c.die_yields.items())
        pkg = c.packaging + c.assembly
        r = published_range(a.name)
        lines.append(
            f"| {a.name} | {area:,.0f} | {ys} | {c.carrier_yield:.2f} | {c.assembly_yield:.2f} | "
            f"{c.dies:,.0f} | {c.hbm:,.0f} | {pkg:,.0f} | {c.assembly_scrap:,.0f} | "
            f"{c.recurring:,.0f} | {_range(r)} | {_dev(c.recurring, r)} |")
        get = lambda k: None if k not in pub else (pub[k][0], pub[k][1])
        comp.append(f"| {a.name} | {_dev(c.dies, get('logic'))} | {_dev(c.hbm, get('hbm'))} | "
                    f"{_dev(pkg, get('packaging'))} | "
                    f"{_dev(c.assembly_scrap + c.final_test, get('test_assembly'))} |")
    lines += ["", "Each component against its published range (\"in\" = inside; H100 packaging is "
              "the calibration point of the assembly-process rate, not a check):", ""] + comp
    lines += ["", "| design | published totals | range of the total | logic | HBM | packaging | "
              "test+assembly | source |", "|---|---|---|---|---|---|---|---|"]
    for name, pub in PUBLISHED.items():
        c = pub["components"]
        cell = lambda k: "-" if k not in c else f"{_range(c[k][:2])} ({c[k][2]})"
        totals = ", ".join([f"{t:,} {s}" for t, s in pub["totals"]]
                           + [f"{lo:,}-{hi:,} {s}" for lo, hi, s in pub.get("ranges", ())])
        lines.append(f"| {name} | {totals} | {_range(published_range(name))} | {cell('logic')} | "
                     f"{cell('hbm')} | {cell('packaging')} | {cell('test_assembly')} | {pub['src']} |")
    return "\n".join(lines)


def scrap_table() -> str:
    """Where the assembly scrap comes from, per component (catalog defaults)."""
    lines = ["| design | dies | HBM | carrier + bridges | assembly process | substrate | total |",
             "|---|---|---|---|---|---|---|"]
    for a in bom_architectures():
        c = package_cost(a, options=BOM_OPTIONS.get(a.name, CostOptions()))
        by: dict[str, float] = {}
        for i in c.items:
            k = "carrier" if i["category"] == "bridge" else i["category"]
            by[k] = by.get(k, 0.0) + i["scrap"]
        lines.append(f"| {a.name} | {by.get('die', 0):,.0f} | {by.get('hbm', 0):,.0f} | "
                     f"{by.get('carrier', 0):,.0f} | {by.get('assembly', 0):,.0f} | "
                     f"{by.get('substrate', 0):,.0f} | {c.assembly_scrap:,.0f} |")
    return "\n".join(lines)


# Interposer D0 of Chiplet Actuary [C2] (CM §5a), the value the catalog had before [C27]
ACTUARY_INTERPOSER_D0 = 0.06


def _carrier_attaches(c) -> int:
    """Dies and memory stacks attached to the carrier (not those hybrid-bonded onto a base die)."""
    return sum(i["count"] for i in c.items if (i["category"] == "die" and not i.get("stacked_on"))
               or i["category"] == "hbm")


def _per_attach_process(a) -> float:
    """Recurring total with the assembly process priced per carrier attach instead of per mm^2
    of carrier: H100's calibrated process cost over its attaches (1 die + 6 stacks) times the
    design's attaches. [C24] says CoWoS cost depends on "die count and interposer size"; one
    published point cannot split the two, so the catalog scales with area and this row shows
    the other end."""
    h = package_cost(next(x for x in bom_architectures() if x.name == "h100-sxm"))
    rate = h.assembly / _carrier_attaches(h)
    c = package_cost(a, options=BOM_OPTIONS.get(a.name, CostOptions()))
    return _recurring(a, assembly_usd=rate * _carrier_attaches(c))


def sensitivity_table() -> str:
    """Recurring total when one estimated input moves to another sheet-supported value."""
    archs = bom_architectures()
    rows = [
        ("catalog defaults", "", lambda a: _recurring(a)),
        ("repairable area fraction -0.1", "E (YAML comments)",
         lambda a: _recurring(_with_fraction(a, -0.1))),
        ("repairable area fraction +0.1", "E (YAML comments)",
         lambda a: _recurring(_with_fraction(a, +0.1))),
        ("no harvesting (`redundancy=False`)", "", lambda a: _recurring(a, redundancy=False)),
        ("attach yield 0.95 (all technologies)", "CM §10 low end [C2]",
         lambda a: _recurring(a, bond_yield=0.95)),
        ("attach yield 0.99 (all technologies)", "CM §10 high end",
         lambda a: _recurring(a, bond_yield=0.99)),
        ("attach yield 0.998 (all technologies)", "[X3] TSMC 2026: >98 % per 5.5-reticle CoWoS",
         lambda a: _recurring(a, bond_yield=0.998)),
        ("hybrid-bond yield 0.99", "CM §10 high end (no SoIC figure)",
         lambda a: _recurring(a, hybrid_bond_yield=0.99)),
        (f"interposer D0 {ACTUARY_INTERPOSER_D0} (Chiplet Actuary)", "[C2]",
         lambda a: _recurring(_with_tech(a, interposer_defect_density_per_cm2=ACTUARY_INTERPOSER_D0,
                                         interposer_cluster_alpha=6.0))),
        ("logic D0 at the mature end (N5/N4 0.07, N6 0.06)", "CM §10, [C10]",
         lambda a: _recurring(_with_nodes(a, _mature_d0))),
        ("wafer $13,400 for N5/N4-class dies", "[S9]",
         lambda a: _recurring(_with_nodes(a, _s9_wafer))),
        ("HBM at the low end of its $/GB range", "HBM_USD_PER_GB",
         lambda a: _recurring(a, hbm_usd_per_gb={a.memory[0].generation.name:
                                                 HBM_USD_PER_GB[a.memory[0].generation.name][0]})),
        ("10 bridges of 50 mm^2 (B200: + 8 HBM-die LSIs)", "E", lambda a: _recurring(
            a, bridges=10) if a.technology.name == "bridge" else _recurring(a)),
        ("assembly process per carrier attach, not per mm^2 (H100: 7 attaches)",
         "[C24] die count and size", _per_attach_process),
    ]
    head = "| variation | source | " + " | ".join(a.name for a in archs) + " |"
    lines = [head, "|---|---|" + "---|" * len(archs)]
    for label, src, fn in rows:
        lines.append(f"| {label} | {src} | " + " | ".join(f"{fn(a):,.0f}" for a in archs) + " |")
    lines.append("| published range | | " + " | ".join(_range(published_range(a.name))
                                                     for a in archs) + " |")
    return "\n".join(lines)


def epyc_line() -> str:
    n = ACTUARY_NODES["14nm"]
    mono = M.die_cost(777, n.wafer_price, n.d0, alpha=n.alpha).kgd
    four = 4 * M.die_cost(213, n.wafer_price, n.d0, alpha=n.alpha).kgd
    r = four / mono
    return (f"| EPYC Zen 1: 4 x 213 vs 777 mm^2, 14 nm, KGD die cost | 0.59 (AMD [C35]) | "
            f"{r:.3f} (mono ${mono:.1f}, 4 chiplets ${four:.1f}) | {r / 0.59 - 1:+.1%} |")


SPLIT_PUBLISHED = {("OS", 2): (1.095, 0.739), ("FO", 2): (1.214, 0.829), ("SI", 2): (1.324, 0.918),
                   ("OS", 5): (1.095, 0.549), ("FO", 5): (1.250, 0.653), ("SI", 5): (1.492, 0.803)}


def split_lines() -> list[str]:
    out = []
    for (pkg, n), (p100, p800) in SPLIT_PUBLISHED.items():
        r100 = split_ratio(100, n, ACTUARY_NODES["5nm"], ACTUARY_PACKAGING[pkg])
        r800 = split_ratio(800, n, ACTUARY_NODES["5nm"], ACTUARY_PACKAGING[pkg])
        out.append(f"| 5 nm {pkg}, n = {n}, 100 mm^2 | {p100:.3f} | {r100:.3f} | "
                   f"{r100 / p100 - 1:+.1%} |")
        out.append(f"| 5 nm {pkg}, n = {n}, 800 mm^2 | {p800:.3f} | {r800:.3f} | "
                   f"{r800 / p800 - 1:+.1%} |")
    return out


def crossover_markdown(nodes=("N3", "N5", "N7", "N16", "N28"),
                       technologies=("organic-substrate", "bridge", "silicon-interposer"),
                       ns=(2, 4, 8)) -> str:
    rows = crossover_table(nodes=nodes, technologies=technologies, ns=ns)
    head = "| node | n |" + "".join(f" {t} |" for t in technologies)
    lines = [head, "|---|---|" + "---|" * len(technologies)]
    for node in nodes:
        for n in ns:
            cells = []
            for t in technologies:
                r = next(r for r in rows if r["technology"] == t and r["n"] == n
                         and r["node"].lower() == node.lower())
                a = r["crossover_mm2"]
                cells.append(("never < 858" if a is None else f"{a:.0f}")
                             + f" ({r['ratio_at_800']:.2f})")
            lines.append(f"| {node} | {n} |" + "".join(f" {c} |" for c in cells))
    return "\n".join(lines)


def h100_reconciliation() -> str:
    a = bom_architectures()[0]
    n4 = catalog_node("4N")
    c = package_cost(a)
    y = c.die_yields["gh100"]
    dc = M.die_cost(814, n4.wafer_price, n4.d0, alpha=n4.alpha, yield_override=y)
    classic = M.dies_per_wafer_classic(814)
    return (f"analysts [S9]: $13,400 / 86 dies / 0.80 = ${13400 / 86 / 0.8:.0f}; ours: "
            f"${n4.wafer_price:,.0f} / {dc.dies_per_wafer:.1f} dies / {y:.3f} = ${dc.kgd:.0f} "
            f"(without harvesting: yield {M.die_yield(814, n4.d0, alpha=n4.alpha):.3f}, "
            f"${M.die_cost(814, n4.wafer_price, n4.d0, alpha=n4.alpha).kgd:.0f}). Factors: wafer "
            f"x{n4.wafer_price / 13400:.2f}, dies/wafer x{86 / dc.dies_per_wafer:.2f} (86 = pi 150^2 / "
            f"814 = {math.pi * 150**2 / 814:.1f}: no edge loss at all; the textbook formula with its "
            f"edge term gives {classic:.1f}, ours with 0.2 mm scribe and 5 mm edge exclusion "
            f"{dc.dies_per_wafer:.1f}), yield x{0.8 / y:.2f}.")


def main() -> None:
    print("## Published chiplet ratios\n")
    print("| case | published | chipletarch | deviation |\n|---|---|---|---|")
    print(epyc_line())
    print("\n".join(split_lines()))
    print("\n## Bills of materials, step by step (US$ per good package, no NRE, no final test)\n")
    print(step_table())
    print("\n## Bills of materials by component (catalog defaults)\n")
    print(bom_table())
    print("\n## Assembly scrap by component\n")
    print(scrap_table())
    print("\n## Sensitivity of the total\n")
    print(sensitivity_table())
    print("\n## H100 logic die\n")
    print(h100_reconciliation())
    print("\n## Crossover area (mm^2 of total module area; ratio at 800 mm^2 in brackets)\n")
    print(crossover_markdown())


if __name__ == "__main__":
    main()
