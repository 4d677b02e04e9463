"""The cost model's validation numbers, reproducible: `python -m chipletarch.cost.validation`.

Prints (as Markdown) every table of docs/VALIDATION.md "## Cost": AMD's EPYC chiplet ratio, the
Chiplet Actuary split ratios, the bills of materials of H100 / H200 / B200 / MI300X against the
published estimates, the H100 logic-die reconciliation and the crossover areas per node and
package technology. B200 and MI300X are built here from their cost-relevant HARDWARE.md figures
until reference YAML files for them are bundled.
"""
from __future__ import annotations

import math

from . import model as M
from .package import CostOptions, package_cost
from .params import ACTUARY_NODES, ACTUARY_PACKAGING
from .split import catalog_node, crossover_table, split_ratio

_CORE = {"macs_per_cycle": {"bf16": 1024}}     # irrelevant to cost; the schema wants a core

# Published estimates (HARDWARE.md; COST_MODEL.md §5b/§6): total, logic, HBM, packaging (CoWoS per
# unit: interposer + substrate + bumps + process), test+assembly (H100 only, [S8]).
PUBLISHED = {
    "h100-sxm": dict(total=3320, logic=(200, 300), hbm=(1200, 1500), packaging=(723, 750),
                     test_assembly=(920, 920),
                     src="HARDWARE §1 [S7][S8][S9]; COST_MODEL §5b/§6 [C25][C26][C30]"),
    "h200-sxm": dict(total=4800, logic=None, hbm=None, packaging=None, test_assembly=None,
                     src="HARDWARE §2 [S8]"),
    "b200": dict(total=6400, logic=None, hbm=(2900, 2900), packaging=(1100, 1100),
                 test_assembly=None, src="HARDWARE §3 [S8]; COST_MODEL §5b [C26]"),
    "mi300x": dict(total=5300, logic=(600, 600), hbm=(2900, 2900), packaging=(1200, 1200),
                   test_assembly=None, src="HARDWARE §4 [S8]; COST_MODEL §5b [C25]"),
}


def reference_b200():
    """B200 as far as cost needs it: HARDWARE.md §3."""
    from ..arch import Architecture
    return Architecture.from_dict(dict(
        name="b200", technology="bridge",                   # CoWoS-L (§3, E [S8])
        dies=[dict(name="gb", count=2, process="4NP",        # 4NP (§3, P [S12][S14])
                   area_mm2=800,                             # ~800 mm^2 each (§3, E [S8][S15])
                   clock_ghz=1.8, cores=74, memory_interfaces=4, core=_CORE)],
        memory=[dict(name="hbm", count=8, generation="hbm3e",    # 8 stacks (§3, P)
                     capacity_gb=24,                         # 192 GB physical / 8 (§3, P)
                     bandwidth_gb_s=1000, attach=["gb0", "gb1"])],
        links=[dict(kind="nv-hbi", bandwidth_gb_s=5000, latency_ns=1, energy_pj_per_bit=1,
                    endpoints=["gb0", "gb1"])]))


def reference_mi300x():
    """MI300X as far as cost needs it: HARDWARE.md §4 (XCDs hybrid-bonded on IODs)."""
    from ..arch import Architecture
    return Architecture.from_dict(dict(
        name="mi300x", technology="3d-hybrid-bonding",        # SoIC on CoWoS-S (§4, P [S23])
        dies=[dict(name="xcd", count=8, process="N5", area_mm2=115,    # ~115 mm^2 (§4, E/U)
                   clock_ghz=2.1, cores=38, core=_CORE),
              dict(name="iod", kind="io", count=4, process="N6", area_mm2=370,   # ~370 (E/U)
                   memory_interfaces=2)],
        memory=[dict(name="hbm", count=8, generation="hbm3", capacity_gb=24,   # 8 x 24 GB (P)
                     bandwidth_gb_s=662, attach=["iod0", "iod1", "iod2", "iod3"])],
        topology=[dict(kind="all-to-all", dies=["iod0", "iod1", "iod2", "iod3"],
                       link=dict(kind="infinity-fabric", bandwidth_gb_s=1000, latency_ns=10))],
        links=[dict(kind="ucie-3d", bandwidth_gb_s=2000, endpoints=[f"xcd{i}", f"iod{i // 2}"])
               for i in range(8)]))


# 12-Hi stacks where HARDWARE.md says so (MI300X §4 "8 stacks x 24 GB (12-Hi)")
BOM_OPTIONS = {"mi300x": CostOptions(hbm_height={"hbm": 12})}


def bom_architectures():
    from ..arch import load_architecture
    return [load_architecture("h100-sxm"), load_architecture("h200-sxm"), reference_b200(),
            reference_mi300x()]


def _range(r):
    if r is None:
        return "-"
    return f"{r[0]:,}" if r[0] == r[1] else f"{r[0]:,}-{r[1]:,}"


def _packaging_good(c) -> float:
    """Carrier, bridges, substrate and bumps including the scrap they themselves suffer: the
    quantity analysts quote as "CoWoS cost" per good package."""
    return c.bumps + sum(i["cost"] + i["scrap"] for i in c.items
                         if i["category"] in ("carrier", "bridge", "substrate"))


def _dev(x, r):
    if r is None:
        return "-"
    lo, hi = r
    if lo <= x <= hi:
        return "in"
    return f"{x / (lo if x < lo else hi) - 1:+.0%}"


def bom_table() -> str:
    """Component table against the published splits. "packaging" = interposer/RDL + substrate +
    bumps + assembly process (what analysts call the CoWoS cost; H100's is the calibration
    point of params.ASSEMBLY_USD_PER_CARRIER_MM2); scrap is every component lost to carrier
    yield and die/stack attach failures, shown apart."""
    from dataclasses import replace
    lines = ["| design | bond yield | interposer mm^2 | carrier yield | assembly yield | logic dies "
             "| HBM | packaging | assembly scrap | recurring total | published total | deviation |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    comp = ["| design | logic vs published | HBM vs published | packaging vs published | "
            "scrap + test vs published test+assembly |", "|---|---|---|---|---|"]
    for a in bom_architectures():
        pub = PUBLISHED[a.name]
        base = BOM_OPTIONS.get(a.name, CostOptions())
        for by in (None, 0.99):
            c = package_cost(a, options=replace(base, bond_yield=by))
            tag = "catalog" if by is None else f"{by}"
            area = next((i["area_mm2"] for i in c.items if i["category"] == "carrier"), None)
            pkg = c.packaging + c.assembly
            lines.append(
                f"| {a.name} | {tag} | {area:,.0f} | {c.carrier_yield:.2f} | "
                f"{c.assembly_yield:.2f} | {c.dies:,.0f} | {c.hbm:,.0f} | {pkg:,.0f} | "
                f"{c.assembly_scrap:,.0f} | {c.recurring:,.0f} | {pub['total']:,} | "
                f"{c.recurring / pub['total'] - 1:+.0%} |")
            if by is None:
                comp.append(f"| {a.name} | {_dev(c.dies, pub['logic'])} | "
                            f"{_dev(c.hbm, pub['hbm'])} | {_dev(pkg, pub['packaging'])} | "
                            f"{_dev(c.assembly_scrap + c.final_test, pub['test_assembly'])} |")
    lines.append("")
    lines.append("Deviation of each component at the catalog bond yield (\"in\" = inside the "
                 "published range; H100 packaging is the calibration point, not a check):")
    lines.append("")
    lines.extend(comp)
    lines.append("")
    lines.append("| design | published logic | published HBM | published packaging | "
                 "published test+assembly | source |")
    lines.append("|---|---|---|---|---|---|")
    for name, pub in PUBLISHED.items():
        lines.append(f"| {name} | {_range(pub['logic'])} | {_range(pub['hbm'])} | "
                     f"{_range(pub['packaging'])} | {_range(pub['test_assembly'])} | {pub['src']} |")
    return "\n".join(lines)


# Interposer D0 at which a 2,500 mm^2 passive interposer yields the ~66 % of the legitlads model
# [C27] (NB, alpha 6): a sensitivity only. The catalog keeps Chiplet Actuary's 0.06 [C2]; no
# sheet gives a critical-area ratio for passive silicon ([C3] carries one, as a placeholder).
C27_INTERPOSER_D0 = ((0.66 ** (-1.0 / 6.0)) - 1.0) * 6.0 / 25.0


def sensitivity_table() -> str:
    """Recurring total under the two sheet-supported alternatives that move assembly scrap."""
    from dataclasses import replace
    lines = [f"| design | catalog | bond yield 0.99 | interposer D0 {C27_INTERPOSER_D0:.3f} "
             "([C27]) | both | published |", "|---|---|---|---|---|---|"]
    for a in bom_architectures():
        base = BOM_OPTIONS.get(a.name, CostOptions())
        b = a.model_copy(update={"technology": a.technology.model_copy(
            update={"interposer_defect_density_per_cm2": C27_INTERPOSER_D0})})
        cells = [package_cost(x, options=replace(base, bond_yield=by)).recurring
                 for x, by in ((a, None), (a, 0.99), (b, None), (b, 0.99))]
        lines.append(f"| {a.name} | " + " | ".join(f"{v:,.0f}" for v in cells)
                     + f" | {PUBLISHED[a.name]['total']:,} |")
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
    n4 = catalog_node("4N")
    dc = M.die_cost(814, n4.wafer_price, n4.d0, alpha=n4.alpha)
    return (f"analysts [S9]: $13,400 / 86 dies / 0.80 = ${13400 / 86 / 0.8:.0f}; ours: "
            f"${n4.wafer_price:,.0f} / {dc.dies_per_wafer:.1f} dies / {dc.yield_:.3f} = "
            f"${dc.kgd:.0f}. Factors: wafer x{n4.wafer_price / 13400:.2f}, dies/wafer "
            f"x{86 / dc.dies_per_wafer:.2f} (86 = pi 150^2 / 814 = {math.pi * 150**2 / 814:.1f}, "
            f"no edge loss), yield x{0.8 / dc.yield_:.2f}.")


def main() -> None:
    print("## Published chiplet ratios\n")
    print("| case | published | chipletarch | deviation |\n|---|---|---|---|")
    print(epyc_line())
    print("\n".join(split_lines()))
    print("\n## Bills of materials (US$ per good package, no NRE, no final test)\n")
    print(bom_table())
    print("\n## Sensitivity of the total to the assembly-yield inputs\n")
    print(sensitivity_table())
    print("\n## H100 logic die\n")
    print(h100_reconciliation())
    print("\n## Crossover area (mm^2 of total module area; ratio at 800 mm^2 in brackets)\n")
    print(crossover_markdown())


if __name__ == "__main__":
    main()
