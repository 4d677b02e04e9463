"""Recurring (per-unit manufacturing) cost of one package from plain die/stack/packaging numbers.

This is CM §7 steps 1-6 (COST_MODEL.md) on top of the pure functions in `model`: known-good dies
per die type, the carrier (silicon interposer, RDL, bridges) with its own yield, the organic
substrate, HBM stacks, bonding yield compounding with the number of attached dies, test escapes
and final test. Scrap is charged with `model.assemble` (a part pays for every step it goes
through). Both `chipletarch.cost.split` (monolithic vs chiplet studies) and
`chipletarch.cost.package` (real architectures) build on `recurring_cost`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from ..errors import SpecError
from . import params as P
from .model import (DieCost, Part, Step, assemble, bond_yield, die_cost, organic_layer_factor)

PACKAGING_KINDS = ("organic", "fanout", "interposer", "bridge")


@dataclass(frozen=True)
class DieSpec:
    """One die type in a package: `count` identical instances of `area_mm2` on `node`."""
    name: str
    area_mm2: float
    node: P.NodeCost
    count: int = 1
    yield_override: float | None = None       # e.g. harvested yield (model.harvested_yield)
    dies_per_wafer: float | None = None       # override of the DPW formula (wafer-scale: 1)
    test_cost: float = P.KGD_TEST_USD
    test_coverage: float = P.KGD_TEST_COVERAGE
    # name of the DieSpec this die is hybrid-bonded onto (3D, SoIC): each base instance carries
    # count / base.count of these; no bumps and no footprint of its own on the carrier
    stacked_on: str | None = None


@dataclass(frozen=True)
class StackSpec:
    """Bought-in known-good stacks (HBM): price each, count, footprint on the carrier."""
    name: str
    price: float
    count: int
    footprint_mm2: float = 0.0


@dataclass
class LineItem:
    """One row of a cost breakdown: what a good package pays for one component."""
    name: str
    category: str          # "die", "hbm", "carrier", "bridge", "substrate", "test"
    count: int
    unit_cost: float       # $ per instance before assembly scrap (KGD cost for dies)
    cost: float            # $ count x unit_cost
    scrap: float           # $ of this component lost in assembly, per good package
    yield_: float | None = None   # die / carrier yield at wafer sort, when it has one
    detail: dict = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.cost + self.scrap


@dataclass
class RecurringCost:
    items: list[LineItem]
    assembly_yield: float            # probability an assembly started comes out good
    steps: list[Step]

    @property
    def total(self) -> float:
        return float(sum(i.total for i in self.items))

    def by_category(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for i in self.items:
            out[i.category] = out.get(i.category, 0.0) + i.total
        return out


def _geometry_kw(wafer_diameter_mm, scribe_mm, edge_exclusion_mm):
    return dict(wafer_diameter_mm=wafer_diameter_mm, scribe_mm=scribe_mm,
                edge_exclusion_mm=edge_exclusion_mm)


def recurring_cost(dies: Sequence[DieSpec], packaging: P.PackagingCost, *,
                   stacks: Sequence[StackSpec] = (), carrier_area_mm2: float | None = None,
                   substrate_area_mm2: float | None = None, bridges: int = 0,
                   assembly_usd: float = 0.0, final_test_usd: float = 0.0,
                   final_test_yield: float = 1.0,
                   yield_model: str = P.DEFAULT_YIELD_MODEL,
                   wafer_diameter_mm: float = P.WAFER_DIAMETER_MM,
                   scribe_mm: float = P.SCRIBE_MM,
                   edge_exclusion_mm: float = P.EDGE_EXCLUSION_MM) -> RecurringCost:
    """Cost of one good package.

    Parts and the steps they go through (CM §8 generalised; `model.assemble`):
      organic            steps [die bond y_b^n];             dies, stacks, substrate enter at 0
      chip-last carrier  steps [carrier test y1, die bond y_b^n, substrate attach y3];
                         carrier (+bridges) at 0, dies and stacks at 1, substrate at 2
      chip-first carrier steps [carrier build y1, substrate attach y3]; carrier and dies at 0,
                         substrate at 1 (a bad RDL scraps the dies built into it)
    then, for every kind, test escapes (prod q_i^n_i, q = die quality after sort) and final test.
    n counts every die or 3D stack placed and every memory stack: each attach can fail.
    Dies hybrid-bonded on a base die (`stacked_on`) first form a tested 3D stack with yield
    y_h^k (k tops per base, y_h = hybrid_bond_yield or bond_yield); that stack is one attach.
    `assembly_usd` is a per-package process cost paid at the die-bond step (Chiplet Actuary
    has none; analysts' "CoWoS cost" includes it), `final_test_usd` one paid at final test.
    Carrier area = `carrier_area_mm2` if given, else carrier_area_factor x (dies + stacks);
    substrate area = `substrate_area_mm2` if given, else substrate_area_factor x (carrier or dies).
    """
    if packaging.kind not in PACKAGING_KINDS:
        raise SpecError(f"unknown packaging kind {packaging.kind!r}; "
                        f"choose one of {', '.join(PACKAGING_KINDS)}")
    if not dies:
        raise SpecError("a package needs at least one die")
    geo = _geometry_kw(wafer_diameter_mm, scribe_mm, edge_exclusion_mm)

    die_costs: list[DieCost] = []
    for d in dies:
        if d.count < 1 or int(d.count) != d.count:
            raise SpecError(f"die {d.name!r}: count must be a positive integer, got {d.count!r}")
        die_costs.append(die_cost(d.area_mm2, d.node.wafer_price, d.node.d0, alpha=d.node.alpha,
                                  model=yield_model, yield_override=d.yield_override,
                                  dies_per_wafer_override=d.dies_per_wafer,
                                  test_cost=d.test_cost, test_coverage=d.test_coverage, **geo))
    for s in stacks:
        if s.count < 0 or int(s.count) != s.count:
            raise SpecError(f"stack {s.name!r}: count must be a non-negative integer")

    # 3D sub-assemblies: top dies hybrid-bonded onto a base die, the stack tested before it
    # joins the package, so a failed hybrid bond scraps that stack only (its prior yield)
    by_name = {d.name: d for d in dies}
    tops_per_base: dict[str, int] = {}
    for d in dies:
        if d.stacked_on is None:
            continue
        base = by_name.get(d.stacked_on)
        if base is None or base.stacked_on is not None:
            raise SpecError(f"die {d.name!r} is stacked on {d.stacked_on!r}, which is not a base "
                            "die of this package")
        if d.count % base.count:
            raise SpecError(f"{d.count} x {d.name!r} cannot be spread evenly over "
                            f"{base.count} x {base.name!r}")
        tops_per_base[base.name] = tops_per_base.get(base.name, 0) + d.count // base.count
    y_hybrid = packaging.hybrid_bond_yield or packaging.bond_yield
    prior = {}
    for d in dies:
        base_name = d.stacked_on or d.name
        prior[d.name] = bond_yield(y_hybrid, tops_per_base.get(base_name, 0))

    die_area = sum(d.area_mm2 * d.count for d in dies if d.stacked_on is None)
    stack_area = sum(s.footprint_mm2 * s.count for s in stacks)
    # every die (or 3D stack) placed on the carrier/substrate and every memory stack is an attach
    attaches = sum(d.count for d in dies if d.stacked_on is None) + sum(s.count for s in stacks)
    y_bond = bond_yield(packaging.bond_yield, attaches)

    parts: list[Part] = []
    meta: list[tuple[str, str, int, float, float | None, dict]] = []

    def add(name, category, count, unit, enters, y=None, detail=None, prior_yield=1.0):
        parts.append(Part(name, unit * count, enters, category, prior_yield))
        meta.append((name, category, count, unit, y, detail or {}))

    kind = packaging.kind
    if substrate_area_mm2 is not None and not float(substrate_area_mm2) > 0:
        raise SpecError(f"substrate area must be positive, got {substrate_area_mm2!r}")
    if kind == "organic":
        steps = [Step("die bond", y_bond)]
        die_step = stack_step = sub_step = 0
        sub_area = packaging.substrate_area_factor * (die_area + stack_area)
        carrier = None
        if substrate_area_mm2 is not None:
            sub_area = float(substrate_area_mm2)
    else:
        if carrier_area_mm2 is not None:
            c_area = float(carrier_area_mm2)
            if not c_area > 0:
                raise SpecError(f"carrier (interposer) area must be positive, got {c_area!r}")
        else:
            c_area = packaging.carrier_area_factor * (die_area + stack_area)
        carrier = die_cost(c_area, packaging.carrier_wafer_price, packaging.carrier_d0,
                           alpha=packaging.carrier_alpha, model=yield_model, **geo)
        sub_area = packaging.substrate_area_factor * c_area
        if packaging.chip_last:
            steps = [Step("carrier test", carrier.yield_), Step("die bond", y_bond),
                     Step("substrate attach", packaging.substrate_attach_yield)]
            die_step = stack_step = 1
            sub_step = 2
        else:
            steps = [Step("carrier build", carrier.yield_),
                     Step("substrate attach", packaging.substrate_attach_yield)]
            die_step = stack_step = 0
            sub_step = 1
        if substrate_area_mm2 is not None:
            sub_area = float(substrate_area_mm2)
        # the carrier's raw silicon/RDL plus C4 bumps under it; its yield loss is charged by the
        # carrier step (chip-last: carrier tested before dies go on it)
        add("carrier", "carrier", 1, carrier.raw + c_area * packaging.carrier_c4_usd_per_mm2, 0,
            y=carrier.yield_, detail={"area_mm2": c_area, "dies_per_wafer": carrier.dies_per_wafer})
        if kind == "bridge" and bridges:
            if packaging.bridge_area_mm2 <= 0:
                raise SpecError(f"packaging {packaging.name!r} has bridges but no bridge area")
            b = die_cost(packaging.bridge_area_mm2, packaging.bridge_wafer_price,
                         packaging.bridge_d0, alpha=packaging.bridge_alpha, model=yield_model,
                         **geo)
            # bridges are embedded into the carrier before it is tested: they share its step,
            # and each embed is an attach that can fail like a die bond
            y_embed = (packaging.bond_yield if packaging.bridge_embed_yield is None
                       else packaging.bridge_embed_yield)
            steps[0] = Step(steps[0].name, steps[0].yield_ * bond_yield(y_embed, bridges))
            add("bridge", "bridge", int(bridges), b.kgd, 0, y=b.yield_,
                detail={"area_mm2": packaging.bridge_area_mm2})

    for d, dc in zip(dies, die_costs):
        bump = d.area_mm2 * packaging.bump_usd_per_mm2 if d.stacked_on is None else 0.0
        add(d.name, "die", d.count, dc.kgd + bump, die_step, y=dc.yield_,
            detail={"area_mm2": d.area_mm2, "node": d.node.name, "raw": dc.raw,
                    "defect": dc.defect, "test": dc.test, "bumps": bump,
                    "dies_per_wafer": dc.dies_per_wafer, "quality": dc.quality,
                    "stacked_on": d.stacked_on, "stack_yield": prior[d.name]},
            prior_yield=prior[d.name])
    for s in stacks:
        if s.count:
            add(s.name, "hbm", s.count, s.price, stack_step, detail={"footprint_mm2": s.footprint_mm2})

    # Chiplet Actuary applies the layer factor only to organic MCMs, where the substrate itself
    # routes die-to-die wires; under a carrier the substrate only fans out C4s (factor 1, CM §8)
    n_dies = sum(d.count for d in dies if d.stacked_on is None)
    layer = (organic_layer_factor(sub_area, n_dies)
             if kind == "organic" and packaging.layer_factor_rule else 1.0)
    add("substrate", "substrate", 1, sub_area * packaging.substrate_usd_per_mm2 * layer, sub_step,
        detail={"area_mm2": sub_area, "layer_factor": layer})

    if assembly_usd:
        # process cost of the assembly (chip-on-wafer bonding, underfill, mould, ...), paid for
        # every assembly started at the die-bond step and lost with it on a failure
        add("assembly", "assembly", 1, float(assembly_usd), die_step)

    quality = math.prod(dc.quality ** d.count for d, dc in zip(dies, die_costs))
    if quality < 1.0:
        steps.append(Step("test escapes", quality))
    if final_test_usd or final_test_yield < 1.0:
        steps.append(Step("final test", final_test_yield))
        add("final test", "test", 1, float(final_test_usd), len(steps) - 1)

    res = assemble(parts, steps)
    items = []
    for i, (name, cat, count, unit, y, detail) in enumerate(meta):
        items.append(LineItem(name=name, category=cat, count=count, unit_cost=unit,
                              cost=parts[i].cost, scrap=res.scrap(i), yield_=y, detail=detail))
    return RecurringCost(items=items, assembly_yield=res.package_yield, steps=steps)
