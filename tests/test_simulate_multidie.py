"""Multi-die packages: devices over dies, memory interleaving, remote traffic on D2D links."""
from __future__ import annotations

import numpy as np
import pytest

from chipletarch.arch import load_architecture
from chipletarch.engine import compile_design, compile_machine, gemm_time, simulate
from chipletarch.engine.machine import IDX
from chipletarch.errors import InfeasibleError


@pytest.fixture(scope="module")
def b200():
    return load_architecture("b200")


@pytest.fixture(scope="module")
def mi300x():
    return load_architecture("mi300x")


def _slow_links(arch, factor):
    return arch.evolve(links=[ln.evolve(bandwidth_gb_s=ln.bandwidth_gb_s / factor)
                              for ln in arch.links])


def test_b200_placement_by_hand(b200):
    one = compile_design(b200, 1)
    assert one.device_dies == (("gpu0", "gpu1"),)
    m = one.machine
    assert m[IDX["cores"]] == 148 and m[IDX["hbm_bw"]] == pytest.approx(8 * 962.5e9)
    # each die sends 1/8 of its bytes to each stack; 4 of 8 stacks are across NV-HBI: half of
    # every byte crosses it, a quarter in each direction (gpu0 <- hbm4..7, gpu1 <- hbm0..3)
    assert one.remote_share == pytest.approx(0.5)
    assert one.read_factor.tolist() == pytest.approx([0.25, 0.25])
    two = compile_design(b200, 2)
    assert two.device_dies == (("gpu0",), ("gpu1",))
    # two devices: each owns its four local stacks, nothing remote
    assert list(two.stack_device) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert two.remote_share == 0 and not two.read_factor.any()
    assert two.machine[IDX["hbm_bw"]] == pytest.approx(4 * 962.5e9)
    # scope-0 collectives run over NV-HBI: 5 TB/s each way, 1 ns
    assert two.scope_bw[0] == pytest.approx(5e12) and two.scope_label[0] == "nv-hbi"
    # the port is shared by the devices of the package
    assert two.scope_bw[1] == pytest.approx(900e9 / 2)


def test_mi300x_placement_by_hand(mi300x):
    pl = compile_design(mi300x, 1)
    assert len(pl.device_dies[0]) == 8
    assert pl.remote_share == pytest.approx(1.0)     # XCDs have no stacks of their own
    names = list(pl.links)
    rf = pl.read_factor.reshape(-1, 2)
    # each XCD's hybrid bond carries all of that XCD's share (1/8 of every byte), one way
    for j, n in enumerate(names):
        if "xcd" in n:
            assert sorted(rf[j]) == pytest.approx([0.0, 1 / 8])
    four = compile_design(mi300x, 4)
    assert four.device_dies[1] == ("xcd2", "xcd3")
    # each device owns the two stacks of its IOD
    assert list(four.stack_device) == [0, 0, 1, 1, 2, 2, 3, 3]


def test_b200_link_bytes_and_d2d_bound(b200):
    kw = dict(phase="decode", batch=1, context_len=1024)
    r = simulate(b200, "llama3.1-8b", **kw)
    hbi = r.links["nv-hbi"]
    # half of every memory byte crosses NV-HBI (conservation)
    assert hbi["bytes"] == pytest.approx(0.5 * r.total("hbm_bytes"), rel=1e-9)
    assert r.ops["d2d_bytes"] == pytest.approx(0.5 * r.ops["hbm_bytes"])
    slow = simulate(_slow_links(b200, 100), "llama3.1-8b", **kw)
    assert slow.latency_s > 5 * r.latency_s
    big = r.ops["hbm_bytes"] > 1e6            # the memory-bound weight streams
    assert set(slow.ops["bound_by"][big]) == {"d2d"}
    assert "d2d" not in set(r.ops["bound_by"][big])
    # a d2d-bound op lasts launch + its busiest direction at the link's sustained bandwidth
    m = compile_design(b200).machine
    i = int(np.argmax(slow.ops["hbm_bytes"]))
    per_dir = 0.25 * slow.ops["hbm_bytes"][i]   # reads and writes each put a quarter each way
    assert slow.ops["time_s"][i] == pytest.approx(
        m[IDX["launch_s"]] + per_dir / (50e9 * m[IDX["eff_link"]]), rel=1e-9)


def test_mi300x_d2d_monotone(mi300x):
    kw = dict(phase="decode", batch=4, context_len=2048, precision="fp8")
    r = simulate(mi300x, "llama3.1-70b", **kw)
    slow = simulate(_slow_links(mi300x, 4), "llama3.1-70b", **kw)
    fast = simulate(_slow_links(mi300x, 0.25), "llama3.1-70b", **kw)
    assert fast.latency_s <= r.latency_s <= slow.latency_s
    assert slow.bound_share().get("d2d", 0) >= r.bound_share().get("d2d", 0)
    for d in list(r.links.values()) + list(r.stacks.values()):
        assert 0 <= d["utilization"] <= 1 + 1e-9


def test_devices_per_package_tp_inside(b200):
    """tp=2 over the two dies of one package: the all-reduce is scope 0 on NV-HBI."""
    r = simulate(b200, "llama3.1-70b", "decode", batch=8, context_len=512, tp=2,
                 devices_per_package=2, precision="fp8")
    comm = r.ops["kind"] == "ALL_REDUCE"
    assert comm.any() and (r.ops["d2d_bytes"][comm] > 0).all()
    assert (r.ops["network_bytes"][comm] == 0).all()
    assert r.links["nv-hbi"]["bytes"] > 0
    assert r.ports["scale_up"]["bytes"] == 0
    with pytest.raises(InfeasibleError, match="divide"):
        simulate(b200, "tiny", "decode", devices_per_package=3)


def test_kernel_api_accepts_architectures(b200):
    """gemm_time(arch, ...) compiles the package as one device (the kernel's own resolver, or
    this layer's compile_machine)."""
    from chipletarch.engine import attention_time

    m = compile_machine(b200)
    assert m.cores == 148
    t = gemm_time(m, 4096, 4096, 4096, "bf16")
    assert t >= 2 * 4096 ** 3 / b200.peak_flops("bf16")
    # the kernel-level API with an Architecture or a bundled name
    assert gemm_time(b200, 4096, 4096, 4096, "bf16") == t
    assert gemm_time("b200", 4096, 4096, 4096, "bf16") == t
    a = attention_time("mi300x", "decode", 8, 1, 2048, 64, 8, 128, "bf16")
    assert a == attention_time(compile_machine("mi300x"), "decode", 8, 1, 2048, 64, 8, 128,
                               "bf16") > 0


def test_scope0_ring_of_the_group_size(mi300x):
    """mi300x as 4 devices (2 XCDs each) with tp=2: each TP pair sits on IOD neighbours; the
    all-reduce rings over its own pair (the IF-AP link between their IODs), not all four."""
    from chipletarch.engine import collective_time

    pl = compile_design(mi300x, 4)
    bw2, lat2, fac2 = pl.rings[2]
    assert set(pl.rings) == {2, 4}
    # pairs (dev0, dev1) on iod0-iod1 and (dev2, dev3) on iod2-iod3: the 750 GB/s links
    from chipletarch.arch.graph import die_path
    path = die_path(mi300x.to_graph(), "xcd0", "xcd2")
    assert [n for n in path.nodes] == ["xcd0", "iod0", "iod1", "xcd2"]
    assert bw2 == pytest.approx(750e9) and lat2 == pytest.approx(path.latency_s)
    r = simulate(mi300x, "llama3.1-8b", "decode", batch=8, context_len=1024, tp=2,
                 devices_per_package=4, precision="bf16")
    i = list(r.ops["name"]).index("o_proj_allreduce")
    nbytes = 8 * 4096 * 2.0                     # batch x hidden x bf16
    want = min(collective_time(pl.machine, "all_reduce", nbytes, 2, alg, link_bw=bw2,
                               latency=lat2) for alg in ("ring", "tree"))
    assert r.ops["time_s"][i] == pytest.approx(want, rel=1e-12)
    assert r.ops["d2d_bytes"][i] == pytest.approx(nbytes)     # 2 (n-1)/n x buffer, n = 2
    # each device owns its IOD's two stacks, so no memory byte crosses IF-AP: the horizontal
    # links carry the TP rings, the vertical ones nothing
    assert r.links["if-ap-v0"]["bytes"] == 0 and r.links["if-ap-v1"]["bytes"] == 0
    assert r.links["if-ap-h0"]["bytes"] > 0 and r.links["if-ap-h1"]["bytes"] > 0


def test_simba_keeps_the_model_in_sram():
    """No memory stacks: each chiplet's SRAM + cache is a 'stack', reached over the GRS mesh."""
    a = load_architecture("simba")
    pl = compile_design(a, 1)
    assert pl.memory_kind == "sram" and len(pl.stacks) == 36
    d = a.compute_die_instances()[0][1]
    assert pl.stack_capacity.sum() == pytest.approx(36 * (d.sram_bytes + d.cache_bytes))
    # 35 of every 36 bytes a chiplet reads live on another chiplet
    assert pl.remote_share == pytest.approx(35 / 36)
    r = simulate(a, "tiny", "decode", batch=1, context_len=64, precision="int8")
    assert r.tpot_s > 0 and set(r.stacks) == set(pl.stacks)
    assert all(s["kind"] == "sram" for s in r.stacks.values())
    assert sum(s["bytes"] for s in r.stacks.values()) == pytest.approx(r.total("hbm_bytes"))
    with pytest.raises(InfeasibleError, match="GiB missing"):
        simulate(a, "llama3.1-8b", "decode", precision="int8")


def test_devices_without_a_rank_are_idle(b200):
    """b200 cut into two devices but tp=1: one rank, gpu0; gpu1, its stacks and NV-HBI idle."""
    r = simulate(b200, "llama3.1-8b", "decode", devices_per_package=2)
    per_stack = r.total("hbm_bytes") / 4
    assert [s["bytes"] for s in r.stacks.values()] == pytest.approx([per_stack] * 4 + [0] * 4)
    assert r.links["nv-hbi"]["bytes"] == 0
    both = simulate(b200, "llama3.1-8b", "decode", devices_per_package=2, tp=2)
    assert all(s["bytes"] > 0 for s in both.stacks.values())


def test_efficiency_block_overrides_the_fit():
    """Fields set in the architecture's efficiency block replace the fitted H100 values; fields
    left at their ideal defaults do not."""
    h = load_architecture("h100-sxm")
    base = compile_design(h).machine
    tuned = h.evolve(efficiency={"memory_efficiency": 0.5, "kernel_launch_overhead_us": 10.0})
    m = compile_design(tuned).machine
    assert m[IDX["eff_mem"]] == 0.5 and m[IDX["eff_stream"]] == 0.5
    assert m[IDX["launch_s"]] == pytest.approx(10e-6)
    assert m[IDX["eff_mat_16"]] == base[IDX["eff_mat_16"]]       # not given: the fit
    kw = dict(phase="decode", batch=1, context_len=512)
    assert simulate(tuned, "llama3.1-8b", **kw).latency_s > simulate(h, "llama3.1-8b",
                                                                      **kw).latency_s
