"""energy_of / EnergyReport: closed forms by hand, conservation, scope scaling, overrides, invariants."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipletarch.arch import load_architecture
from chipletarch.energy import COMPONENTS, coefficients_of, energy_of, full_load_power
from chipletarch.energy import coefficients as C
from chipletarch.engine import Result, simulate
from chipletarch.errors import SpecError

H100 = load_architecture("h100-sxm")
N5 = 1 / math.sqrt(18)          # catalog logic_energy_scale of 4N (N5/N4 family)


def synthetic(arch=H100, *, flops=2 * 1024**3, hbm=3 * 2 * 1024**2, l2=None, sram=None, time=1e-3,
              kind="GEMM", fmt="bf16", repeat=1, tp=1, pp=1, dp=1, dpp=1, net=0.0, tokens=1):
    """A one-row Result as the engine would report it (per-device op, package-wide stacks)."""
    stacks = [n for n, a in arch.to_graph().nodes(data=True) if a["type"] == "memory"]
    l2 = hbm if l2 is None else l2
    sram = l2 if sram is None else sram
    ops = {"name": np.array(["op"], dtype=object), "op_class": np.array(["mlp"], dtype=object),
           "kind": np.array([kind], dtype=object), "stage": np.array([0]), "repeat": np.array([repeat]),
           "time_s": np.array([time]), "total_time_s": np.array([time * repeat]),
           "bound_by": np.array(["compute"], dtype=object), "flops": np.array([float(flops)]),
           "hbm_bytes": np.array([float(hbm)]), "l2_bytes": np.array([float(l2)]),
           "sram_bytes": np.array([float(sram)]), "d2d_bytes": np.array([0.0]),
           "network_bytes": np.array([float(net)]), "tflops": np.array([flops / time / 1e12]),
           "compute_fmt": np.array([fmt], dtype=object)}
    tot = hbm * repeat * dpp
    return Result(arch=arch.name, model="m", phase="prefill", batch=1, seq_len=tokens, context_len=0,
                  precision=fmt, mapping=dict(tp=tp, pp=pp, ep=1, dp=dp, attention_dp=1, scaleup_packages=8),
                  devices_per_package=dpp, latency_s=time * repeat, ttft_s=time * repeat, tpot_s=None,
                  tokens_per_s=tokens / (time * repeat), tokens_per_step=tokens, ops=ops,
                  stacks={s: dict(bytes=tot / len(stacks), bandwidth_bytes_per_s=1.0, utilization=0.0,
                                  device=0) for s in stacks},
                  links={}, ports={"scale_up": dict(bytes=net * repeat * dpp, bandwidth_bytes_per_s=1.0,
                                                    utilization=0.0, label="x"),
                                   "scale_out": dict(bytes=0.0, bandwidth_bytes_per_s=1.0, utilization=0.0,
                                                     label="y")},
                  macs_by_format={fmt: flops / 2 * repeat}, vector_flops=0.0, peak_flops={},
                  hbm_bandwidth_bytes_per_s=1.0)


def test_gemm_closed_form_by_hand():
    # 1024^3 bf16 GEMM on H100: 2^30 MACs x (1.1 (8/11)^2 + 0.9) pJ x N5 scale
    r = synthetic()
    e = energy_of(r, H100)
    mac_pj = (1.1 * 64 / 121 + 0.9) * N5
    assert e.components["matrix"] == pytest.approx(2**30 * mac_pj * 1e-12)
    # HBM: 6 MiB x 8 bit x 3.5 pJ/bit (HBM3 catalog); L2 1.0 pJ/bit; SRAM 10/64 pJ/bit x N5
    assert e.components["hbm"] == pytest.approx(6 * 2**20 * 8 * 3.5e-12)
    assert e.components["l2"] == pytest.approx(6 * 2**20 * 8 * 1.0e-12)
    assert e.components["sram"] == pytest.approx(6 * 2**20 * 8 * 10 / 64 * N5 * 1e-12)
    # static over 1 ms: 0.25 x 700 W + 10 % of 5 stacks x 670 GB/s x 8 x 3.5 pJ; no D2D links
    hbm_peak_w = 5 * 670e9 * 8 * 3.5e-12
    assert e.components["static"] == pytest.approx(175.0 * 1e-3)
    assert e.components["hbm_background"] == pytest.approx(0.1 * hbm_peak_w * 1e-3)
    assert e.components["d2d_standby"] == 0.0
    assert e.total_j == pytest.approx(sum(e.components.values()))
    assert e.average_power_w == pytest.approx(e.total_j / 1e-3)
    assert e.j_per_token == pytest.approx(e.total_j)


def test_vector_row_and_network_port_default():
    r = synthetic(kind="ELEMENTWISE", flops=1e9, net=1e6)
    e = energy_of(r, H100)
    assert e.components["matrix"] == 0.0
    assert e.components["vector"] == pytest.approx(1e9 * 4.6 / 2 * N5 * 1e-12)
    # NVLink 4 energy unpublished -> 5.5 pJ/bit (ENERGY.md §4b [E14]), noted
    assert e.components["network"] == pytest.approx(1e6 * 8 * 5.5e-12)
    assert e.network_by_port["scale_up"] == pytest.approx(e.components["network"])
    assert any("no published pJ/bit" in n for n in e.notes)


def test_deployment_scaling_tp_pp_dp():
    one = energy_of(synthetic(), H100)
    # tp=8: 8 devices each run the per-device table, on 8 packages
    tp8 = energy_of(synthetic(tp=8), H100)
    assert tp8.packages == 8 and tp8.ranks == 8
    for c in COMPONENTS:
        assert tp8.components[c] == pytest.approx(8 * one.components[c])
    assert tp8.average_power_w == pytest.approx(one.average_power_w)
    # pp=4: the table holds every stage; each stage on world/pp = 1 rank; 4 packages powered
    pp4 = energy_of(synthetic(pp=4), H100)
    assert pp4.components["matrix"] == pytest.approx(one.components["matrix"])
    assert pp4.components["hbm"] == pytest.approx(one.components["hbm"])
    assert pp4.components["static"] == pytest.approx(4 * one.components["static"])
    # dp=2 doubles everything (two replicas) and doubles tokens in a real Result
    dp2 = energy_of(synthetic(dp=2, tokens=2), H100)
    assert dp2.total_j == pytest.approx(2 * one.total_j)
    assert dp2.j_per_token == pytest.approx(one.j_per_token)


def test_overrides_from_energy_block():
    a = H100.evolve(energy={"mac_energy_pj": {"bfloat16": 0.5}, "static_w": 100, "sram_pj_per_bit": 0.1,
                            "cache_pj_per_bit": 2.0, "hbm_background_fraction": 0.0})
    e = energy_of(synthetic(a), a)
    assert e.components["matrix"] == pytest.approx(2**30 * 0.5e-12)
    assert e.components["static"] == pytest.approx(100 * 1e-3)
    assert e.components["hbm_background"] == 0.0
    assert e.components["sram"] == pytest.approx(6 * 2**20 * 8 * 0.1e-12)
    assert e.components["l2"] == pytest.approx(6 * 2**20 * 8 * 2.0e-12)
    b = H100.evolve(energy={"static_fraction": 0.5, "accumulate_every": 32})
    eb = energy_of(synthetic(b), b)
    assert eb.components["static"] == pytest.approx(350 * 1e-3)
    assert eb.components["matrix"] == pytest.approx(2**30 * C.mac_energy_pj("bf16", N5, 1.0, 32) * 1e-12)
    with pytest.raises(SpecError):
        H100.evolve(energy={"static_fraction": 1.5})
    with pytest.raises(SpecError):
        H100.evolve(energy={"mac_energy_pj": {"fp4": 0.1}})   # ambiguous format name


def test_missing_process_and_missing_tdp():
    tpu = load_architecture("tpu-v5p-like")
    with pytest.raises(SpecError, match="logic_energy_scale"):
        coefficients_of(tpu)
    co = coefficients_of(tpu.evolve(energy={"logic_energy_scale": 0.25}))
    assert co.mac_pj["bf16"] == pytest.approx(C.mac_energy_pj_45nm("bf16") * 0.25)
    assert co.static_w is None                  # no TDP published: static unknown, said so
    assert any("static power unknown" in n for n in co.notes)
    simba = load_architecture("simba")
    co = coefficients_of(simba)
    assert co.static_w is None and co.tdp_w is None
    # GRS mesh links: 1.75 pJ/bit each (simba.yaml); standby 5 % of both directions at full rate
    assert set(co.link_pj_per_bit.values()) == {1.75}
    assert co.link_standby_w == pytest.approx(0.05 * sum(2 * 25e9 * 8 * 1.75e-12 for _ in co.link_pj_per_bit))


def test_result_for_other_arch_refused():
    with pytest.raises(SpecError, match="Result is for"):
        energy_of(synthetic(), load_architecture("b200"))


@settings(max_examples=40, deadline=None)
@given(st.floats(1e3, 1e10), st.floats(1.01, 10.0), st.floats(1e-6, 1.0), st.integers(1, 8))
def test_more_bytes_more_energy_and_static_proportional_to_time(hbm, k, t, tp):
    base = energy_of(synthetic(hbm=hbm, time=t, tp=tp), H100)
    more = energy_of(synthetic(hbm=hbm * k, time=t, tp=tp), H100)
    assert more.total_j > base.total_j
    assert more.components["hbm"] == pytest.approx(k * base.components["hbm"])
    slow = energy_of(synthetic(hbm=hbm, time=t * k, tp=tp), H100)
    for c in ("static", "hbm_background"):
        assert slow.components[c] == pytest.approx(k * base.components[c])
    assert slow.dynamic_j == pytest.approx(base.dynamic_j)


@pytest.mark.parametrize("arch,kw", [
    ("h100-sxm", dict(phase="decode", batch=16, context_len=1024, precision="fp8", tp=8)),
    ("b200", dict(phase="prefill", batch=1, seq_len=512, precision="fp8", tp=2)),
    ("mi300x", dict(phase="decode", batch=8, context_len=512, precision="bf16", tp=2, pp=2)),
])
def test_conservation_on_simulated_points(arch, kw):
    a = load_architecture(arch)
    r = simulate(a, "llama3.1-70b", **kw)
    e = energy_of(r, a)
    for c in COMPONENTS:
        assert e.per_op[c].sum() == pytest.approx(e.components[c], rel=1e-9, abs=1e-15)
    assert e.per_op["total_j"].sum() == pytest.approx(e.total_j)
    assert sum(e.by_class().values()) == pytest.approx(e.total_j)
    assert sum(e.share().values()) == pytest.approx(1.0)
    # closed forms against the Result's own counters
    pp = r.mapping["pp"]
    ranks = r.mapping["tp"] * pp * r.mapping["dp"]
    co = e.coefficients
    mac = sum(m * co.mac_pj[f] for f, m in r.macs_by_format.items()) * 1e-12 * ranks / pp
    assert e.components["matrix"] == pytest.approx(mac)
    hbm = sum(s["bytes"] * 8 * co.stack_pj_per_bit[k] for k, s in r.stacks.items()) * 1e-12
    assert e.components["hbm"] == pytest.approx(hbm * ranks / (pp * r.devices_per_package))
    d2d = sum(v["bytes"] * 8 * co.link_pj_per_bit[k] for k, v in r.links.items()) * 1e-12
    assert e.components["d2d"] == pytest.approx(d2d * ranks / (pp * r.devices_per_package))
    assert e.components["static"] == pytest.approx(co.static_w * e.packages * r.latency_s)
    assert e.j_per_token == pytest.approx(e.total_j / r.tokens_per_step)
    d = json.loads(e.to_json())
    assert d["total_j"] == pytest.approx(e.total_j) and len(d["ops"]) == len(r)
    assert "J/token" in e.summary()


def test_full_load_power_closed_form():
    f = full_load_power(H100, "bf16")
    assert f["peak_flops"] == pytest.approx(2 * 132 * 2048 * 1.83e9)
    assert f["mac_w"] == pytest.approx(f["peak_flops"] / 2 * (1.1 * 64 / 121 + 0.9) * N5 * 1e-12)
    assert f["datasheet_pj_per_flop"] == pytest.approx(700 / f["peak_flops"] * 1e12)
    assert f["total_w"] == pytest.approx(f["mac_w"] + 175 + 0.1 * 5 * 670e9 * 8 * 3.5e-12)
    # our MAC energy per FLOP stays below the datasheet bound TDP / peak (ENERGY.md §1: 0.71)
    assert f["model_pj_per_flop_mac"] < f["datasheet_pj_per_flop"]


def test_coefficients_cached_and_read_only():
    co = coefficients_of(H100)
    assert coefficients_of(H100) is co
    assert coefficients_of(H100, 0.8) is not co
    with pytest.raises(TypeError):
        co.mac_pj["bf16"] = 0.0
    assert json.loads(json.dumps(co.to_dict()))["mac_pj"]["bf16"] == pytest.approx(co.mac_pj["bf16"])


def test_sram_resident_package_charges_model_bytes_at_on_chip_sram_energy():
    """Simba has no DRAM: the engine streams the weights from the chiplets' SRAM, and the energy
    model charges those bytes at the shared-cache pJ/bit instead of failing on a missing stack."""
    import chipletarch as ca
    from chipletarch.energy import energy_of

    arch = ca.load_architecture("simba")
    r = ca.simulate(arch, "tiny", phase="decode", batch=1, context_len=16)
    rep = energy_of(r, arch)
    moved_bits = sum(s["bytes"] for s in r.stacks.values()) * 8
    assert moved_bits > 0
    expected = moved_bits * rep.coefficients.cache_pj_per_bit * 1e-12
    assert rep.components["hbm"] == pytest.approx(expected, rel=1e-9)
    assert any("on-chip SRAM" in n for n in rep.notes)
