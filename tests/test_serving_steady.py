"""Serving steady-state model on closed-form phase latencies: rate matching, co-located
iteration balance, KV hand-over, Pareto, gains."""
import math
import random

import pytest

from chipletarch.serving import (Instance, colocated_point, decode_pool, disaggregated_point,
                                 gain_table, kv_transfer, pareto, prefill_pool, rate_match)
from chipletarch.serving.latency import mixed_step

from serving_toy import A, BP, C0, D, E, inst, toy  # noqa: F401


def inst(packages=1):
    return Instance(latency=toy, packages=packages, label=f"toy{packages}")


def test_prefill_and_decode_pool_rates():
    p = prefill_pool(inst(2), 2000, 4)
    t = A + BP * 4 * 2000
    assert p["step_s"] == pytest.approx(t)
    assert p["requests_per_s"] == pytest.approx(4 / t)
    d = decode_pool(inst(1), 2000, 201, 32)
    td = C0 + D * 32 + E * 32 * round(2000 + 201 / 2)
    assert d["requests_per_s"] == pytest.approx(32 / (200 * td))


def test_rate_matching_fluid_closed_form():
    L, OSL = 2000, 201
    pt = disaggregated_point(inst(2), inst(1), L, OSL, 4, 32, kv_seconds=0.003)
    lp = 4 / (A + BP * 4 * L)
    md = 32 / (200 * (C0 + D * 32 + E * 32 * round(L + OSL / 2)))
    assert pt["prefill_decode_ratio"] == pytest.approx(md / lp)
    # both pools serve the same rate: n_p lambda_p = n_d mu_d
    assert pt["prefill_instances"] * lp == pytest.approx(pt["decode_instances"] * md)
    assert pt["tokens_per_s_per_chip"] == pytest.approx(OSL / (2 / lp + 1 / md))
    assert pt["ttft_s"] == pytest.approx((A + BP * 4 * L) * 1.5 + 0.003)


def test_rate_match_integer_pools():
    m = rate_match(3.0, 2.0, 1, 1, max_packages=10)      # exact ratio 2 : 3
    assert (m["prefill_instances"], m["decode_instances"]) == (2, 3)
    assert m["requests_per_s"] == pytest.approx(6.0)
    assert m["prefill_utilization"] == pytest.approx(1.0)
    m = rate_match(3.0, 2.0, 1, 1, max_packages=4)       # 2:3 no longer fits
    assert m["packages"] <= 4
    assert m["requests_per_s"] / m["packages"] == pytest.approx(
        max(min(a * 3.0, b * 2.0) / (a + b) for a in range(1, 4) for b in range(1, 4)
            if a + b <= 4))


def test_colocated_balance_closed_form():
    L, OSL, B, C = 1000, 100, 10, 2048
    p = colocated_point(inst(), L, OSL, B, C)
    O = OSL - 1
    bd = B / (1 + 1 / O)                                  # R = 1: prompt fits the budget
    assert p["decode_batch"] == pytest.approx(bd)
    assert p["prefill_tokens_per_step"] == pytest.approx(bd * L / O)
    t = toy("chunked", 10, 100, round(L + OSL / 2))      # B_d 9.9 -> 10, p = 100 tokens
    assert p["tpot_s"] == pytest.approx(t)
    assert p["requests_per_s"] == pytest.approx(bd / (O * t))
    # own prompt of 1000 tokens rides in the iteration that holds it
    assert p["ttft_s"] == pytest.approx(toy("chunked", 10, 1000, round(L + OSL / 2)))


def test_colocated_prefill_bound_queue():
    L, OSL, B, C = 1000, 11, 64, 512
    p = colocated_point(inst(), L, OSL, B, C)
    O = OSL - 1
    bd = C * O / (O + L)
    assert p["decode_batch"] == pytest.approx(bd)
    assert p["prefill_tokens_per_step"] == pytest.approx(C - bd)
    # admission is capped by the budget: rate = p / (L T) = B_d / (O T)
    assert p["requests_per_s"] == pytest.approx((C - bd) / (L * p["step_s"]))
    # queueing dominates TTFT (58 requests wait for prefill)
    assert p["ttft_s"] > 50 * p["step_s"]


def test_more_concurrency_raises_throughput_and_tpot():
    prev = None
    for b in (1, 4, 16, 64):
        p = colocated_point(inst(), 512, 256, b, 4096)
        if prev:
            assert p["tokens_per_s"] > prev["tokens_per_s"]
            assert p["tpot_s"] >= prev["tpot_s"]
        prev = p


def test_mixed_step_multi_prompt_attention_correction():
    # linear toy: a p-token chunk of k whole prompts costs exactly the chunked time (no
    # attention term to correct), so the correction must vanish
    t = mixed_step(toy, 8, 1500, 4000, 1000)
    assert t == pytest.approx(toy("chunked", 8, 4000, 1500))

    def quad(phase, batch, seq_len=1, context_len=0, chunk_context_len=0):
        base = toy(phase, batch, seq_len, context_len, chunk_context_len)
        n = batch * seq_len if phase == "prefill" else seq_len
        per = seq_len if phase == "prefill" else seq_len
        return base + 1e-9 * n * per                     # attention ~ tokens x sequence length
    # 4 prompts of 1000: attention 4 x 1000^2, not 4000^2
    t = mixed_step(quad, 8, 1500, 4000, 1000)
    assert t == pytest.approx(toy("chunked", 8, 4000, 1500) + 1e-9 * 4000 * 1000)


def test_kv_transfer_time_is_bytes_over_bandwidth_plus_latency():
    from chipletarch.arch import load_architecture
    from chipletarch.workload import load_model
    a, m = load_architecture("h100-sxm"), load_model("llama3.1-8b")
    per_tok = m.kv_bytes_per_token("fp8")
    assert per_tok == 32 * 8 * 128 * 2 * 1                # layers x kv heads x dim x (K,V) x 1 B
    k = kv_transfer(a, m, "fp8", 4096, 2, 4)              # 6 packages: one NVLink domain
    assert k.network == "scale_up"
    assert k.bandwidth_bytes_per_s == pytest.approx(450e9 * 2)
    assert k.seconds == pytest.approx(per_tok * 4096 / (450e9 * 2) + k.latency_s)
    k = kv_transfer(a, m, "fp8", 4096, 8, 8)              # 16 packages: over the NICs
    assert k.network == "scale_out"
    assert k.seconds == pytest.approx(per_tok * 4096 / (64e9 * 8) + k.latency_s)


def test_pareto_is_non_dominated_and_covers():
    rng = random.Random(3)
    pts = [dict(tokens_per_s_per_user=rng.uniform(1, 100), tokens_per_s_per_chip=rng.uniform(1, 100))
           for _ in range(300)]
    front = pareto(pts)
    x, y = "tokens_per_s_per_user", "tokens_per_s_per_chip"
    for f in front:
        assert not any(p[x] >= f[x] and p[y] >= f[y] and (p[x] > f[x] or p[y] > f[y])
                       for p in pts)
    for p in pts:
        assert any(f[x] >= p[x] and f[y] >= p[y] for f in front)
    assert [f[x] for f in front] == sorted(f[x] for f in front)


def test_gain_table():
    co = [dict(tokens_per_s_per_user=10, tokens_per_s_per_chip=100),
          dict(tokens_per_s_per_user=50, tokens_per_s_per_chip=40)]
    dis = [dict(tokens_per_s_per_user=20, tokens_per_s_per_chip=120),
           dict(tokens_per_s_per_user=80, tokens_per_s_per_chip=60)]
    g = gain_table(co, dis, [10, 30, 60])
    assert g[0]["gain"] == pytest.approx(1.2)
    assert g[1]["gain"] == pytest.approx(60 / 40)
    assert math.isnan(g[2]["colocated"]) and math.isnan(g[2]["gain"])


def test_kv_ingress_caps_the_decode_rate():
    L, OSL = 2000, 201
    free = disaggregated_point(inst(2), inst(1), L, OSL, 4, 32, kv_seconds=0.0)
    md = 32 / (200 * (C0 + D * 32 + E * 32 * round(L + OSL / 2)))
    ing = 2.0 / md                     # ingress busy twice as long as a request's decode share
    capped = disaggregated_point(inst(2), inst(1), L, OSL, 4, 32, kv_seconds=0.0,
                                 kv_ingress_s=ing)
    assert capped["kv_bound"] and not free["kv_bound"]
    lp = 4 / (A + BP * 4 * L)
    assert capped["tokens_per_s_per_chip"] == pytest.approx(OSL / (2 / lp + 1 / (1 / ing)))
    assert capped["tokens_per_s_per_chip"] < free["tokens_per_s_per_chip"]


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(lp=st.floats(0.1, 50), md=st.floats(0.1, 50), pp=st.integers(1, 8),
       pd=st.integers(1, 8), budget=st.integers(2, 64))
def test_rate_match_is_optimal_against_brute_force(lp, md, pp, pd, budget):
    if pp + pd > budget:
        with pytest.raises(Exception):
            rate_match(lp, md, pp, pd, budget)
        return
    m = rate_match(lp, md, pp, pd, budget)
    assert m["packages"] == m["prefill_instances"] * pp + m["decode_instances"] * pd <= budget
    assert m["requests_per_s"] == pytest.approx(min(m["prefill_instances"] * lp,
                                                    m["decode_instances"] * md))
    best = max(min(a * lp, b * md) / (a * pp + b * pd)
               for a in range(1, budget // pp + 1) for b in range(1, budget // pd + 1)
               if a * pp + b * pd <= budget)
    assert m["requests_per_s"] / m["packages"] == pytest.approx(best, rel=1e-9)


def test_prefill_only_ttft_obeys_littles_law():
    # OSL 1: the instance only prefills; 8 clients share 2 prompts per iteration
    p = colocated_point(inst(), 1000, 1, 8, 2048)
    t = A + BP * 2048                  # the full budget of prompt tokens per iteration
    assert p["step_s"] == pytest.approx(t)
    assert p["requests_per_s"] == pytest.approx(2.048 / t)
    assert p["ttft_s"] == pytest.approx(8 / (2.048 / t))
