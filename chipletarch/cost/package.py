"""`package_cost(arch, volume=...)`: the manufacturing cost of an architecture, as a breakdown.

Reads process nodes (wafer price, D0, alpha, design NRE), memory generations ($/GB) and the
package technology (interposer wafer/D0/alpha/area factor, substrate, bumps, attach, hybrid-bond
and bridge figures) from the architecture's catalog entries (`chipletarch.arch.catalog`,
overridable per architecture), the dies' `redundancy` (harvesting), the stacks'
`physical_capacity_gb` and `inactive_count` (stacks built but not enabled) from the architecture,
adds the cost-only parameters of `chipletarch.cost.params`, and runs `recurring.recurring_cost`
plus NRE amortisation. What the architecture schema cannot say (HBM stack height, which dies are
hybrid-bonded on others, KGD/final-test prices, die designs shared with other products) and
overrides of the above come in through `CostOptions`. `family_cost` costs several products
together so that a die design used by more than one of them has its NRE spread over all of them
(chiplet reuse).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from ..errors import SpecError
from . import params as P
from .model import amortised_nre, die_design_nre, harvested_yield, hbm_stack_price, organic_layer_factor
from .recurring import DieSpec, RecurringCost, StackSpec, recurring_cost

# Chiplet Actuary's package-design NRE by packaging kind (CM §8 "NRE cost", [C2]); the package
# technologies of the catalog map onto its three kinds.
_NRE_BY_KIND = {"organic": P.ACTUARY_PACKAGING["OS"], "fanout": P.ACTUARY_PACKAGING["FO"],
                "bridge": P.ACTUARY_PACKAGING["FO"], "interposer": P.ACTUARY_PACKAGING["SI"]}
# Die-to-die PHY design NRE: one 20 mm^2 module per node that has D2D links (CM §8, [C2]).
D2D_PHY_NRE_AREA_MM2 = 20.0


@dataclass(frozen=True)
class Harvest:
    """A die that ships with some of its replicated blocks fused off: `physical_units` built,
    the architecture's `cores` enabled; `unit_area_fraction` of the die is in those blocks.
    (H100: 144 SMs built, 132 enabled, HARDWARE.md §1 [S1][S4].) Overrides the die's YAML
    `redundancy`, which can also name blocks other than cores (GH100: 72 TPCs, 66 needed)."""
    physical_units: int
    unit_area_fraction: float


@dataclass(frozen=True)
class CostOptions:
    """Inputs the architecture YAML does not carry. Every field has a sourced default."""
    yield_model: str = P.DEFAULT_YIELD_MODEL
    bond_yield: float | None = None               # per attach; None = the technology's value
    hybrid_bond_yield: float | None = None        # per 3D hybrid bond; None = bond_yield
    harvest: Mapping[str, Harvest] = field(default_factory=dict)   # die definition name -> Harvest
    # use the dies' `redundancy` fields of the architecture (harvesting) for their yield; False =
    # every block must work (the plain yield model), e.g. to show what harvesting is worth
    redundancy: bool = True
    hbm_height: Mapping[str, int] = field(default_factory=dict)     # stack definition -> dies high
    hbm_usd_per_gb: Mapping[str, float] = field(default_factory=dict)  # generation -> $/GB override
    stacked_dies: Mapping[str, str] | None = None  # top die def -> base die def (3D stacks)
    kgd_test_usd: float = P.KGD_TEST_USD          # per die probed (CM §4: no public figure)
    kgd_test_coverage: float = P.KGD_TEST_COVERAGE
    # per package process cost; None = the technology's $/mm^2 of carrier
    # (params.ASSEMBLY_USD_PER_CARRIER_MM2, E) x carrier area
    assembly_usd: float | None = None
    final_test_usd: float = 0.0                   # per package (see docs/COST.md: a gap)
    final_test_yield: float = 1.0
    bridges: int | None = None                    # silicon bridges (technology "bridge")
    # bridge die size; None = the technology's catalog `bridge_area_mm2` (E), 0 = not costed
    bridge_area_mm2: float | None = None
    design_volumes: Mapping[str, float] = field(default_factory=dict)  # die def -> instances, all products
    nre_usd: Mapping[str, float] = field(default_factory=dict)     # die def -> known design NRE


@dataclass
class PackageCost:
    """Cost of one good package, by component. All money in US$ per package."""
    name: str
    volume: float | None
    dies: float                 # known-good dies (wafer + sort scrap + KGD test), before assembly
    bumps: float                # C4 / micro-bumps on the dies
    hbm: float                  # memory stacks
    carrier: float              # interposer / RDL / bridges (raw silicon + C4 under it)
    substrate: float            # organic package substrate
    assembly: float             # assembly process cost (CostOptions.assembly_usd)
    final_test: float
    assembly_scrap: float       # components lost to carrier yield, bonding and escapes
    nre: float                  # amortised one-time cost (0 when volume is None)
    die_yields: dict[str, float]
    carrier_yield: float | None
    assembly_yield: float       # P(a started carrier / assembly ends as a good package)
    items: list[dict]
    nre_items: dict[str, float]
    notes: list[str]

    @property
    def recurring(self) -> float:
        return (self.dies + self.bumps + self.hbm + self.carrier + self.substrate + self.assembly
                + self.final_test + self.assembly_scrap)

    @property
    def total(self) -> float:
        return self.recurring + self.nre

    @property
    def packaging(self) -> float:
        """Carrier + substrate + bumps: what analysts call the CoWoS / packaging cost."""
        return self.carrier + self.substrate + self.bumps

    COMPONENTS = ("dies", "hbm", "carrier", "substrate", "bumps", "assembly", "assembly_scrap",
                  "final_test", "nre")

    def components(self) -> dict[str, float]:
        return {k: float(getattr(self, k)) for k in self.COMPONENTS}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(recurring=self.recurring, total=self.total, packaging=self.packaging)
        return d


# ---- reading the architecture ----------------------------------------------------------------

def _node_cost(die) -> P.NodeCost:
    node = getattr(die, "process", None)
    if node is None:
        raise SpecError(f"die '{die.name}' has no process node: cost needs one (e.g. process: N5)")
    if getattr(die, "area_mm2", None) is None:
        raise SpecError(f"die '{die.name}' has no area_mm2: cost needs the die area")
    return P.NodeCost(name=node.name, wafer_price=node.wafer_price_usd,
                      d0=node.defect_density_per_cm2, alpha=node.cluster_alpha,
                      design_nre=node.design_nre_usd or 0.0)


def packaging_cost_params(tech, *, bridge_area_mm2: float = 0.0) -> P.PackagingCost:
    """PackagingCost from a catalog PackageTechnology plus the cost-only figures of params."""
    if tech.name == "bridge":
        kind = "bridge"
    elif tech.has_interposer:
        kind = "interposer"
    else:
        kind = "organic"
    nre = _NRE_BY_KIND[kind]
    carrier = {}
    if tech.has_interposer:
        missing = [f for f in ("interposer_wafer_price_usd", "interposer_defect_density_per_cm2",
                               "interposer_cluster_alpha") if getattr(tech, f) is None]
        if missing:
            raise SpecError(f"package technology '{tech.name}' lacks {', '.join(missing)} "
                            "(give them as overrides under `technology:`)")
        carrier = dict(carrier_wafer_price=tech.interposer_wafer_price_usd,
                       carrier_d0=tech.interposer_defect_density_per_cm2,
                       carrier_alpha=tech.interposer_cluster_alpha,
                       carrier_area_factor=tech.interposer_area_factor or 1.0)
    bridge = {}
    if kind == "bridge" and bridge_area_mm2 > 0:
        # a bridge is passive silicon like a CoWoS-S interposer: that technology's wafer/D0/alpha
        # (catalog silicon-interposer, CM §5a [C2], [C27]). Its embedding into the carrier is part
        # of the carrier yield the catalog derives from [C28] (CoWoS-L), so it is not charged again.
        from ..arch.catalog import lookup_technology
        si = lookup_technology("silicon-interposer")
        bridge = dict(bridge_area_mm2=bridge_area_mm2, bridge_wafer_price=si.interposer_wafer_price_usd,
                      bridge_d0=si.interposer_defect_density_per_cm2,
                      bridge_alpha=si.interposer_cluster_alpha, bridge_embed_yield=1.0)
    return P.PackagingCost(
        name=tech.name, kind=kind, bond_yield=tech.bond_yield_per_die,
        bump_usd_per_mm2=tech.bump_usd_per_mm2, substrate_usd_per_mm2=tech.substrate_usd_per_mm2,
        substrate_area_factor=tech.substrate_area_factor,
        nre_usd_per_mm2=nre.nre_usd_per_mm2, nre_fixed_usd=nre.nre_fixed_usd,
        layer_factor_rule=(kind == "organic"),
        hybrid_bond_yield=getattr(tech, "hybrid_bond_yield_per_die", None), **carrier, **bridge)


def package_nre(pk: P.PackagingCost, *, carrier_area_mm2: float | None, substrate_area_mm2: float,
                n_dies: int) -> float:
    """Package design NRE (CM §8, [C2]): organic = substrate area x $/mm^2 x layer factor + fixed;
    with a carrier = carrier area x $/mm^2 + fixed + substrate area x substrate $/mm^2."""
    if pk.kind == "organic" or carrier_area_mm2 is None:
        layer = organic_layer_factor(substrate_area_mm2, n_dies) if pk.layer_factor_rule else 1.0
        return substrate_area_mm2 * pk.nre_usd_per_mm2 * layer + pk.nre_fixed_usd
    return (carrier_area_mm2 * pk.nre_usd_per_mm2 + pk.nre_fixed_usd
            + substrate_area_mm2 * pk.substrate_usd_per_mm2)


def _stacked(arch, opts: CostOptions) -> dict[str, str]:
    """{top die definition: base die definition} for dies hybrid-bonded onto other dies.

    Given: `CostOptions.stacked_dies` = {top: base}. Default: on a 3d-hybrid-bonding package,
    a die whose die-to-die links are all 3D interfaces (ucie-3d) sits on the die it links to,
    when that partner is one definition (MI300X: each XCD on an IOD); elsewhere nothing."""
    names = {d.name for d in arch.dies}
    if opts.stacked_dies is not None:
        unknown = (set(opts.stacked_dies) | set(opts.stacked_dies.values())) - names
        if unknown:
            raise SpecError(f"stacked_dies names unknown dies: {', '.join(sorted(unknown))}")
        return dict(opts.stacked_dies)
    if arch.technology.name != "3d-hybrid-bonding":
        return {}
    inst_to_def = {inst: d.name for d in arch.dies for inst in d.instances}
    kinds: dict[str, set[str]] = {}
    partners: dict[str, set[str]] = {}
    for link in arch.all_links():
        a, b = (inst_to_def.get(e, e) for e in link.endpoints)
        for x, y in ((a, b), (b, a)):
            kinds.setdefault(x, set()).add(link.kind)
            partners.setdefault(x, set()).add(y)
    out = {}
    for d in arch.dies:
        if kinds.get(d.name) == {"ucie-3d"} and len(partners[d.name] - {d.name}) == 1:
            base = next(iter(partners[d.name] - {d.name}))
            if kinds.get(base) != {"ucie-3d"}:      # the base also talks 2.5D: it is the bottom
                out[d.name] = base
    return out


def _bridge_count(arch) -> int:
    """One bridge per pair of distinct dies joined by a die-to-die link."""
    pairs = set()
    for link in arch.all_links():
        a, b = link.endpoints
        if a != b:
            pairs.add(frozenset((a, b)))
    return len(pairs)


def _recurring(arch, opts: CostOptions) -> tuple[RecurringCost, P.PackagingCost, list[str], dict]:
    notes: list[str] = []
    tech = arch.technology
    bridge_area = (opts.bridge_area_mm2 if opts.bridge_area_mm2 is not None
                   else (getattr(tech, "bridge_area_mm2", None) or 0.0))
    pk = packaging_cost_params(tech, bridge_area_mm2=bridge_area)
    if opts.bond_yield is not None:
        pk = pk.with_(bond_yield=opts.bond_yield)
    if opts.hybrid_bond_yield is not None:
        pk = pk.with_(hybrid_bond_yield=opts.hybrid_bond_yield)
    die_names = {d.name for d in arch.dies}
    stack_names = {s.name for s in arch.memory}
    for field_name, known in (("harvest", die_names), ("design_volumes", die_names),
                              ("nre_usd", die_names), ("hbm_height", stack_names)):
        unknown = set(getattr(opts, field_name)) - known
        if unknown:
            raise SpecError(f"CostOptions.{field_name} names {', '.join(sorted(unknown))}, not in "
                            f"'{arch.name}' (has: {', '.join(sorted(known)) or 'none'})")
    stacked = _stacked(arch, opts)
    dies = []
    for d in arch.dies:
        node = _node_cost(d)
        y_override = None
        h = opts.harvest.get(d.name)
        red = getattr(d, "redundancy", None) if opts.redundancy else None
        if h is not None:
            active = getattr(d, "cores", None)
            if active is None:
                raise SpecError(f"harvest given for die '{d.name}', which has no cores")
            units, required, frac = h.physical_units, active, h.unit_area_fraction
        elif red is not None:
            units, required, frac = red.units, red.required_units, red.area_fraction
        if h is not None or red is not None:
            if required > units:
                raise SpecError(f"die '{d.name}': {required} units required but only {units} built")
            y_override = harvested_yield(d.area_mm2, node.d0, units=units,
                                         spare_units=units - required,
                                         unit_area_fraction=frac,
                                         alpha=node.alpha, model=opts.yield_model)
            notes.append(f"{d.name}: {required} of {units} repairable units needed, "
                         f"{frac:.0%} of area in units -> yield {y_override:.3f}")
        dpw = None
        if tech.name == "wafer-scale" and d.area_mm2 > P.RETICLE_MM2:
            # one die per wafer by construction (HARDWARE §10 [S53]); such a die only yields
            # through redundancy (routing around defects, [S56]), so harvesting is required
            dpw = 1.0
            if h is None and red is None:
                raise SpecError(f"wafer-scale die '{d.name}' ({d.area_mm2:g} mm^2) yields only "
                                "through redundancy: give it a `redundancy:` block in the YAML or "
                                "CostOptions(harvest={'" + d.name +
                                "': Harvest(physical_units, unit_area_fraction)})")
        dies.append(DieSpec(d.name, d.area_mm2, node, d.count, yield_override=y_override,
                            dies_per_wafer=dpw,
                            test_cost=opts.kgd_test_usd, test_coverage=opts.kgd_test_coverage,
                            stacked_on=stacked.get(d.name)))
    stacks = []
    no_footprint: list[str] = []
    for s in arch.memory:
        gen = s.generation
        price = opts.hbm_usd_per_gb.get(gen.name, gen.price_usd_per_gb)
        if price is None:
            raise SpecError(f"memory generation '{gen.name}' has no price in the catalog "
                            f"({gen.source}); pass CostOptions(hbm_usd_per_gb={{'{gen.name}': ...}})")
        # CostOptions overrides the YAML's stack_height; 8-Hi when neither says
        height = int(opts.hbm_height.get(s.name, getattr(s, "stack_height", None) or 8))
        footprint = getattr(gen, "stack_footprint_mm2", None) or 0.0
        if not footprint:
            no_footprint.append(gen.name)
        # priced on what is built: physical_capacity_gb when the stack exposes less (CM §6)
        cap = getattr(s, "priced_capacity_gb", None) or s.capacity_gb
        # every stack built is priced, attached and placed: the inactive ones too (H100 SXM: 6
        # sites, 5 active, HARDWARE §1 [S3]; [C30] counts six 16 GB stacks in its HBM figure)
        n_built = getattr(s, "built_count", s.count)
        stacks.append(StackSpec(s.name, hbm_stack_price(cap, price, height=height),
                                n_built, footprint_mm2=footprint))
    carrier_area = getattr(arch, "interposer_area_mm2", None)
    if pk.kind != "organic" and carrier_area is None:
        notes.append("interposer area not given: estimated as area factor x (die area + memory "
                     "stack footprints from the catalog); give interposer_area_mm2 to override"
                     + (f"; no footprint known for {', '.join(sorted(set(no_footprint)))} (not "
                        "included)" if no_footprint else ""))
    assembly_usd = opts.assembly_usd
    if assembly_usd is None:
        rate = P.ASSEMBLY_USD_PER_CARRIER_MM2.get(tech.name, 0.0)
        assembly_usd = 0.0
        if rate and pk.kind != "organic":
            c_area = carrier_area if carrier_area is not None else pk.carrier_area_factor * (
                sum(d.area_mm2 * d.count for d in dies if d.stacked_on is None)
                + sum(st.footprint_mm2 * st.count for st in stacks))
            assembly_usd = rate * c_area
            notes.append(f"assembly process ${assembly_usd:,.0f} = ${rate:.3f}/mm^2 x "
                         f"{c_area:,.0f} mm^2 carrier (params.ASSEMBLY_USD_PER_CARRIER_MM2, E: "
                         "calibrated on the H100 CoWoS-S figure [C25][C26])")
    bridges = 0
    if pk.kind == "bridge":
        bridges = opts.bridges if opts.bridges is not None else _bridge_count(arch)
        if pk.bridge_area_mm2 <= 0:
            notes.append("bridge dies not costed: no bridge size in the reference sheets "
                         "(CostOptions.bridge_area_mm2); carrier costed as the RDL interposer")
            bridges = 0
        elif bridges:
            notes.append(f"{bridges} silicon bridge(s) of {pk.bridge_area_mm2:g} mm^2 (E: no published "
                         "bridge size; CostOptions.bridge_area_mm2 / bridges override)")
    rc = recurring_cost(dies, pk, stacks=stacks, carrier_area_mm2=carrier_area,
                        substrate_area_mm2=getattr(arch, "substrate_area_mm2", None),
                        bridges=bridges, assembly_usd=assembly_usd,
                        final_test_usd=opts.final_test_usd,
                        final_test_yield=opts.final_test_yield, yield_model=opts.yield_model)
    geo = {"carrier_area_mm2": next((i.detail["area_mm2"] for i in rc.items
                                     if i.category == "carrier"), None),
           "substrate_area_mm2": next(i.detail["area_mm2"] for i in rc.items
                                      if i.category == "substrate"),
           "n_dies": sum(d.count for d in arch.dies)}
    return rc, pk, notes, geo


def _design_key(die) -> tuple:
    return (die.name, float(die.area_mm2), die.process.name if die.process else None)


def _die_nre(d, opts: CostOptions) -> float:
    if d.name in opts.nre_usd:
        return float(opts.nre_usd[d.name])
    node = _node_cost(d)
    if not node.design_nre:
        raise SpecError(f"process node '{node.name}' of die '{d.name}' has no design NRE in the "
                        f"catalog; pass CostOptions(nre_usd={{'{d.name}': ...}}) or no volume")
    return die_design_nre(d.area_mm2, node.design_nre)


def _build(arch, volume, opts, design_units: Mapping[tuple, float] | None) -> PackageCost:
    rc, pk, notes, geo = _recurring(arch, opts)
    dies = bumps = hbm = carrier = substrate = assembly = test = scrap = 0.0
    die_yields: dict[str, float] = {}
    carrier_yield = None
    items = []
    for it in rc.items:
        scrap += it.scrap
        if it.category == "die":
            bump = it.detail["bumps"] * it.count
            bumps += bump
            dies += it.cost - bump
            die_yields[it.name] = it.yield_
        elif it.category == "hbm":
            hbm += it.cost
        elif it.category in ("carrier", "bridge"):
            carrier += it.cost
            if it.category == "carrier":
                carrier_yield = it.yield_
        elif it.category == "substrate":
            substrate += it.cost
        elif it.category == "assembly":
            assembly += it.cost
        elif it.category == "test":
            test += it.cost
        items.append({"name": it.name, "category": it.category, "count": it.count,
                      "unit_cost": it.unit_cost, "cost": it.cost, "scrap": it.scrap,
                      "yield": it.yield_, **{k: v for k, v in it.detail.items()}})
    nre_items: dict[str, float] = {}
    if volume is not None:
        v = float(volume)
        if not v > 0:
            raise SpecError(f"volume must be a positive number of packages, got {volume!r}")
        for d in arch.dies:
            units = opts.design_volumes.get(d.name)
            if units is None and design_units is not None:
                units = design_units.get(_design_key(d))
            if units is None:
                units = d.count * v
            nre_items[f"die:{d.name}"] = amortised_nre(_die_nre(d, opts), units) * d.count
        if len(arch.dies) > 1 or arch.dies[0].count > 1:
            for node_name in sorted({d.process.name for d in arch.dies}):
                node = next(_node_cost(d) for d in arch.dies if d.process.name == node_name)
                phy = 0.5 * node.design_nre / 300.0 * D2D_PHY_NRE_AREA_MM2
                nre_items[f"d2d-phy:{node_name}"] = amortised_nre(phy, v)
        nre_items["package"] = amortised_nre(
            package_nre(pk, carrier_area_mm2=geo["carrier_area_mm2"],
                        substrate_area_mm2=geo["substrate_area_mm2"], n_dies=geo["n_dies"]), v)
    else:
        notes.append("no volume given: NRE not included (recurring cost only)")
    return PackageCost(name=arch.name, volume=volume, dies=dies, bumps=bumps, hbm=hbm,
                       carrier=carrier, substrate=substrate, assembly=assembly, final_test=test,
                       assembly_scrap=scrap, nre=float(sum(nre_items.values())),
                       die_yields=die_yields, carrier_yield=carrier_yield,
                       assembly_yield=rc.assembly_yield, items=items, nre_items=nre_items,
                       notes=notes)


def _load(arch):
    if isinstance(arch, str):
        from ..arch import load_architecture
        return load_architecture(arch)
    return arch


def package_cost(arch, volume: float | None = None, options: CostOptions | None = None,
                 **option_fields) -> PackageCost:
    """Manufacturing cost of one good package of `arch` (an Architecture or a name/path).

    `volume` = packages built over the product's life; it amortises NRE (die designs, D2D PHY,
    package design). None leaves NRE out. Options (CostOptions fields) may be given as keywords:
    package_cost(arch, volume=1e6, hbm_height={"hbm": 12}).
    """
    opts = options or CostOptions()
    if option_fields:
        from dataclasses import replace
        try:
            opts = replace(opts, **option_fields)
        except TypeError as exc:
            raise SpecError(f"unknown cost option: {exc}") from None
    return _build(_load(arch), volume, opts, None)


def family_cost(products: Iterable[tuple[Any, float]], options: CostOptions | None = None,
                **option_fields) -> dict[str, PackageCost]:
    """Cost several products together: a die design (same name, area and node) used by more
    than one product has its NRE spread over every instance in every product (CM §7 step 7)."""
    prods = [(_load(a), float(v)) for a, v in products]
    units: dict[tuple, float] = {}
    for a, v in prods:
        for d in a.dies:
            units[_design_key(d)] = units.get(_design_key(d), 0.0) + d.count * v
    opts = options or CostOptions()
    if option_fields:
        from dataclasses import replace
        opts = replace(opts, **option_fields)
    # options name dies/stacks of any product: check against all of them, then give each product
    # the entries that concern it
    from dataclasses import replace
    all_dies = {d.name for a, _ in prods for d in a.dies}
    all_stacks = {s.name for a, _ in prods for s in a.memory}
    for field_name, known in (("harvest", all_dies), ("design_volumes", all_dies),
                              ("nre_usd", all_dies), ("hbm_height", all_stacks)):
        unknown = set(getattr(opts, field_name)) - known
        if unknown:
            raise SpecError(f"CostOptions.{field_name} names {', '.join(sorted(unknown))}, "
                            "in none of the products")
    out = {}
    for a, v in prods:
        if a.name in out:
            raise SpecError(f"two products named '{a.name}'")
        dn, sn = {d.name for d in a.dies}, {s.name for s in a.memory}
        mine = replace(opts, **{f: {k: x for k, x in getattr(opts, f).items() if k in known}
                                for f, known in (("harvest", dn), ("design_volumes", dn),
                                                 ("nre_usd", dn), ("hbm_height", sn))})
        out[a.name] = _build(a, v, mine, units)
    return out
