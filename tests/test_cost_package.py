"""package_cost / family_cost on small architectures built in the test, checked against the
hand-written formulas of COST_MODEL.md §7-8 (organic and chip-last interposer packages), NRE
amortisation with reuse, and hypothesis invariants on die and stack counts.

The architectures are plain namespaces carrying exactly the attributes of the architecture
schema that the cost model reads (dies, memory, technology, areas, links); the bundled YAML
architectures are costed in test_cost_bundled.py."""
from types import SimpleNamespace as NS

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipletarch.cost import model as M
from chipletarch.cost.package import CostOptions, Harvest, family_cost, package_cost
from chipletarch.errors import SpecError

N5 = NS(name="N5", wafer_price_usd=16988.0, defect_density_per_cm2=0.11, cluster_alpha=10.0,
        design_nre_usd=542.2e6)
N7 = NS(name="N7", wafer_price_usd=9346.0, defect_density_per_cm2=0.09, cluster_alpha=10.0,
        design_nre_usd=297.8e6)
ORGANIC = NS(name="organic-substrate", has_interposer=False, interposer_wafer_price_usd=None,
             interposer_defect_density_per_cm2=None, interposer_cluster_alpha=None,
             interposer_area_factor=None, substrate_area_factor=4.0, substrate_usd_per_mm2=0.005,
             bump_usd_per_mm2=0.005, bond_yield_per_die=0.99)
MONO = NS(**{**vars(ORGANIC), "name": "monolithic"})
SI = NS(name="silicon-interposer", has_interposer=True, interposer_wafer_price_usd=1937.0,
        interposer_defect_density_per_cm2=0.06, interposer_cluster_alpha=6.0,
        interposer_area_factor=1.1, substrate_area_factor=4.0, substrate_usd_per_mm2=0.005,
        bump_usd_per_mm2=0.01, bond_yield_per_die=0.95)
HBM3 = NS(name="hbm3", price_usd_per_gb=15.0, source="test")


def die(name, area, node=N5, count=1, cores=None):
    return NS(name=name, area_mm2=area, process=node, count=count, kind="compute", cores=cores,
              instances=[name] if count == 1 else [f"{name}{i}" for i in range(count)])


def arch(name, tech, dies, memory=(), interposer=None, substrate=None):
    return NS(name=name, technology=tech, dies=list(dies), memory=list(memory),
              interposer_area_mm2=interposer, substrate_area_mm2=substrate,
              all_links=lambda: [])


def hbm(count, cap=16, gen=HBM3):
    return NS(name="hbm", count=count, generation=gen, capacity_gb=cap)


def test_monolithic_800mm2_matches_actuary_and_nre_example():
    a = arch("soc", MONO, [die("soc", 800, N7)])
    c = package_cost(a, volume=1e6)
    kgd = M.die_cost(800, 9346, 0.09, alpha=10).kgd
    assert c.recurring == pytest.approx((kgd + 0.005 * 800 + 4 * 800 * 0.005) / 0.99)
    assert c.recurring == pytest.approx(342.0, abs=0.06)            # CM §9b 7 nm 800 mm^2
    # CM §8: 800 mm^2 SoC at 7 nm, total NRE 7.05e8 (module + chip + package), over 1e6 units
    assert c.nre == pytest.approx(7.05e8 / 1e6, rel=2e-3)
    assert sum(c.components().values()) == pytest.approx(c.total)
    d = c.to_dict()
    assert d["total"] == pytest.approx(c.total) and d["die_yields"]["soc"] == pytest.approx(
        M.die_yield(800, 0.09, alpha=10))


def test_chip_last_interposer_package_by_hand():
    a = arch("gpu", SI, [die("g", 600)], [hbm(4)], interposer=1500)
    c = package_cost(a, assembly_usd=0.0)   # the sheet formula has no process cost
    y1 = M.die_yield(1500, 0.06, alpha=6)
    y2 = 0.95 ** 5                      # 1 die + 4 stacks attached
    y3 = 0.99
    carrier = 1937 / M.dies_per_wafer(1500) + 1500 * 0.005
    dies = M.die_cost(600, 16988, 0.11, alpha=10).kgd + 600 * 0.01
    stacks = 4 * 16 * 15.0
    sub = 4 * 1500 * 0.005
    expected = carrier / (y1 * y2 * y3) + (dies + stacks) / (y2 * y3) + sub / y3
    assert c.total == pytest.approx(expected)
    assert c.hbm == pytest.approx(stacks)
    assert c.carrier == pytest.approx(carrier)
    assert c.carrier_yield == pytest.approx(y1)
    assert c.assembly_yield == pytest.approx(y1 * y2 * y3)
    assert c.nre == 0.0 and any("NRE not included" in n for n in c.notes)


def test_given_substrate_area_is_used():
    a = arch("gpu", SI, [die("g", 600)], interposer=1000, substrate=5000)
    c = package_cost(a)
    assert c.substrate == pytest.approx(5000 * 0.005)


def test_hbm_height_and_price_override():
    a = arch("gpu", SI, [die("g", 600)], [hbm(2, cap=24)], interposer=1500)
    base = package_cost(a).hbm
    assert base == pytest.approx(2 * 24 * 15.0)
    assert package_cost(a, hbm_height={"hbm": 12}).hbm == pytest.approx(
        2 * M.hbm_stack_price(24, 15.0, height=12))
    assert package_cost(a, hbm_usd_per_gb={"hbm3": 10.0}).hbm == pytest.approx(2 * 24 * 10.0)
    nopriced = arch("x", SI, [die("g", 600)], [hbm(1, gen=NS(name="hbm2e", price_usd_per_gb=None,
                                                            source="none"))], interposer=900)
    with pytest.raises(SpecError, match="no price"):
        package_cost(nopriced)


def test_harvesting_lowers_die_cost():
    a = arch("gpu", MONO, [die("g", 814, cores=132)])
    plain = package_cost(a)
    h = package_cost(a, harvest={"g": Harvest(physical_units=144, unit_area_fraction=0.5)})
    y = M.harvested_yield(814, 0.11, units=144, spare_units=12, unit_area_fraction=0.5, alpha=10)
    assert h.die_yields["g"] == pytest.approx(y)
    assert h.dies < plain.dies


def test_missing_inputs_are_spec_errors():
    with pytest.raises(SpecError, match="area"):
        package_cost(arch("a", MONO, [NS(name="d", area_mm2=None, process=N5, count=1)]))
    with pytest.raises(SpecError, match="process"):
        package_cost(arch("a", MONO, [NS(name="d", area_mm2=100, process=None, count=1)]))
    with pytest.raises(SpecError):
        package_cost(arch("a", MONO, [die("d", 100)]), volume=0)
    n3 = NS(**{**vars(N5), "name": "N3", "design_nre_usd": None})
    with pytest.raises(SpecError, match="design NRE"):
        package_cost(arch("a", MONO, [die("d", 100, n3)]), volume=1e5)
    assert package_cost(arch("a", MONO, [die("d", 100, n3)]), volume=1e5,
                        nre_usd={"d": 2e8}).nre_items["die:d"] == pytest.approx(2e8 / 1e5)


def test_chiplet_reuse_across_products_amortises_nre():
    # one 200 mm^2 chiplet design in a 2-chiplet and a 4-chiplet product, 1e6 of each
    two = arch("two", ORGANIC, [die("ccd", 200, count=2)])
    four = arch("four", ORGANIC, [die("ccd", 200, count=4)])
    alone = package_cost(two, volume=1e6).nre_items["die:ccd"]
    fam = family_cost([(two, 1e6), (four, 1e6)])
    nre = M.die_design_nre(200, 542.2e6)
    assert alone == pytest.approx(nre / 2e6 * 2)                # own 2e6 instances
    assert fam["two"].nre_items["die:ccd"] == pytest.approx(nre / 6e6 * 2)   # 6e6 in the family
    assert fam["four"].nre_items["die:ccd"] == pytest.approx(nre / 6e6 * 4)
    # the same through an explicit design volume
    assert package_cost(two, volume=1e6, design_volumes={"ccd": 6e6}).nre_items[
        "die:ccd"] == pytest.approx(nre / 6e6 * 2)
    # multi-die packages pay one D2D PHY design per node (CM §8: 0.5 x NRE/300 x 20 mm^2)
    assert fam["two"].nre_items["d2d-phy:N5"] == pytest.approx(0.5 * 542.2e6 / 300 * 20 / 1e6)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 11))
def test_more_dies_more_assembly_loss(n):
    a = arch("m", ORGANIC, [die("c", 100, count=n)])
    b = arch("m", ORGANIC, [die("c", 100, count=n + 1)])
    ca, cb = package_cost(a), package_cost(b)
    assert cb.assembly_yield < ca.assembly_yield
    assert cb.assembly_scrap / (n + 1) > ca.assembly_scrap / n     # scrap per die grows


@settings(max_examples=40, deadline=None)
@given(area=st.floats(50, 800), k=st.floats(1.05, 1.5))
def test_package_cost_rises_with_die_area(area, k):
    a = package_cost(arch("a", SI, [die("g", area)], [hbm(2)]))
    b = package_cost(arch("a", SI, [die("g", min(area * k, 858))], [hbm(2)]))
    assert b.total > a.total


def test_hybrid_bonded_stacks_by_hand():
    # 4 compute dies hybrid-bonded two per base die (MI300X-style), bases on an interposer.
    # Each 3D stack is formed and tested first (yield 0.95^2), then is one attach on the carrier.
    hyb = NS(**{**vars(SI), "name": "3d-hybrid-bonding"})
    link = lambda a, b, k: NS(kind=k, endpoints=[a, b])
    links = [link(f"xcd{i}", f"iod{i // 2}", "ucie-3d") for i in range(4)]
    links.append(link("iod0", "iod1", "custom"))
    a = arch("mi", hyb, [die("xcd", 100, N5, count=4), die("iod", 300, N7, count=2)],
             interposer=1000)
    a.all_links = lambda: links
    c = package_cost(a, assembly_usd=0.0)
    y1 = M.die_yield(1000, 0.06, alpha=6)
    ys = 0.95 ** 2                        # hybrid bonds per stack
    y2 = 0.95 ** 2                        # two stacks attached to the interposer
    y3 = 0.99
    carrier = 1937 / M.dies_per_wafer(1000) + 1000 * 0.005
    iod = M.die_cost(300, 9346, 0.09, alpha=10).kgd + 300 * 0.01   # base dies carry the bumps
    xcd = M.die_cost(100, 16988, 0.11, alpha=10).kgd               # stacked dies: no bumps
    sub = 4 * 1000 * 0.005
    expected = carrier / (y1 * y2 * y3) + (2 * iod + 4 * xcd) / (ys * y2 * y3) + sub / y3
    assert c.total == pytest.approx(expected)
    # explicit mapping gives the same; a better hybrid-bond yield lowers the cost
    assert package_cost(a, stacked_dies={"xcd": "iod"}, assembly_usd=0.0).total == pytest.approx(expected)
    assert package_cost(a, hybrid_bond_yield=0.99, assembly_usd=0.0).total < c.total
    with pytest.raises(SpecError):
        package_cost(a, stacked_dies={"xcd": "nope"})


def test_bond_yield_override_reduces_scrap():
    a = arch("gpu", SI, [die("g", 600)], [hbm(6)], interposer=2000)
    assert package_cost(a, bond_yield=0.99).assembly_scrap < package_cost(a).assembly_scrap


def test_assembly_and_final_test_costs_by_hand():
    # organic, one die: assembly process paid per attempt at the bond step (lost with it),
    # final test paid per package tested; a final-test yield scraps everything before it
    a = arch("soc", MONO, [die("soc", 100)])
    base = package_cost(a)
    c = package_cost(a, assembly_usd=10.0, final_test_usd=5.0, final_test_yield=0.9)
    assert c.assembly == pytest.approx(10.0) and c.final_test == pytest.approx(5.0)
    assert c.total == pytest.approx(base.total / 0.9 + 10.0 / (0.99 * 0.9) + 5.0 / 0.9)


def test_wafer_scale_is_one_die_per_wafer_and_needs_redundancy():
    ws = NS(**{**vars(ORGANIC), "name": "wafer-scale", "substrate_area_factor": 1.0})
    a = arch("wse", ws, [die("wse", 46225, N5, cores=9000)])
    with pytest.raises(SpecError, match="redundancy"):
        package_cost(a)
    c = package_cost(a, harvest={"wse": Harvest(physical_units=10000, unit_area_fraction=0.9)})
    y = M.harvested_yield(46225, 0.11, units=10000, spare_units=1000, unit_area_fraction=0.9,
                          alpha=10)
    item = next(i for i in c.items if i["category"] == "die")
    assert item["dies_per_wafer"] == 1.0
    assert c.dies == pytest.approx(16988 / y)


def test_options_naming_unknown_dies_or_stacks_are_errors():
    a = arch("gpu", SI, [die("g", 600, cores=100)], [hbm(2)], interposer=1500)
    with pytest.raises(SpecError, match="harvest"):
        package_cost(a, harvest={"typo": Harvest(120, 0.5)})
    with pytest.raises(SpecError, match="hbm_height"):
        package_cost(a, hbm_height={"g": 12})
    with pytest.raises(SpecError):
        package_cost(a, harvest={"g": Harvest(90, 0.5)})     # fewer built than enabled


def test_family_options_apply_to_the_products_that_have_the_die():
    gpu = arch("gpu", MONO, [die("g", 600, cores=100)])
    cpu = arch("cpu", MONO, [die("c", 300, cores=64)])
    fam = family_cost([(gpu, 1e5), (cpu, 1e5)], harvest={"g": Harvest(104, 0.5)})
    assert fam["gpu"].die_yields["g"] > M.die_yield(600, 0.11, alpha=10)
    assert fam["cpu"].die_yields["c"] == pytest.approx(M.die_yield(300, 0.11, alpha=10))
    with pytest.raises(SpecError):
        family_cost([(gpu, 1e5), (cpu, 1e5)], harvest={"x": Harvest(104, 0.5)})


def test_interposer_area_includes_hbm_stack_footprints():
    # CoWoS interposers carry the HBM stacks beside the logic: area factor x (dies + stacks),
    # stack footprint from the memory generation's catalog entry
    import chipletarch as ca
    from chipletarch.arch.catalog import lookup_memory
    a = ca.load_architecture("h100-sxm")
    c = package_cost(a)
    area = next(i["area_mm2"] for i in c.items if i["category"] == "carrier")
    fp = lookup_memory("hbm3").stack_footprint_mm2
    assert fp and 100 <= fp <= 130
    assert area == pytest.approx(1.1 * (814 + 6 * fp))   # 6 HBM sites, 5 active


def test_cowos_process_rate_rederives_from_h100_published_figure():
    # params.ASSEMBLY_USD_PER_CARRIER_MM2 = (H100 CoWoS midpoint - modelled materials) / area
    import chipletarch as ca
    from chipletarch.cost import params as P
    a = ca.load_architecture("h100-sxm")
    mat = package_cost(a, assembly_usd=0.0)
    area = next(i["area_mm2"] for i in mat.items if i["category"] == "carrier")
    rate = (P.H100_COWOS_USD - mat.packaging) / area
    assert P.ASSEMBLY_USD_PER_CARRIER_MM2["silicon-interposer"] == pytest.approx(rate, rel=1e-3)
    c = package_cost(a)
    assert c.assembly == pytest.approx(rate * area, rel=1e-3)
    assert 723 <= c.packaging + c.assembly <= 750
    # organic packages get no process cost (no published figure)
    assert package_cost(arch("m", MONO, [die("d", 100)])).assembly == 0.0


# ---- fields of the bundled YAML files the cost model reads -----------------------------------

def test_yaml_redundancy_sets_the_die_yield():
    import chipletarch as ca
    a = ca.load_architecture("h100-sxm")
    red = a.dies[0].redundancy
    assert (red.units, red.required_units, red.area_fraction) == (72, 66, 0.5)
    c = package_cost(a)
    want = M.harvested_yield(814, 0.11, units=72, spare_units=6, unit_area_fraction=0.5, alpha=10)
    assert c.die_yields["gh100"] == pytest.approx(want)
    assert c.dies == pytest.approx(M.die_cost(814, 16988, 0.11, alpha=10, yield_override=want).kgd)
    # redundancy=False: every block must work (the plain NB model)
    plain = package_cost(a, redundancy=False)
    assert plain.die_yields["gh100"] == pytest.approx(M.die_yield(814, 0.11, alpha=10))
    assert plain.dies > c.dies
    # CostOptions.harvest overrides the YAML (144 SMs built, the architecture's 132 cores needed)
    h = package_cost(a, harvest={"gh100": Harvest(physical_units=144, unit_area_fraction=0.4)})
    assert h.die_yields["gh100"] == pytest.approx(
        M.harvested_yield(814, 0.11, units=144, spare_units=12, unit_area_fraction=0.4, alpha=10))


def test_redundancy_and_physical_capacity_are_validated():
    import chipletarch as ca
    from chipletarch.arch import Architecture
    a = ca.load_architecture("h100-sxm")
    d = a.model_dump(mode="json", exclude_defaults=True)
    d["dies"][0]["redundancy"] = {"units": 60, "required_units": 66, "area_fraction": 0.5}
    with pytest.raises(SpecError, match="required_units"):
        Architecture.from_dict(d)
    d["dies"][0]["redundancy"] = {"units": 72, "required_units": 66, "area_fraction": 1.5}
    with pytest.raises(SpecError):
        Architecture.from_dict(d)
    d["dies"][0]["redundancy"] = {"units": 72, "required_units": 66, "area_fraction": 0.5}
    d["memory"][0]["physical_capacity_gb"] = 15
    with pytest.raises(SpecError, match="physical_capacity_gb"):
        Architecture.from_dict(d)


def test_hbm_is_priced_on_physical_capacity():
    import chipletarch as ca
    # H200: 141 GB usable of 144 GB built (HARDWARE §2); B200: 180 of 192 GB (§3); HBM3e $18/GB
    h200, b200 = ca.load_architecture("h200-sxm"), ca.load_architecture("b200")
    assert h200.memory[0].capacity_gb == 23.5 and h200.memory[0].priced_capacity_gb == 24
    assert package_cost(h200).hbm == pytest.approx(6 * 24 * 18.0)
    assert package_cost(b200).hbm == pytest.approx(8 * 24 * 18.0)
    # H100 exposes what it builds: priced on capacity_gb
    # H100 SXM: 5 active stacks + 1 built but not enabled (6 sites, HARDWARE §1), all priced
    assert package_cost("h100-sxm").hbm == pytest.approx(6 * 16 * 15.0)


def test_cowos_l_bridge_is_costed_and_its_embedding_is_in_the_carrier_yield():
    import chipletarch as ca
    a = ca.load_architecture("b200")
    c = package_cost(a)
    bridge = [i for i in c.items if i["category"] == "bridge"]
    assert len(bridge) == 1 and bridge[0]["count"] == 1 and bridge[0]["area_mm2"] == 50.0
    si = ca.arch.catalog.lookup_technology("silicon-interposer")
    kgd = M.die_cost(50, si.interposer_wafer_price_usd, si.interposer_defect_density_per_cm2,
                     alpha=6).kgd
    assert bridge[0]["unit_cost"] == pytest.approx(kgd) and kgd < 3.0       # a couple of dollars
    # [C28]'s CoWoS-L interposer yield includes the LSI bridges: no extra embed loss
    tech = a.technology
    carrier = next(i for i in c.items if i["category"] == "carrier")
    assert carrier["yield"] == pytest.approx(M.die_yield(carrier["area_mm2"],
                                                         tech.interposer_defect_density_per_cm2, alpha=6))
    assert package_cost(a, bridge_area_mm2=0).carrier < c.carrier
