"""Catalog values equal the shared reference sheets (spot checks, by section) and lookups accept aliases."""
import pytest

from chipletarch.arch import catalog as c
from chipletarch.errors import SpecError


def test_process_nodes_match_cost_model():
    # COST_MODEL.md §3b CSET 2020 wafer prices; §3a / §8 Chiplet Actuary D0; §3c IBS NRE
    assert (c.lookup_process("N5").wafer_price_usd, c.lookup_process("N5").defect_density_per_cm2) == (16988.0, 0.11)
    assert (c.lookup_process("N7").wafer_price_usd, c.lookup_process("N7").defect_density_per_cm2) == (9346.0, 0.09)
    assert c.lookup_process("N16").wafer_price_usd == 3984.0 and c.lookup_process("N28").wafer_price_usd == 2891.0
    assert c.lookup_process("N7").design_nre_usd == 297.8e6 and c.lookup_process("N5").design_nre_usd == 542.2e6
    assert c.lookup_process("N3").defect_density_per_cm2 == 0.20 and c.lookup_process("N3").design_nre_usd is None
    # NVIDIA's 4N/4NP are in the N5/N4 family row of COST_MODEL.md §10
    assert c.lookup_process("4n").wafer_price_usd == c.lookup_process("4NP").wafer_price_usd == 16988.0
    # energy scale: 45 nm -> 5 nm is 1/sqrt(18) (geometric mean of ENERGY.md §1's 3-6x); N3 by 0.16/0.245
    assert c.lookup_process("N5").logic_energy_scale == pytest.approx(18 ** -0.5)
    assert c.lookup_process("N3").logic_energy_scale == pytest.approx(18 ** -0.5 * 0.16 / 0.245)
    assert all(p.cluster_alpha == 10 for p in c.PROCESS_NODES.values())   # Chiplet Actuary logic default


def test_memory_links_packages():
    assert c.lookup_memory("HBM3").energy_pj_per_bit == 3.5          # ENERGY.md §3 recommendation
    assert c.lookup_memory("hbm3").price_usd_per_gb == 15.0          # COST_MODEL.md §6
    assert c.lookup_memory("hbm3e").price_usd_per_gb == pytest.approx(15.0 * 1.2)
    assert c.lookup_memory("hbm4").interface_bits == 2048            # ENERGY.md §3 [E8]
    ucie_a, ucie_s, ucie_3d = c.lookup_link("ucie-a"), c.lookup_link("UCIe-S"), c.lookup_link("ucie-3d")
    assert (ucie_s.energy_pj_per_bit, ucie_a.energy_pj_per_bit, ucie_3d.energy_pj_per_bit) == (0.6, 0.3, 0.05)
    assert (ucie_s.module_bandwidth_gb_s, ucie_a.module_bandwidth_gb_s) == (16 * 32 / 8, 64 * 32 / 8)
    assert c.lookup_link("nv-hbi").energy_pj_per_bit is None         # not published (gap)
    si = c.lookup_technology("CoWoS-S")
    assert si.name == "silicon-interposer" and si.max_interposer_area_mm2 == 2700.0
    # wafer: Chiplet Actuary SI row [C2]; D0 from [C27] (2,500 mm^2 passive interposer ~66 % good at
    # alpha 6); bond yield: mature end of COST_MODEL §10's 0.95-0.99 (docs/COST.md §4)
    assert si.interposer_wafer_price_usd == 1937.0 and si.bond_yield_per_die == 0.99
    assert si.interposer_defect_density_per_cm2 == pytest.approx(6 * (0.66 ** (-1 / 6) - 1) / 25)
    assert (1 + si.interposer_defect_density_per_cm2 * 25 / 6) ** -6 == pytest.approx(0.66)
    # CoWoS-L carrier: [C28]'s S 74 % / L 80 % for one design, as a ratio of defect counts at alpha 6
    lsi = c.lookup_technology("CoWoS-L")
    ratio = ((0.80 ** (-1 / 6) - 1) / (0.74 ** (-1 / 6) - 1))
    assert lsi.interposer_defect_density_per_cm2 == pytest.approx(ratio * si.interposer_defect_density_per_cm2)
    assert lsi.bond_yield_per_die == 0.98 and lsi.bridge_area_mm2 == 50.0
    assert c.lookup_technology("soic").hybrid_bond_yield_per_die == 0.95
    assert c.lookup_technology("emib").name == "bridge"
    assert c.RETICLE_LIMIT_MM2 == 26 * 33
    assert c.lookup_technology("wafer-scale").max_die_area_mm2 == 46225.0


def test_every_entry_has_a_source_and_is_frozen():
    for table in (c.PROCESS_NODES, c.MEMORY_GENERATIONS, c.LINK_STANDARDS, c.PACKAGE_TECHNOLOGIES):
        for entry in table.values():
            assert entry.source, entry.name
    with pytest.raises(Exception):
        c.lookup_process("N5").wafer_price_usd = 1.0


def test_unknown_names_suggest():
    with pytest.raises(SpecError, match="unknown process node 'N4P' — did you mean"):
        c.lookup_process("N4P")
    with pytest.raises(SpecError, match="unknown memory generation 'hbm3f' — did you mean 'hbm3'"):
        c.lookup_memory("hbm3f")
