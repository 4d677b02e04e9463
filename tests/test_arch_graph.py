"""Graph construction and queries, checked against closed forms worked out by hand."""
from pathlib import Path

import pytest

from chipletarch.arch import Architecture, ComputeDie, Core, load_architecture, mesh, ring
from chipletarch.arch.graph import (bisection_bandwidth, die_path, local_memory, memory_path, memory_paths,
                                    remote_memory)
from chipletarch.errors import SpecError

DATA = Path(__file__).parent / "data" / "arch"
GB = 1e9


@pytest.fixture(scope="module")
def ring4():
    return load_architecture(DATA / "ring4.yaml").to_graph()


def test_nodes_and_edges(ring4):
    g = ring4
    assert sorted(n for n, t in g.nodes(data="type") if t == "die") == ["c0", "c1", "c2", "c3"]
    assert sorted(n for n, t in g.nodes(data="type") if t == "memory") == ["hbm0", "hbm1", "hbm2", "hbm3"]
    # one stack per die, in order (attach: c -> one-to-one)
    assert [g.nodes[f"hbm{i}"]["die"] for i in range(4)] == ["c0", "c1", "c2", "c3"]
    e = g.edges["c2", "c3"]
    assert (e["type"], e["bandwidth_bytes_per_s"], e["latency_s"], e["energy_pj_per_bit"]) == \
        ("link", 50 * GB, pytest.approx(5e-9), 1.0)
    # peak per node: 2 x 8 cores x 1024 MAC x 1 GHz = 16.384 TFLOP/s bf16; fp8 alias canonicalised
    assert g.nodes["c0"]["peak_flops"] == {"bf16": 16.384e12, "fp8_e4m3": 32.768e12}
    assert g.nodes["hbm0"]["capacity_bytes"] == 16e9


def test_memory_path_one_hop(ring4):
    p = memory_path(ring4, "c0", "hbm1")       # c0 -c1 link, then c1's stack
    assert p.nodes == ["c0", "c1", "hbm1"]
    assert p.bandwidth_bytes_per_s == 100 * GB   # min(100, 500)
    assert p.latency_s == pytest.approx(10e-9)
    assert p.energy_pj_per_bit == pytest.approx(0.5 + 3.5)
    p = memory_path(ring4, "c0", "hbm3")       # c0 - c3 (400 GB/s, 40 ns, 0.3 pJ)
    assert p.bandwidth_bytes_per_s == 400 * GB and p.latency_s == pytest.approx(40e-9)
    assert p.energy_pj_per_bit == pytest.approx(3.8)


def test_memory_path_two_hops_picks_widest(ring4):
    # c0->c2: via c1 bottleneck min(100, 200) = 100 GB/s, 30 ns, 0.75 pJ; via c3 min(400, 50) = 50.
    p = memory_path(ring4, "c0", "hbm2")
    bw, lat, pj, edges = p                      # the 4-tuple of the docs/ARCHITECTURE.md contract
    assert (bw, edges) == (p.bandwidth_bytes_per_s, p.edges)
    assert p.nodes == ["c0", "c1", "c2", "hbm2"]
    assert p.edges == [("c0", "c1"), ("c1", "c2"), ("c2", "hbm2")]
    assert p.bandwidth_bytes_per_s == 100 * GB
    assert p.latency_s == pytest.approx(30e-9)
    assert p.energy_pj_per_bit == pytest.approx(0.5 + 0.25 + 3.5)


def test_local_remote(ring4):
    assert local_memory(ring4, "c2") == ["hbm2"]
    assert sorted(remote_memory(ring4, "c2")) == ["hbm0", "hbm1", "hbm3"]
    assert memory_paths(ring4, "c1")["hbm1"].bandwidth_bytes_per_s == 500 * GB


def test_bisection_ring(ring4):
    # {c0,c1} | {c2,c3}: cut links c1-c2 (200) and c3-c0 (400)
    assert bisection_bandwidth(ring4, ["c0", "c1"], ["c2", "c3"]) == 600 * GB
    # {c0} | {c2}, c1 and c3 free: max flow = min(100,200) + min(400,50) = 150
    assert bisection_bandwidth(ring4, ["c0"], ["c2"]) == 150 * GB
    with pytest.raises(SpecError, match="overlap"):
        bisection_bandwidth(ring4, ["c0"], ["c0", "c1"])


def _chiplet_package(links):
    die = ComputeDie(name="m", count=4, clock_ghz=1.0, cores=1, area_mm2=50,
                     core=Core(macs_per_cycle={"bf16": 256}))
    return Architecture(name="mesh", technology="organic-substrate", dies=[die], links=links)


def test_bisection_2x2_mesh():
    links = mesh(["m0", "m1", "m2", "m3"], rows=2, kind="ucie-standard", bandwidth_gb_s=64)
    assert sorted(tuple(l.endpoints) for l in links) == [("m0", "m1"), ("m0", "m2"), ("m1", "m3"), ("m2", "m3")]
    g = _chiplet_package(links).to_graph()
    assert bisection_bandwidth(g, ["m0", "m1"], ["m2", "m3"]) == 2 * 64 * GB   # two vertical links
    assert bisection_bandwidth(g, ["m0", "m2"], ["m1", "m3"]) == 2 * 64 * GB   # two horizontal links
    # diagonal corners: two disjoint 2-hop paths
    assert bisection_bandwidth(g, ["m0"], ["m3"]) == 2 * 64 * GB
    # catalog defaults for the link standard: UCIe-S 0.6 pJ/bit >16 GT/s, <2 ns round trip -> 1 ns
    p = die_path(g, "m0", "m3")
    assert len(p.edges) == 2 and p.energy_pj_per_bit == pytest.approx(1.2) and p.latency_s == pytest.approx(2e-9)


def test_topology_entry_equals_helper_links():
    a = _chiplet_package(ring(["m0", "m1", "m2", "m3"], kind="ucie-advanced", bandwidth_gb_s=256))
    b = a.evolve(links=[], topology=[ring(["m0", "m1", "m2", "m3"], as_topology=True, kind="ucie-advanced",
                                          bandwidth_gb_s=256)])
    ga, gb = a.to_graph(), b.to_graph()
    assert sorted(map(sorted, ga.edges)) == sorted(map(sorted, gb.edges))
    assert bisection_bandwidth(ga, ["m0", "m1"], ["m2", "m3"]) == bisection_bandwidth(gb, ["m0", "m1"], ["m2", "m3"]) \
        == 2 * 256 * GB


def test_xcd_iod_blocks_and_star():
    a = load_architecture(DATA / "xcd_iod.yaml")
    g = a.to_graph()
    # 8 stacks over 4 I/O dies in blocks of two
    assert [g.nodes[f"hbm{i}"]["die"] for i in range(8)] == ["iod0", "iod0", "iod1", "iod1",
                                                             "iod2", "iod2", "iod3", "iod3"]
    assert local_memory(g, "xcd0") == []
    p = memory_path(g, "xcd0", "hbm7")  # xcd0 -3D- iod0 -IF- iod3 - hbm7
    assert p.nodes == ["xcd0", "iod0", "iod3", "hbm7"]
    assert p.bandwidth_bytes_per_s == 600 * GB
    assert p.latency_s == pytest.approx(0.5e-9 + 20e-9)
    assert p.energy_pj_per_bit == pytest.approx(0.05 + 2.0 + 3.5)
    # all-to-all of 4 IODs: {iod0,iod1} | {iod2,iod3} cuts 4 links
    assert bisection_bandwidth(g, ["iod0", "iod1"], ["iod2", "iod3"]) == 4 * 1000 * GB
    # the scale-up port is split over its 4 host dies
    assert g.edges["iod0", "scale_up"]["bandwidth_bytes_per_s"] == 448 * GB / 4
    assert a.peak_flops("bf16") == pytest.approx(8 * 2 * 38 * 1024 * 2e9)
    assert g.nodes["iod1"]["cache_bandwidth_bytes_per_s"] == 4000 * GB


def test_unknown_nodes_are_spec_errors(ring4):
    with pytest.raises(SpecError, match="not a node"):
        memory_path(ring4, "c9", "hbm0")
    with pytest.raises(SpecError, match="expected a memory"):
        memory_path(ring4, "c0", "c1")


def test_h100_graph():
    g = load_architecture("h100-sxm").to_graph()
    assert sum(g.nodes[s]["bandwidth_bytes_per_s"] for s in local_memory(g, "gh100")) == pytest.approx(3.35e12)
    assert g.nodes["scale_up"]["domain_size"] == 8
    assert g.nodes["gh100"]["peak_flops"]["bf16"] == pytest.approx(989.4e12, rel=5e-3)
