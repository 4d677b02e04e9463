"""Monolithic versus chiplet: the cost of splitting one design into n chiplets, and the crossover.

The study of Chiplet Actuary (Feng & Ma, DAC 2022; COST_MODEL.md §8-9 "CM"): a SoC of total
module area A on one node is either one die on an organic package, or n equal chiplets, each
carrying a die-to-die PHY overhead (10 % of its module area), on a given package technology.
`split_ratio` = recurring cost of the chiplet package / recurring cost of the monolithic package
(< 1: chiplets are cheaper); `crossover_area` = the smallest A at which the ratio drops to 1.
"""
from __future__ import annotations

from typing import Sequence

from . import params as P
from .recurring import DieSpec, recurring_cost


def monolithic_cost(area_mm2: float, node: P.NodeCost,
                    packaging: P.PackagingCost = P.ACTUARY_PACKAGING["OS"], **kw) -> float:
    """Recurring cost of one die of `area_mm2` on `node` alone in a package (CM §9b baseline)."""
    return recurring_cost([DieSpec("soc", area_mm2, node, 1)], packaging, **kw).total


def chiplet_cost(area_mm2: float, n: int, node: P.NodeCost, packaging: P.PackagingCost, *,
                 d2d_overhead: float = P.D2D_AREA_OVERHEAD, **kw) -> float:
    """Recurring cost of `n` chiplets of area (A / n)(1 + d2d_overhead) each, in one package.
    Each chiplet is its own design (as in Chiplet Actuary's split study), bonded separately."""
    if n < 1 or int(n) != n:
        from ..errors import SpecError
        raise SpecError(f"number of chiplets must be a positive integer, got {n!r}")
    a = area_mm2 / n * (1.0 + d2d_overhead)
    dies = [DieSpec(f"chiplet{i}", a, node, 1) for i in range(int(n))]
    return recurring_cost(dies, packaging, **kw).total


def split_ratio(area_mm2: float, n: int, node: P.NodeCost, packaging: P.PackagingCost, *,
                monolithic_packaging: P.PackagingCost = P.ACTUARY_PACKAGING["OS"],
                d2d_overhead: float = P.D2D_AREA_OVERHEAD, **kw) -> float:
    """chiplet_cost / monolithic_cost at the same total module area (CM §9b table)."""
    return (chiplet_cost(area_mm2, n, node, packaging, d2d_overhead=d2d_overhead, **kw)
            / monolithic_cost(area_mm2, node, monolithic_packaging, **kw))


def crossover_area(n: int, node: P.NodeCost, packaging: P.PackagingCost, *,
                   monolithic_packaging: P.PackagingCost = P.ACTUARY_PACKAGING["OS"],
                   d2d_overhead: float = P.D2D_AREA_OVERHEAD, lo_mm2: float = 10.0,
                   hi_mm2: float = P.RETICLE_MM2, tol_mm2: float = 0.5, **kw) -> float | None:
    """Smallest total module area in [lo, hi] at which splitting into `n` chiplets costs no more
    than the monolithic die (split_ratio <= 1); None if chiplets never pay below `hi` (by
    default the reticle limit, beyond which a monolithic die cannot be made).

    The ratio is scanned on a 10 mm^2 grid for its first crossing of 1, then bisected to
    `tol_mm2`; scanning first means a non-monotone ratio cannot hide an earlier crossing.
    """
    def f(a: float) -> float:
        return split_ratio(a, n, node, packaging, monolithic_packaging=monolithic_packaging,
                           d2d_overhead=d2d_overhead, **kw) - 1.0

    if f(lo_mm2) <= 0.0:
        return float(lo_mm2)
    prev = lo_mm2
    a = lo_mm2
    step = 10.0
    while a < hi_mm2:
        a = min(a + step, hi_mm2)
        if f(a) <= 0.0:
            lo, hi = prev, a
            while hi - lo > tol_mm2:
                mid = 0.5 * (lo + hi)
                if f(mid) <= 0.0:
                    hi = mid
                else:
                    lo = mid
            return hi
        prev = a
    return None


def catalog_node(name: str) -> P.NodeCost:
    """NodeCost of a catalog process node (wafer price, D0, alpha, design NRE)."""
    from ..arch.catalog import lookup_process
    n = lookup_process(name)
    return P.NodeCost(name=n.name, wafer_price=n.wafer_price_usd, d0=n.defect_density_per_cm2,
                      alpha=n.cluster_alpha, design_nre=n.design_nre_usd or 0.0)


def catalog_packaging(name: str) -> P.PackagingCost:
    """PackagingCost of a catalog package technology (see package.packaging_cost_params)."""
    from ..arch.catalog import lookup_technology
    from .package import packaging_cost_params
    return packaging_cost_params(lookup_technology(name))


def crossover_table(nodes: Sequence[str] = ("N3", "N5", "N7", "N16"),
                    technologies: Sequence[str] = ("organic-substrate", "bridge",
                                                   "silicon-interposer"),
                    ns: Sequence[int] = (2, 4), **kw) -> list[dict]:
    """Crossover area (mm^2 of total module area, None = not below the reticle) for every
    catalog node x package technology x chiplet count, against a monolithic die on the catalog's
    `monolithic` package. Rows: {"node", "technology", "n", "crossover_mm2", "ratio_at_800"}."""
    mono = catalog_packaging("monolithic")
    rows = []
    for node_name in nodes:
        node = catalog_node(node_name)
        for tech_name in technologies:
            pk = catalog_packaging(tech_name)
            for n in ns:
                rows.append({
                    "node": node.name, "technology": tech_name, "n": int(n),
                    "crossover_mm2": crossover_area(n, node, pk, monolithic_packaging=mono, **kw),
                    "ratio_at_800": split_ratio(800.0, n, node, pk, monolithic_packaging=mono,
                                                **kw)})
    return rows
