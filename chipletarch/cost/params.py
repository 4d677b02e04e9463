"""Cost-only parameters: the figures the architecture catalog does not hold, each with its source.

Process-node figures (wafer price, defect density, design NRE) and HBM/package-technology figures
live in `chipletarch.arch.catalog`; this module holds what only the cost model needs (wafer
geometry, yield-model defaults, packaging assembly yields and bump/substrate prices, test costs)
as frozen dataclasses, plus the complete Chiplet Actuary default parameter set [C2] that the
validation reproduces (COST_MODEL.md §8-§9, "CM" below). Source keys [C#] are COST_MODEL.md's.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

# ---- wafer geometry (CM §1, §10) -------------------------------------------------------------
WAFER_DIAMETER_MM = 300.0          # all foundry prices in CM §3b are per 300 mm wafer
SCRIBE_MM = 0.2                    # Chiplet Actuary default [C2]; CM §10 range 0.1-0.2
EDGE_EXCLUSION_MM = 5.0            # Chiplet Actuary default [C2]; CM §10 range 3-5
RETICLE_MM2 = 26.0 * 33.0          # 858 mm^2 [C4]

# ---- yield-model defaults (CM §2) ------------------------------------------------------------
DEFAULT_YIELD_MODEL = "negative_binomial"
# Clustering alpha of the pure functions (architectures use their node's catalog alpha).
# CM §10 suggests 3-10; 3 is the
# legitlads default [C8] and sits at the clustered end that CM §2 calls typical for mature
# processes (0.5-2 mature, >5 ~ Poisson [C7]). Chiplet Actuary's 10 is used in its reproduction.
DEFAULT_ALPHA = 3.0


@dataclass(frozen=True)
class NodeCost:
    """What the cost model needs of a process node (normally read from the catalog)."""
    name: str
    wafer_price: float          # $ per 300 mm wafer
    d0: float                   # defects / cm^2
    alpha: float = DEFAULT_ALPHA
    design_nre: float = 0.0     # $ design cost of a 300 mm^2-class chip (IBS, CM §3c)


@dataclass(frozen=True)
class PackagingCost:
    """Cost parameters of one package technology (CM §5, §8).

    kind: "organic" (dies on an organic substrate, MCM), "fanout" (RDL interposer),
    "interposer" (2.5D silicon interposer), "bridge" (RDL/organic carrier with embedded silicon
    bridges: CoWoS-L, EMIB). 3D hybrid-bonded dies are DieSpec(stacked_on=base) on any kind.
    """
    name: str
    kind: str
    bond_yield: float                   # per attached die (CM §5c)
    bump_usd_per_mm2: float             # die-side bumps, $ per mm^2 of die (C4 or micro-bump)
    substrate_usd_per_mm2: float = 0.005      # organic substrate, CM §5a [C2]
    substrate_area_factor: float = 4.0        # substrate area / (die or carrier) area [C2]
    substrate_attach_yield: float = 0.99      # carrier-to-substrate bond (y3 in CM §8) [C2]
    carrier_wafer_price: float = 0.0          # interposer / RDL wafer, $ per 300 mm wafer
    carrier_d0: float = 0.0
    carrier_alpha: float = 3.0
    carrier_area_factor: float = 1.0          # carrier area / area of what sits on it
    carrier_c4_usd_per_mm2: float = 0.005     # C4 bumps under the carrier [C2]
    chip_last: bool = True
    nre_usd_per_mm2: float = 0.0              # package design NRE, area part
    nre_fixed_usd: float = 0.0                # package design NRE, fixed part
    layer_factor_rule: bool = True            # organic substrate layer factor (CM §5a)
    # bridges (kind == "bridge"): one silicon bridge die per die-to-die adjacency
    bridge_area_mm2: float = 0.0
    bridge_wafer_price: float = 0.0
    bridge_d0: float = 0.0
    bridge_alpha: float = 6.0
    # yield of embedding one bridge into the carrier; None = bond_yield. The catalog's CoWoS-L sets
    # 1.0: its carrier yield ([C28]) already includes the LSI bridges.
    bridge_embed_yield: float | None = None
    # per hybrid bond of a die onto a base die (3D). The reference sheets publish none (catalog:
    # "hybrid-bond yield not in the sheets (gap)"); None falls back to `bond_yield`.
    hybrid_bond_yield: float | None = None

    def with_(self, **kw) -> "PackagingCost":
        return replace(self, **kw)


# ---- the Chiplet Actuary default set (parameter.ini, CM §8) ----------------------------------
# Kept whole so that chipletarch.cost.split reproduces the published-code tables of CM §9b
# exactly; architecture costing uses the catalog and the production defaults further below.
ACTUARY_ALPHA = 10.0                       # "critical_level" for logic dies [C2]
ACTUARY_NODES = {
    # name: (wafer $ = CSET 2020 [C11], D0 [C2], design NRE of a 300 mm^2 chip = IBS [C17])
    "3nm": NodeCost("3nm", 30000.0, 0.20, ACTUARY_ALPHA, 100e7),   # flagged "inaccurate" in [C2]
    "5nm": NodeCost("5nm", 16988.0, 0.11, ACTUARY_ALPHA, 54.2e7),
    "7nm": NodeCost("7nm", 9346.0, 0.09, ACTUARY_ALPHA, 29.8e7),
    "10nm": NodeCost("10nm", 5992.0, 0.08, ACTUARY_ALPHA, 17.4e7),
    "14nm": NodeCost("14nm", 3984.0, 0.08, ACTUARY_ALPHA, 10.6e7),
    "20nm": NodeCost("20nm", 3677.0, 0.07, ACTUARY_ALPHA, 7e7),
    "28nm": NodeCost("28nm", 2891.0, 0.07, ACTUARY_ALPHA, 5.1e7),
    "40nm": NodeCost("40nm", 2274.0, 0.07, ACTUARY_ALPHA, 3.8e7),
    "55nm": NodeCost("55nm", 1937.0, 0.07, ACTUARY_ALPHA, 2.8e7),
}
_N55 = ACTUARY_NODES["55nm"].design_nre
ACTUARY_PACKAGING = {
    "OS": PackagingCost("OS", "organic", bond_yield=0.99, bump_usd_per_mm2=0.005,
                        nre_usd_per_mm2=3e3, nre_fixed_usd=3e5),
    "FO": PackagingCost("FO", "fanout", bond_yield=0.98, bump_usd_per_mm2=0.01,
                        carrier_wafer_price=1200.0, carrier_d0=0.05, carrier_alpha=3.0,
                        carrier_area_factor=1.2, layer_factor_rule=False,
                        nre_usd_per_mm2=0.5 * 1.5e7 / 300, nre_fixed_usd=0.5 * 1.5e7 / 300),
    "SI": PackagingCost("SI", "interposer", bond_yield=0.95, bump_usd_per_mm2=0.01,
                        carrier_wafer_price=1937.0, carrier_d0=0.06, carrier_alpha=6.0,
                        carrier_area_factor=1.1, layer_factor_rule=False,
                        nre_usd_per_mm2=1.2 * 0.3 * _N55 / 300, nre_fixed_usd=1.2 * 0.2 * _N55),
}
# Chiplet Actuary's die-to-die PHY overhead: 10 % of the chiplet's module area [C2]; AMD
# reported ~10 % extra silicon for EPYC Zen 1 [C35].
D2D_AREA_OVERHEAD = 0.10

# ---- test ------------------------------------------------------------------------------------
# CM §4: no public per-die KGD test price exists; Chiplet Actuary assumes perfect, free wafer
# sort (the scrap is in the KGD cost). We keep that default (0 $, coverage 1) and let the user
# set both; package_cost exposes them.
KGD_TEST_USD = 0.0
KGD_TEST_COVERAGE = 1.0

# ---- assembly process cost (CoWoS-class packaging) --------------------------------------------
# Analysts quote a per-unit "CoWoS cost": $300-2,000 by die count and interposer size [C24];
# H100 CoWoS-S ~$723-750 [C25][C26]. That figure is interposer + substrate + bumps + the assembly
# process (chip-on-wafer bonding, underfill, moulding, substrate attach). The model prices the
# materials itself (CM §5a [C2]); the process part has no public figure, so it is derived (E) from
# the one published per-unit point that has a known geometry, and scaled with carrier area (the
# sheets say CoWoS cost grows with interposer size, [C24]):
#     rate = ($736.5 midpoint of [C25][C26] - modelled H100 interposer+substrate+bumps)
#            / modelled H100 interposer area (1.1 x (814 + 6 x 110) = 1,621 mm^2: the die and the
#              six HBM sites, five active and one built but not enabled, HARDWARE §1 [S3])
# This fixes the H100 packaging by construction (calibration, not validation); B200 (CoWoS-L
# ~$1,100 [C26]) and MI300X (CoWoS-S + SoIC ~$1,200 [C25]) are the out-of-sample checks.
# tests/test_cost_package.py re-derives the rate. Organic/wafer-scale: no figure (0, gap).
H100_COWOS_USD = (723.0 + 750.0) / 2.0
_COWOS_RATE = 0.3753            # $ / mm^2 of carrier, from the derivation above (E)
ASSEMBLY_USD_PER_CARRIER_MM2 = {"silicon-interposer": _COWOS_RATE, "bridge": _COWOS_RATE,
                                "3d-hybrid-bonding": _COWOS_RATE}
