"""Energy of serving design points: SimLatency.energy, HostOverhead at static power, the
co-located and disaggregated compositions (j_per_token, power_w_per_package)."""
from __future__ import annotations

import copy
import math

import pytest
import yaml

from chipletarch.arch import Architecture
from chipletarch.arch.loader import architecture_path
from chipletarch.energy import energy_of
from chipletarch.engine.simulate import simulate
from chipletarch.serving import evaluate_config
from chipletarch.serving.latency import HostOverhead, Instance, SimLatency, with_host_overhead
from chipletarch.serving.steady import colocated_point, disaggregated_point
from chipletarch.serving.study import _mapping_for, _resolve

MODEL = "llama3.1-70b"
FIXED, PER_SEQ = 4e-3, 2e-5          # a framework-like per-iteration overhead, s


def _h100(bandwidth_gb_s=None):
    with open(architecture_path("h100-sxm"), encoding="utf-8") as fh:
        raw = copy.deepcopy(yaml.safe_load(fh))
    if bandwidth_gb_s is not None:
        raw["memory"][0]["bandwidth_gb_s"] = bandwidth_gb_s
    return Architecture.from_dict(raw)


@pytest.fixture(scope="module")
def sim():
    a, m = _resolve(_h100(), MODEL)
    return SimLatency(a, m, "fp8", _mapping_for(a, tp=4))


def _inst(s, fixed=FIXED, per_seq=PER_SEQ):
    return with_host_overhead(Instance(latency=s, packages=s.packages, label=s.label(),
                                       fits=s.fits), fixed, per_seq)


# ----------------------------------------------------------------------------- SimLatency
def test_energy_is_energy_of_the_same_result_and_static_w_is_the_models(sim):
    r = simulate(sim.arch, sim.model, "decode", batch=32, seq_len=1, context_len=1536,
                 precision="fp8", mapping=sim.mapping, check_memory=False)
    rep = energy_of(r, sim.arch)
    assert sim.energy("decode", 32, 1, 1536) == rep.total_j
    assert sim("decode", 32, 1, 1536) == r.latency_s
    # static power: what energy_of charges per second for the whole deployment
    assert rep.packages == sim.packages
    assert sim.static_w == pytest.approx(rep.static_j / r.latency_s, rel=1e-12)


def test_latency_only_use_computes_no_energy():
    a, m = _resolve(_h100(), MODEL)
    s = SimLatency(a, m, "fp8", _mapping_for(a, tp=2))
    s("decode", 8, 1, 1024)
    s("prefill", 1, 1024, 0)
    assert s._energy == {} and s.calls == 2
    # an energy miss runs the engine once and fills the latency cache too
    s.energy("decode", 16, 1, 1024)
    calls = s.calls
    s("decode", 16, 1, 1024)
    assert s.calls == calls and s.hits == 1


def test_host_overhead_is_charged_at_static_power(sim):
    h = HostOverhead(sim, FIXED, PER_SEQ)
    for args, n in ((("decode", 64, 1, 1536), 64), (("chunked", 32, 256, 1536, 384), 33)):
        assert h(*args) - sim(*args) == pytest.approx(FIXED + PER_SEQ * n, rel=1e-9)
        assert h.energy(*args) == sim.energy(*args) + sim.static_w * (FIXED + PER_SEQ * n)
    assert h.static_w == sim.static_w
    # without energy on the wrapped latency, none on the wrapper or the Instance
    plain = with_host_overhead(Instance(latency=lambda *a: 1e-2), FIXED, PER_SEQ)
    assert plain.energy is None and plain.static_w is None


# ----------------------------------------------------------------------------- co-located
def test_colocated_j_per_token_by_hand(sim):
    inst = _inst(sim)
    isl, osl = 1024, 1024
    p = colocated_point(inst, isl, osl, 64, 8192)
    bd, O = p["decode_batch"], osl - 1
    bdi, pi = int(round(bd)), max(1, int(round(p["prefill_tokens_per_step"])))
    ctx = int(round(isl + osl / 2))
    assert pi <= isl                 # one chunk of one prompt: the 'chunked' step
    key = ("chunked", bdi, pi, ctx, (isl - pi) // 2)
    e_step = sim._energy[key] + sim.static_w * (FIXED + PER_SEQ * (bdi + 1))
    # the step's energy over the output tokens it yields: bd decode tokens of requests of O
    # decode steps and osl output tokens each (the prefill of their prompt rides in the step)
    want = e_step * O / (bd * osl)
    assert p["j_per_token"] == pytest.approx(want, rel=1e-12)
    assert p["power_w_per_package"] == pytest.approx(e_step / p["step_s"] / inst.packages,
                                                     rel=1e-12)


def test_disaggregated_j_per_token_by_hand(sim):
    """Fluid matching, decode not KV-bound: every pool busy all the time, so J/token is the
    prefill batch's energy per prompt plus O decode steps' energy per sequence, over OSL."""
    inst = _inst(sim)
    isl, osl, bp, bd = 1024, 512, 2, 64
    p = disaggregated_point(inst, inst, isl, osl, bp, bd, kv_seconds=1e-3)
    assert not p["kv_bound"]
    e_pre = sim._energy[("prefill", bp, isl, 0, 0)] + sim.static_w * (FIXED + PER_SEQ * bp)
    ctx = int(round(isl + osl / 2))
    e_dec = sim._energy[("decode", bd, 1, ctx, 0)] + sim.static_w * (FIXED + PER_SEQ * bd)
    want = (e_pre / bp + (osl - 1) * e_dec / bd) / osl
    assert p["j_per_token"] == pytest.approx(want, rel=1e-12)


def test_energy_conservation_and_bounds(sim):
    inst = _inst(sim)
    pts = [colocated_point(inst, 1024, 1024, b, c) for b in (1, 8, 64) for c in (512, 8192)]
    pts += [colocated_point(inst, 2048, 1, 16, 4096)]                  # prefill only
    pts += [disaggregated_point(inst, inst, 1024, 1024, bp, bd, 1e-3, mp, kv_ingress_s=ki)
            for bp in (1, 4) for bd in (8, 128) for mp in (None, 24) for ki in (0.0, 0.5)]
    assert any(p["kv_bound"] for p in pts if p["mode"] == "disaggregated")
    for p in pts:
        assert p is not None
        lhs = p["j_per_token"] * p["tokens_per_s"]
        assert lhs == pytest.approx(p["power_w_per_package"] * p["packages"], rel=1e-9)
        # between the packages' static power and the TDP
        assert sim.static_w / sim.packages * (1 - 1e-9) <= p["power_w_per_package"] <= 700.0


def test_decode_j_per_token_falls_with_batch_and_hbm_bandwidth():
    ctx = 1536
    by_bw = []
    for bw in (670, 900, 1200):
        a, m = _resolve(_h100(bw), MODEL)
        s = SimLatency(a, m, "fp8", _mapping_for(a, tp=4))
        for inst in (_inst(s, 0.0, 0.0), _inst(s)):
            jt = [inst.energy("decode", b, 1, ctx) / b for b in (1, 4, 16, 64, 256)]
            assert all(x >= y for x, y in zip(jt, jt[1:])), (bw, jt)
        by_bw.append([_inst(s).energy("decode", b, 1, ctx) / b for b in (1, 16, 256)])
        # the composed disaggregated point: a bigger decode batch never costs more per token
        inst = _inst(s)
        dj = [disaggregated_point(inst, inst, 1024, 1024, 1, b, 1e-3)["j_per_token"]
              for b in (8, 32, 128)]
        assert all(x >= y for x, y in zip(dj, dj[1:])), (bw, dj)
    for lo, hi in zip(by_bw, by_bw[1:]):
        assert all(x >= y for x, y in zip(lo, hi)), (lo, hi)


# ----------------------------------------------------------------------------- no energy
class _Lat:
    """Closed-form phase latency, with or without an energy."""

    def __init__(self, energy):
        if energy:
            self.energy = lambda *a: 300.0 * self(*a)
            self.static_w = 100.0

    def __call__(self, phase, batch, seq_len=1, context_len=0, chunk_context_len=0):
        return 5e-3 + 1e-5 * batch * (1 + context_len / 4096) + 2e-6 * seq_len


def test_without_energy_keys_are_none_and_nothing_else_changes():
    for make in (lambda e: colocated_point(Instance(latency=_Lat(e), packages=2), 512, 256,
                                           32, 2048),
                 lambda e: disaggregated_point(Instance(latency=_Lat(e), packages=2),
                                               Instance(latency=_Lat(e), packages=4),
                                               512, 256, 2, 32, 1e-3, 32)):
        with_e, without = make(True), make(False)
        assert without["j_per_token"] is None and without["power_w_per_package"] is None
        if with_e["mode"] == "colocated":        # energy = 300 W x step time, 2 packages
            assert with_e["power_w_per_package"] == pytest.approx(150.0, rel=1e-12)
        for k, v in without.items():
            if k not in ("j_per_token", "power_w_per_package"):
                assert with_e[k] == v or (isinstance(v, float) and math.isnan(v))


def test_evaluate_config_returns_the_energy_keys():
    d = evaluate_config("h100-sxm", MODEL, isl=1024, osl=1024, precision="fp8", tp=4,
                        mode="colocated", concurrency=64, framework="vllm")
    assert d["j_per_token"] > 0 and 0 < d["power_w_per_package"] < 700
    assert d["j_per_token"] * d["tokens_per_s"] == pytest.approx(
        d["power_w_per_package"] * d["packages"], rel=1e-9)


def test_kv_handover_energy_is_bytes_at_the_ports_pj_per_bit():
    """One request's KV hand-over costs bytes x 8 x the port's pJ/bit (the coefficient the
    energy model charges collectives on that port): H100's NVLink 4 port inside the node,
    its NIC across nodes."""
    from chipletarch.arch import load_architecture
    from chipletarch.energy import coefficients_of
    from chipletarch.serving.kv import kv_transfer
    from chipletarch.workload import load_model
    a, m = load_architecture("h100-sxm"), load_model(MODEL)
    pj = coefficients_of(a).port_pj_per_bit
    per_token = m.kv_bytes_per_token("fp8")
    for pkgs, net in (((4, 4), "scale_up"), ((8, 8), "scale_out")):
        kv = kv_transfer(a, m, "fp8", 1024, *pkgs)
        assert kv.network == net and kv.pj_per_bit == pj[net] > 0
        assert kv.bytes == per_token * 1024
        assert kv.energy_j == pytest.approx(per_token * 1024 * 8 * pj[net] * 1e-12, rel=1e-12)


def test_kv_handover_energy_adds_per_request_served(sim):
    """The deployment's power grows by requests/s x the hand-over's joules and nothing else
    moves: J/token by exactly kv_energy_j / OSL."""
    inst = _inst(sim)
    isl, osl = 1024, 512
    for mp in (None, 24):
        a = disaggregated_point(inst, inst, isl, osl, 2, 64, 1e-3, mp)
        b = disaggregated_point(inst, inst, isl, osl, 2, 64, 1e-3, mp, kv_energy_j=0.25)
        assert b["j_per_token"] - a["j_per_token"] == pytest.approx(0.25 / osl, rel=1e-9)
        assert b["power_w_per_package"] * b["packages"] - a["power_w_per_package"] * a[
            "packages"] == pytest.approx(0.25 * a["requests_per_s"], rel=1e-9)
        for k in ("tokens_per_s", "ttft_s", "tpot_s", "packages"):
            assert a[k] == b[k]


def test_evaluate_config_charges_the_kv_handover():
    """A disaggregated evaluate_config point's J/token holds its KV hand-over: the same point
    with the hand-over's joules subtracted matches the composition without it."""
    from chipletarch.serving.kv import kv_transfer
    d = evaluate_config("h100-sxm", MODEL, isl=4096, osl=256, precision="fp8", mode="disaggregated",
                        prefill_tp=2, decode_tp=4, prefill_batch=1, decode_batch=64,
                        framework="none")
    a, m = _resolve(_h100(), MODEL)
    kv = kv_transfer(a, m, "fp8", 4096, 2, 4)
    assert kv.energy_j > 0
    assert d["j_per_token"] * d["tokens_per_s"] == pytest.approx(
        d["power_w_per_package"] * d["packages"], rel=1e-9)
    pi = SimLatency(a, m, "fp8", _mapping_for(a, tp=2))
    di = SimLatency(a, m, "fp8", _mapping_for(a, tp=4))
    ins = lambda s: Instance(latency=s, packages=s.packages, label=s.label(),  # noqa: E731
                             fits=s.fits)
    ref = disaggregated_point(ins(pi), ins(di), 4096, 256, 1, 64, kv.seconds)
    assert d["j_per_token"] - ref["j_per_token"] == pytest.approx(kv.energy_j / 256, rel=1e-6)


def test_tdp_exceeded_flags_a_point_above_the_package_tdp():
    """evaluate_config says whether the steady state's average package power is above the
    package's TDP (a flag, no throttling): H100 at 700 W is not; the same package declared at
    150 W, its logic static power pinned to the 700 W part's (static power is a fraction of TDP
    by default), is, with the power itself unchanged; `_fmt` says so on the CLI line."""
    from chipletarch.energy import coefficients_of
    from chipletarch.serving.commands import _fmt
    kw = dict(isl=1024, osl=1024, precision="fp8", tp=4, mode="colocated", concurrency=64,
              framework="none")
    d = evaluate_config(_h100(), MODEL, **kw)
    assert d["tdp_exceeded"] is False and d["power_w_per_package"] < 700
    with open(architecture_path("h100-sxm"), encoding="utf-8") as fh:
        raw = copy.deepcopy(yaml.safe_load(fh))
    raw["tdp_w"] = 150
    raw.setdefault("energy", {})["static_w"] = coefficients_of(_h100()).static_w
    low = evaluate_config(Architecture.from_dict(raw), MODEL, **kw)
    assert low["power_w_per_package"] == pytest.approx(d["power_w_per_package"], rel=1e-12)
    assert low["tdp_exceeded"] is True
    p = dict(low, mode="colocated", ttft_s=low["ttft_ms"] / 1e3, tpot_s=low["tpot_ms"] / 1e3)
    assert "above the 150 W TDP" in _fmt(p, 150.0) and "TDP" not in _fmt(p, 700.0)


# ----------------------------------------------------------------------------- elastic plan
def test_elastic_energy_by_hand():
    """Per interval each pool serves min(rate, capacity): busy that share of its instance-time
    at the busy power, idle the rest at static power; the day's kWh and J/token follow."""
    from chipletarch.serving.elastic import Trace, _evaluate, _per_instance_rates
    from serving_toy import ToyEnergy, toy
    P, S = 600.0, 150.0
    pre = Instance(latency=ToyEnergy(P, S), packages=1, label="p")
    dec = Instance(latency=ToyEnergy(P, S), packages=2, label="d")
    cfg = dict(mode="disaggregated", pre=pre, dec=dec, prefill_batch=2, decode_batch=32,
               costs=None, kv=lambda n: 0.0)
    tr = Trace("t", 600.0, (4.0, 0.0, 9.0), (1000.0, 1000.0, 1000.0), (100.0, 100.0, 100.0))
    rates = _per_instance_rates(cfg, 1000.0, 100.0)[0]
    (rp, _, bp, ip), (rd, _, bd, idl) = rates["prefill"], rates["decode"]
    assert bp == pytest.approx(P) and bd == pytest.approx(P) and ip == idl == S
    counts = {"prefill": 2, "decode": 3}
    r = _evaluate(tr, cfg, lambda i, rt: counts, None, None)
    cap = min(2 * rp, 3 * rd)
    want_j, toks = 0.0, 0.0
    for rate in tr.rate:
        done = min(rate, cap)
        w = 0.0
        for n, rps in ((2, rp), (3, rd)):
            u = min(1.0, done / (n * rps))
            w += n * (u * P + (1 - u) * S)
        want_j += w * 600.0
        toks += done * 100.0 * 600.0
    assert r["energy_kwh"] == pytest.approx(want_j / 3.6e6, rel=1e-12)
    assert r["j_per_token"] == pytest.approx(want_j / toks, rel=1e-12)
    # the idle interval draws every instance's static power
    assert r["intervals"][1]["power_w"] == pytest.approx(5 * S, rel=1e-12)
    # without energy the keys are None and the chip-hours unchanged
    plain = dict(cfg, pre=Instance(latency=toy, packages=1, label="p"),
                 dec=Instance(latency=toy, packages=2, label="d"))
    q = _evaluate(tr, plain, lambda i, rt: counts, None, None)
    assert q["energy_kwh"] is None and q["j_per_token"] is None
    assert q["chip_hours"] == r["chip_hours"]


def test_elastic_plan_energy_elastic_not_above_fixed_peak():
    """Re-matched pools never draw more than the same pools sized for the peak all day (fewer
    idle instances at static power); the CLI prints kWh and J/token."""
    from chipletarch.serving import ServingStudy
    from chipletarch.serving.elastic import load_trace, plan
    res = plan(lambda L, O: ServingStudy("h100-sxm", "llama3.1-8b", "bf16", L, O,
                                         ttft_slo_s=1.0, tpot_slo_s=0.05, max_tp=1,
                                         batches=(16, 64), chunks=(2048,),
                                         prefill_batches=(1,)), load_trace("diurnal"))
    for mode in ("colocated", "disaggregated"):
        ela, pk = res[mode]["elastic"], res[mode]["fixed_peak"]
        assert 0 < ela["energy_kwh"] <= pk["energy_kwh"] * (1 + 1e-9)
        assert ela["j_per_token"] > 0
