"""Catalog of named defaults: process nodes, memory generations, link standards, package technologies.

An architecture YAML refers to these by name (`process: N5`, `generation: hbm3e`,
`kind: ucie-advanced`, `technology: silicon-interposer`) and may override any field
(`process: {name: N5, wafer_price_usd: 15000}`). The cost and energy models read the same entries,
so this module is plain data: four dicts of frozen pydantic records, keyed by canonical lower-case
name, plus `lookup_*` functions that accept aliases.

Every value carries its source in the entry's `source` field: section of the shared reference
sheet (HARDWARE.md, COST_MODEL.md, ENERGY.md) and its S-/C-/E-key. `None` means the reference
sheets publish no value (a gap); consumers must then ask the user for one rather than invent it.
Status letters follow the sheets: P published, E estimate, U unverified recollection.
"""
from __future__ import annotations

import difflib
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from ..errors import SpecError
from .units import NonNeg, PosInt, PosNum

__all__ = [
    "ProcessNode", "MemoryGeneration", "LinkStandard", "PackageTechnology",
    "PROCESS_NODES", "MEMORY_GENERATIONS", "LINK_STANDARDS", "PACKAGE_TECHNOLOGIES",
    "RETICLE_LIMIT_MM2", "WAFER_SCALE_MAX_MM2",
    "lookup_process", "lookup_memory", "lookup_link", "lookup_technology",
]

# COST_MODEL.md §1 [C4]: reticle 26 mm x 33 mm = 858 mm^2 (P).
RETICLE_LIMIT_MM2 = 858.0
# HARDWARE.md §10 [S53]: WSE-3, one 46,225 mm^2 die per 300 mm wafer — the largest die a
# wafer-scale package can hold.
WAFER_SCALE_MAX_MM2 = 46225.0


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProcessNode(_Entry):
    """A logic process node: what cost (wafer, yield, NRE) and energy (scaling) models need."""

    name: str = Field(description="canonical node name, e.g. N5, 4N, N3P")
    feature_nm: PosNum = Field(description="nominal node class in nm (for display and energy scaling)")
    wafer_price_usd: PosNum = Field(description="300 mm foundry wafer price, US$")
    defect_density_per_cm2: NonNeg = Field(description="D0 for die yield, defects/cm^2")
    cluster_alpha: PosNum = Field(description="negative-binomial clustering parameter alpha")
    design_nre_usd: Optional[PosNum] = Field(None, description="design cost of a ~300 mm^2 chip (IBS), US$")
    logic_energy_scale: PosNum = Field(description="dynamic energy per logic op relative to 45 nm / 0.9 V (Horowitz = 1)")
    source: str = ""


class MemoryGeneration(_Entry):
    """A DRAM generation (HBM or LPDDR/GDDR): defaults for stacks that name it."""

    name: str
    family: str = Field(description="hbm | lpddr | gddr")
    interface_bits: Optional[PosInt] = Field(None, description="data bits per stack/device")
    energy_pj_per_bit: PosNum = Field(description="default access energy, pJ per bit transferred")
    price_usd_per_gb: Optional[PosNum] = Field(None, description="price, US$ per decimal GB")
    stack_footprint_mm2: Optional[PosNum] = Field(
        None, description="footprint of one stack on the interposer, mm^2 (HBM); None = unknown")
    source: str = ""


class LinkStandard(_Entry):
    """A die-to-die link standard: defaults for links that name it as `kind`."""

    name: str
    energy_pj_per_bit: Optional[PosNum] = Field(None, description="default energy, pJ/bit")
    latency_ns: Optional[NonNeg] = Field(None, description="default one-way latency, ns")
    module_bandwidth_gb_s: Optional[PosNum] = Field(
        None, description="bandwidth of one module per direction at the top data rate, GB/s")
    reach_mm: Optional[PosNum] = Field(None, description="maximum channel reach, mm")
    source: str = ""


class PackageTechnology(_Entry):
    """A packaging technology: size limit and the cost-model inputs of COST_MODEL.md §5."""

    name: str
    has_interposer: bool = Field(description="dies sit on an interposer / RDL layer above the substrate")
    max_interposer_area_mm2: Optional[PosNum] = Field(
        None, description="largest interposer (or carrier) buildable; None = no published limit")
    max_die_area_mm2: PosNum = Field(description="largest single die allowed in this technology")
    interposer_wafer_price_usd: Optional[PosNum] = None
    interposer_defect_density_per_cm2: Optional[NonNeg] = None
    interposer_cluster_alpha: Optional[PosNum] = None
    interposer_area_factor: Optional[PosNum] = Field(
        None, description="interposer area = factor x total die area (when not given)")
    substrate_area_factor: PosNum = Field(description="substrate area = factor x (interposer or die) area")
    substrate_usd_per_mm2: PosNum
    bump_usd_per_mm2: NonNeg = Field(description="C4 or micro-bump cost per mm^2 of die")
    bond_yield_per_die: PosNum = Field(le=1)
    hybrid_bond_yield_per_die: Optional[PosNum] = Field(
        None, le=1, description="per die hybrid-bonded onto a base die (3D); None = bond_yield_per_die")
    bridge_area_mm2: Optional[PosNum] = Field(
        None, description="silicon bridge die embedded per linked die pair (technology bridge); None = not costed")
    source: str = ""


# ---------------------------------------------------------------------------------------------
# Process nodes. Wafer prices: COST_MODEL.md §3b, CSET 2020 model [C11][C12] (E) except N3
# (2025 supply-chain reports [C16], midpoint of $25k–27k, E). D0 and alpha: Chiplet Actuary
# defaults [C2] (COST_MODEL.md §3a, §8; E) so that our cost model reproduces its §9b tables.
# NRE: IBS design cost [C17] (COST_MODEL.md §3c, E). Energy scale: ENERGY.md §1 "Scaling to newer
# nodes": 45 nm -> 7/5 nm is 3–6x lower (E); we take the geometric mean 1/sqrt(18) = 0.236 for the
# 7/6/5/4 nm class and scale other nodes by the per-node ALU-op midpoints of [E4]
# (28/22: 0.55, 16/12: 0.365, 7/6/5: 0.245, 3: 0.16 pJ).
_E5 = 1.0 / 18 ** 0.5
_N5_FAMILY = dict(feature_nm=5, wafer_price_usd=16988.0, defect_density_per_cm2=0.11, cluster_alpha=10.0,
                  design_nre_usd=542.2e6, logic_energy_scale=_E5,
                  source="wafer COST_MODEL §3b [C11] (E); D0 0.11, alpha 10 COST_MODEL §3a/§8 [C2] (E); "
                         "NRE COST_MODEL §3c [C17] (E); energy ENERGY §1 [E4] (E). "
                         "COST_MODEL §10 groups N5/N4 (incl. NVIDIA 4N/4NP) in one row.")
_N7_FAMILY = dict(feature_nm=7, wafer_price_usd=9346.0, defect_density_per_cm2=0.09, cluster_alpha=10.0,
                  design_nre_usd=297.8e6, logic_energy_scale=_E5,
                  source="wafer COST_MODEL §3b [C11] (E); D0 0.09 COST_MODEL §3a [C9]/[C2]; alpha 10 [C2]; "
                         "NRE COST_MODEL §3c [C17]; energy ENERGY §1 [E4]. COST_MODEL §10 groups N6/N7.")
_N3_FAMILY = dict(feature_nm=3, wafer_price_usd=26000.0, defect_density_per_cm2=0.20, cluster_alpha=10.0,
                  design_nre_usd=None, logic_energy_scale=_E5 * 0.16 / 0.245,
                  source="wafer COST_MODEL §3b [C16] midpoint of $25k–27k (E); D0 0.20 Chiplet Actuary "
                         "[C2] ('inaccurate assumption', E); NRE not published (IBS 3nm figures flagged "
                         "inaccurate, COST_MODEL §3c); energy ENERGY §1 [E4] (E).")

PROCESS_NODES: dict[str, ProcessNode] = {
    p.name.lower(): p for p in [
        ProcessNode(name="N3", **_N3_FAMILY),
        ProcessNode(name="N3E", **_N3_FAMILY),
        ProcessNode(name="N3P", **_N3_FAMILY),
        ProcessNode(name="N4", **{**_N5_FAMILY, "feature_nm": 4}),
        ProcessNode(name="4N", **{**_N5_FAMILY, "feature_nm": 4}),
        ProcessNode(name="4NP", **{**_N5_FAMILY, "feature_nm": 4}),
        ProcessNode(name="N5", **_N5_FAMILY),
        ProcessNode(name="N6", **{**_N7_FAMILY, "feature_nm": 6}),
        ProcessNode(name="N7", **_N7_FAMILY),
        ProcessNode(name="N12", feature_nm=12, wafer_price_usd=3984.0, defect_density_per_cm2=0.08,
                    cluster_alpha=10.0, design_nre_usd=106.3e6, logic_energy_scale=_E5 * 0.365 / 0.245,
                    source="wafer COST_MODEL §3b 16/12nm [C11] (E); D0 14nm row [C2]; NRE 16nm [C17]; "
                           "energy [E4] 16/12 midpoint."),
        ProcessNode(name="N16", feature_nm=16, wafer_price_usd=3984.0, defect_density_per_cm2=0.08,
                    cluster_alpha=10.0, design_nre_usd=106.3e6, logic_energy_scale=_E5 * 0.365 / 0.245,
                    source="wafer COST_MODEL §3b 16/12nm [C11] (E); D0 14nm row [C2]; NRE 16nm [C17]; "
                           "energy [E4] 16/12 midpoint."),
        ProcessNode(name="N28", feature_nm=28, wafer_price_usd=2891.0, defect_density_per_cm2=0.07,
                    cluster_alpha=10.0, design_nre_usd=51.3e6, logic_energy_scale=_E5 * 0.55 / 0.245,
                    source="wafer COST_MODEL §3b [C11] (E); D0 [C2]; NRE [C17]; energy [E4] 28/22 midpoint."),
    ]
}
_PROCESS_ALIASES = {"tsmc n5": "n5", "5nm": "n5", "4nm": "n4", "3nm": "n3", "7nm": "n7", "6nm": "n6",
                    "16nm": "n16", "12nm": "n12", "28nm": "n28"}

# ---------------------------------------------------------------------------------------------
# Memory generations. Energy: ENERGY.md §3 recommendation "hbm_pj_per_bit default 3.5 (HBM3/3E)"
# (E), HBM2 ~3.9 [E6] (U) applied to HBM2e; HBM4 target 5–6 pJ/bit of [E7] conflicts with the
# 3–4 consensus, so we keep 3.5 there too and say so. Interface width: HBM 1024-bit (HARDWARE.md §2
# [S11] "6 x 1024-bit"), HBM4 2048-bit (ENERGY.md §3 [E8]). Price: COST_MODEL.md §6: HBM3 ~$15/GB
# [C25][C30]; HBM3e +20% [C31]; HBM4 > +30% over HBM3e [C31] (E).
# HBM stack (KGSD) footprint on the interposer: ~11 x 10 mm, the nominal outline also drawn by
# chipletarch.arch.drawing. U: vendor datasheet class figure (HBM2E/HBM3/HBM3E KGSDs are ~10-11 mm
# x ~11 mm); no JEDEC outline is in the reference sheets. HBM4's larger outline: not known (gap).
_HBM_KGSD_MM2 = 11.0 * 10.0

MEMORY_GENERATIONS: dict[str, MemoryGeneration] = {
    m.name: m for m in [
        MemoryGeneration(name="hbm2e", family="hbm", interface_bits=1024, energy_pj_per_bit=3.9,
                         price_usd_per_gb=None,
                         stack_footprint_mm2=_HBM_KGSD_MM2,
                         source="energy: HBM2 ~3.9 pJ/bit ENERGY §3 [E6] (U); width 1024 (HBM standard); "
                                "price not in COST_MODEL §6."),
        MemoryGeneration(name="hbm3", family="hbm", interface_bits=1024, energy_pj_per_bit=3.5,
                         price_usd_per_gb=15.0,
                         stack_footprint_mm2=_HBM_KGSD_MM2,
                         source="energy ENERGY §3 recommendation (E); width HARDWARE §2 [S11]; "
                                "price COST_MODEL §6 [C25][C30] (E)."),
        MemoryGeneration(name="hbm3e", family="hbm", interface_bits=1024, energy_pj_per_bit=3.5,
                         price_usd_per_gb=18.0,
                         stack_footprint_mm2=_HBM_KGSD_MM2,
                         source="energy ENERGY §3 recommendation (E); width HARDWARE §2 [S11]; "
                                "price = HBM3 $15/GB x 1.2, COST_MODEL §6 [C31] (E)."),
        MemoryGeneration(name="hbm4", family="hbm", interface_bits=2048, energy_pj_per_bit=3.5,
                         price_usd_per_gb=23.4,
                         source="energy ENERGY §3 recommendation 3.5 (E; [E7] claims 5–6, conflicting); "
                                "width ENERGY §3 [E8] (P); price = HBM3e x 1.3, COST_MODEL §6 [C31] (E, lower bound)."),
        MemoryGeneration(name="gddr6", family="gddr", interface_bits=32, energy_pj_per_bit=14.0,
                         price_usd_per_gb=None,
                         source="energy: GDDR5 ~14 pJ/bit ENERGY §3 [E6] (U), used for GDDR6; no price."),
        MemoryGeneration(name="gddr7", family="gddr", interface_bits=32, energy_pj_per_bit=14.0,
                         price_usd_per_gb=None,
                         source="energy: GDDR5 ~14 pJ/bit ENERGY §3 [E6] (U), used for GDDR7; no price."),
        MemoryGeneration(name="lpddr5", family="lpddr", interface_bits=None, energy_pj_per_bit=20.0,
                         price_usd_per_gb=None,
                         source="energy: DDR-class DRAM 20–40 pJ/bit, ENERGY §3 [E1] (U), low end; "
                                "no LPDDR figure in the sheets — override when known."),
        MemoryGeneration(name="lpddr5x", family="lpddr", interface_bits=None, energy_pj_per_bit=20.0,
                         price_usd_per_gb=None,
                         source="as lpddr5: ENERGY §3 [E1] (U) low end; override when known."),
    ]
}
_MEMORY_ALIASES = {"hbm3-e": "hbm3e", "hbm2-e": "hbm2e", "lpddr5-x": "lpddr5x"}

# ---------------------------------------------------------------------------------------------
# Link standards: ENERGY.md §4a UCIe KPI table [E9][E10] (P) and §4b [E9]-[E14].
# Latency: the UCIe KPI is "< 2 ns round trip" (UCIe-3D "< 1 ns"); we store half as one-way.
# Module bandwidth = lanes x 32 GT/s / 8 per direction (16 lanes standard, 64 advanced).
LINK_STANDARDS: dict[str, LinkStandard] = {
    s.name: s for s in [
        LinkStandard(name="ucie-standard", energy_pj_per_bit=0.6, latency_ns=1.0, module_bandwidth_gb_s=64.0,
                     reach_mm=25.0,
                     source="ENERGY §4a [E9][E10] (P): 0.5 pJ/bit <=16 GT/s, 0.6 >16 GT/s (top rate taken); "
                            "<2 ns round trip; 16 lanes x 32 GT/s; reach 25 mm."),
        LinkStandard(name="ucie-advanced", energy_pj_per_bit=0.3, latency_ns=1.0, module_bandwidth_gb_s=256.0,
                     reach_mm=2.0,
                     source="ENERGY §4a [E9][E10] (P): 0.25 pJ/bit <=16 GT/s, 0.3 >16 GT/s (top rate taken); "
                            "<2 ns round trip; 64 lanes x 32 GT/s; reach 2 mm."),
        LinkStandard(name="ucie-3d", energy_pj_per_bit=0.05, latency_ns=0.5, module_bandwidth_gb_s=None,
                     reach_mm=None,
                     source="ENERGY §4a [E9][E10] (P): 0.05 pJ/bit at 9 um pitch (0.01 at 1 um); <1 ns; "
                            "area array, bandwidth set by bonded area."),
        LinkStandard(name="nv-hbi", energy_pj_per_bit=None, latency_ns=None, module_bandwidth_gb_s=None,
                     source="ENERGY §4b: NV-HBI energy not published (gap); HARDWARE §3 [S14][S16] 10 TB/s."),
        LinkStandard(name="infinity-fabric", energy_pj_per_bit=2.0, latency_ns=None,
                     source="ENERGY §4b: AMD Infinity Fabric on package (GMI SerDes over organic) ~2 pJ/bit (U); "
                            "latency not published."),
        LinkStandard(name="custom", source="no defaults: give bandwidth, latency and energy."),
    ]
}
_LINK_ALIASES = {"ucie-s": "ucie-standard", "ucie-a": "ucie-advanced", "ucie3d": "ucie-3d",
                 "nvhbi": "nv-hbi", "if": "infinity-fabric", "infinityfabric": "infinity-fabric"}

# ---------------------------------------------------------------------------------------------
# Package technologies: COST_MODEL.md §5a Chiplet Actuary defaults [C2] (E) and §1 size limits, except
# the packaging yields of the CoWoS-class technologies, set per technology from COST_MODEL §5b/§10
# (docs/COST.md §4 "Packaging yields per technology" has the derivations):
#  * passive interposer D0: [C27] models a 2,500 mm^2 passive Si interposer at ~66 % good. With the
#    negative binomial at Chiplet Actuary's interposer alpha 6 [C2]: D0 = 6 (0.66^(-1/6) - 1) / 25 cm^2
#    = 0.0172 /cm^2 (Chiplet Actuary's logic-style 0.06 would give 26 % at 2,500 mm^2).
#  * CoWoS-L carrier (RDL + LSI): [C28] gives CoWoS-S 74 % and CoWoS-L 80 % for the same example design;
#    at alpha 6 that is lambda_L / lambda_S = (0.80^(-1/6) - 1) / (0.74^(-1/6) - 1) = 0.736, so
#    D0_L = 0.736 x 0.0172 = 0.0127 /cm^2 (LSI embedding is inside [C28]'s interposer yield).
#  * per-attach bond yield: a property of the attach step. CM §10 gives 0.95-0.99 for dies micro-bumped
#    onto a Si interposer, 0.95 being Chiplet Actuary's conservative default; CoWoS-S is a mature high-
#    volume process by H100/H200/MI300X (U: it has carried NVIDIA's data-centre GPUs since P100 in 2016;
#    not in the sheets) and takes the mature end 0.99. CoWoS-L attaches dies to an RDL interposer, the
#    case of the fan-out row, 0.98 per die [C2] (CM §5a, §10; unchanged). SoIC hybrid bonds are a
#    different, first-generation step (MI300X is the first SoIC-on-CoWoS product, HARDWARE §4 [S23]) with
#    no published yield (gap): the conservative 0.95.
_C27_INTERPOSER_D0 = 6.0 * (0.66 ** (-1.0 / 6.0) - 1.0) / 25.0
_C28_L_OVER_S = (0.80 ** (-1.0 / 6.0) - 1.0) / (0.74 ** (-1.0 / 6.0) - 1.0)
_OS = dict(substrate_area_factor=4.0, substrate_usd_per_mm2=0.005, bump_usd_per_mm2=0.005,
           bond_yield_per_die=0.99)
_SI = dict(has_interposer=True, interposer_wafer_price_usd=1937.0, interposer_defect_density_per_cm2=_C27_INTERPOSER_D0,
           interposer_cluster_alpha=6.0, interposer_area_factor=1.1, substrate_area_factor=4.0,
           substrate_usd_per_mm2=0.005, bump_usd_per_mm2=0.01, bond_yield_per_die=0.99)
_FO = dict(has_interposer=True, interposer_wafer_price_usd=1200.0, interposer_defect_density_per_cm2=0.05,
           interposer_cluster_alpha=3.0, interposer_area_factor=1.2, substrate_area_factor=4.0,
           substrate_usd_per_mm2=0.005, bump_usd_per_mm2=0.01, bond_yield_per_die=0.98)
# CoWoS-L: the fan-out RDL wafer, area factor and attach yield [C2], the [C28]-derived carrier D0 at
# alpha 6, and one LSI bridge per linked die pair of ~50 mm^2 (E: a bridge under the
# facing edges of two reticle-class dies, ~25 mm x ~2 mm; no bridge size is published, gap).
_COWOS_L = {**_FO, "interposer_defect_density_per_cm2": _C28_L_OVER_S * _C27_INTERPOSER_D0,
            "interposer_cluster_alpha": 6.0, "bridge_area_mm2": 50.0}
PACKAGE_TECHNOLOGIES: dict[str, PackageTechnology] = {
    t.name: t for t in [
        PackageTechnology(name="monolithic", has_interposer=False, max_die_area_mm2=RETICLE_LIMIT_MM2,
                          **{**_OS, "bond_yield_per_die": 0.99},
                          source="single die on an organic substrate: COST_MODEL §5a OS row [C2] (E); "
                                 "reticle COST_MODEL §1 [C4] (P)."),
        PackageTechnology(name="organic-substrate", has_interposer=False, max_die_area_mm2=RETICLE_LIMIT_MM2,
                          **_OS,
                          source="COST_MODEL §5a OS (MCM) row [C2] (E): package 4x die area, $0.005/mm^2, "
                                 "C4 $0.005/mm^2, bond yield 0.99; reticle §1 [C4]."),
        PackageTechnology(name="silicon-interposer", max_interposer_area_mm2=2700.0,
                          max_die_area_mm2=RETICLE_LIMIT_MM2, **_SI,
                          source="CoWoS-S. Size: COST_MODEL §1 [C5] ~3.3x reticle ~2,700 mm^2 (E). Cost: §5a SI "
                                 "row [C2] (E): 55nm-class wafer $1,937, alpha 6, 1.1x die area, micro-bump "
                                 "$0.01/mm^2; D0 0.0172 from [C27] (66 % at 2,500 mm^2); bond yield 0.99, the "
                                 "mature end of CM §10's 0.95-0.99."),
        PackageTechnology(name="bridge", max_interposer_area_mm2=None, max_die_area_mm2=RETICLE_LIMIT_MM2,
                          **_COWOS_L,
                          source="CoWoS-L / EMIB: an RDL interposer with embedded bridges. No size limit in the "
                                 "reference sheets (gap). Cost: the fan-out/RDL row of COST_MODEL §5a [C2] (E: "
                                 "wafer $1,200, 1.2x area); carrier D0 0.0127 at alpha 6 from [C28] (L/S) and "
                                 "[C27]; bond yield 0.98 (fan-out row [C2]); bridge ~50 mm^2 (E)."),
        PackageTechnology(name="3d-hybrid-bonding", max_interposer_area_mm2=2700.0,
                          max_die_area_mm2=RETICLE_LIMIT_MM2, **_SI, hybrid_bond_yield_per_die=0.95,
                          source="SoIC-style stacks on a CoWoS-S interposer (MI300X, HARDWARE §4 [S23]). Size and "
                                 "cost as silicon-interposer, COST_MODEL §1 [C5], §5a [C2], [C27] (E); hybrid-"
                                 "bond yield not in the sheets (gap): CM §10's conservative 0.95."),
        PackageTechnology(name="wafer-scale", has_interposer=False, max_die_area_mm2=WAFER_SCALE_MAX_MM2,
                          substrate_area_factor=1.0, substrate_usd_per_mm2=0.005, bump_usd_per_mm2=0.005,
                          bond_yield_per_die=0.99,
                          source="die up to 46,225 mm^2, HARDWARE §10 [S53] (P); yield by redundancy [S56]; "
                                 "substrate/bump as COST_MODEL §5a OS row [C2] (E)."),
    ]
}
_TECH_ALIASES = {"cowos-s": "silicon-interposer", "cowos": "silicon-interposer", "interposer": "silicon-interposer",
                 "2.5d": "silicon-interposer", "cowos-l": "bridge", "emib": "bridge", "organic": "organic-substrate",
                 "mcm": "organic-substrate", "soic": "3d-hybrid-bonding", "3d": "3d-hybrid-bonding",
                 "hybrid-bonding": "3d-hybrid-bonding", "wse": "wafer-scale"}


def _lookup(table: dict, aliases: dict, name: str, what: str):
    key = str(name).strip().lower().replace("_", "-") if what != "process node" else str(name).strip().lower()
    key = aliases.get(key, key)
    if key in table:
        return table[key]
    names = [v.name for v in table.values()]
    close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.5)
    hint = f" — did you mean '{close[0]}'?" if close else ""
    raise SpecError(f"unknown {what} '{name}'{hint} (known: {', '.join(names)})")


def lookup_process(name: str) -> ProcessNode:
    """Catalog entry of a process node by name (case-insensitive; '5nm' etc. accepted)."""
    return _lookup(PROCESS_NODES, _PROCESS_ALIASES, name, "process node")


def lookup_memory(name: str) -> MemoryGeneration:
    """Catalog entry of a memory generation (hbm2e, hbm3, hbm3e, hbm4, gddr6/7, lpddr5/5x)."""
    return _lookup(MEMORY_GENERATIONS, _MEMORY_ALIASES, name, "memory generation")


def lookup_link(name: str) -> LinkStandard:
    """Catalog entry of a die-to-die link standard (ucie-standard, ucie-advanced, ...)."""
    return _lookup(LINK_STANDARDS, _LINK_ALIASES, name, "link kind")


def lookup_technology(name: str) -> PackageTechnology:
    """Catalog entry of a package technology (monolithic, silicon-interposer, bridge, ...)."""
    return _lookup(PACKAGE_TECHNOLOGIES, _TECH_ALIASES, name, "package technology")
