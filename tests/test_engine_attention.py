"""Attention model: closed forms on a toy machine, measured H100 error bounds, invariants,
Cython == Python reference."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from chipletarch._core import engine as ce
from chipletarch.engine import attention_time, attention_time_bound, h100_sxm
from chipletarch.engine import reference as R
from chipletarch.engine.attention import attention_descriptor
from chipletarch.errors import SpecError
from test_engine_gemm import toy

H100 = h100_sxm()


def test_prefill_closed_form():
    # one 128x128 tile, d = 64: QK^T + PV = 128*128*(64+64) MACs at 1 MAC/cycle, 1 GHz
    tile = 128 * 128 * 128 * 1e-9
    t = attention_time(toy(), "prefill", 1, 128, 0, 1, 1, 64, causal=False)
    assert t == pytest.approx(tile, rel=1e-4)
    # causal, 256 tokens: query tiles see 1 and 2 key tiles -> 3 tiles on one core ...
    assert attention_time(toy(), "prefill", 1, 256, 0, 1, 1, 64) == pytest.approx(3 * tile, rel=1e-4)
    # ... and on two cores the longest CTA (2 tiles) is the critical path
    t2 = attention_time(toy(cores=2), "prefill", 1, 256, 0, 1, 1, 64)
    assert t2 == pytest.approx(2 * tile, rel=1e-4)
    # sliding window of 128 over 1024 tokens: each query tile sees at most 2 key tiles
    tw = attention_time(toy(), "prefill", 1, 1024, 0, 1, 1, 64, window=128)
    assert tw == pytest.approx((1 + 7 * 2) * tile, rel=1e-4)


def test_decode_memory_bound_closed_form():
    m = toy(hbm_bw=1e9, macs_16=1e9, sfu_ops=1e9, cores=1)
    t, bound = attention_time_bound(m, "decode", 1, 1, 1023, 8, 1, 128)
    kv_bytes = 1024 * 1 * 256 * 2 + 8 * 256 * 2          # K/V cache + Q/O
    prepass = (10 * 256 * 0.5 * 2 * 2 + 2 * 256 * 0.5 * 2)  # RoPE/append pass on the new token
    assert t == pytest.approx((kv_bytes + prepass) / 1e9, rel=1e-6)
    assert bound == "hbm"


def test_gqa_shares_kv_loads():
    # same query heads, fewer KV heads -> less KV traffic -> faster memory-bound decode
    t_mha = attention_time(H100, "decode", 64, 1, 8191, 32, 32, 128)
    t_gqa = attention_time(H100, "decode", 64, 1, 8191, 32, 8, 128)
    assert t_gqa < 0.5 * t_mha


def test_group_limit_and_mla():
    # GQA group of 64 > dec_max_group (32): one CTA per query head re-streams the K/V
    t_gqa = attention_time(H100, "decode", 8, 1, 16383, 64, 1, 128)
    t_mha = attention_time(H100, "decode", 8, 1, 16383, 64, 64, 128)
    assert t_gqa == pytest.approx(t_mha, rel=0.05)
    # MLA (DeepSeek-V3 latent: qk 576, v 512, 128 heads on one KV head) keeps sharing: close to
    # one pass over the latent cache at the decode bandwidth
    t_mla, bound = attention_time_bound(H100, "decode", 64, 1, 4095, 128, 1, 576, v_head_dim=512)
    cache = 64 * 4096 * 576 * 2            # V is the leading 512 of the cached 576-wide latent
    # (128 query heads make it compute-heavy too: about 1.6x the pure cache-streaming time)
    assert cache / H100.hbm_bw < t_mla < 2.0 * cache / (H100.hbm_bw * H100.attn_dec_eff_mem)


def test_decode_cta_cost_by_kernel_family():
    """Closed form of the per-CTA terms: free compute and memory, so a decode call costs
    waves x per-wave latency + CTAs x grouped-16-bit SM time / cores. 4 sequences x 2 KV heads
    = 8 CTAs, no split (splits only while batch x kv_heads x s <= 4 x cores)."""
    lat, cta16 = 1e-6, 5e-6
    free = dict(attn_dec_tile_s=lat, attn_dec_cta16_s=cta16, smem_bw=1e30, macs_16=1e30,
                macs_8=1e30, sfu_ops=1e30, vec_flops=1e30)
    m = toy(**free)                       # one core: 8 waves
    # grouped CTAs (8 query heads on 2 KV heads) on a 16-bit cache (HMMA XQA): both terms
    t16 = attention_time(m, "decode", 4, 1, 100, 8, 2, 64, "bf16")
    assert t16 == pytest.approx(8 * lat + 8 * cta16, rel=1e-9)
    # the same grid on an 8-bit cache (Hopper QGMMA kernel): the per-wave latency only
    t8 = attention_time(m, "decode", 4, 1, 100, 8, 2, 64, "bf16", kv_fmt="fp8")
    assert t8 == pytest.approx(8 * lat, rel=1e-9)
    # one CTA per head (MHA, g = 1) on a 16-bit cache: per-wave latency only, 4 x 8 = 32 CTAs
    t_mha = attention_time(m, "decode", 4, 1, 100, 8, 8, 64, "bf16")
    assert t_mha == pytest.approx(32 * lat, rel=1e-9)
    # 8 cores: one wave (latency once) and the SM time spread over the cores (101 keys: no
    # split, each split needs more than 128)
    t16_8 = attention_time(toy(cores=8, **free), "decode", 4, 1, 100, 8, 2, 64, "bf16")
    assert t16_8 == pytest.approx(lat + 8 * cta16 / 8, rel=1e-9)
    # H100, short cache and a large batch (CTA costs dominate, bytes are tiny): a bf16 cache is
    # much slower than fp8, as measured (about 4.3 vs 1.4 us x SM per CTA, docs/VALIDATION.md)
    tb = attention_time(H100, "decode", 1024, 1, 7, 32, 8, 128, "bf16")
    tf = attention_time(H100, "decode", 1024, 1, 7, 32, 8, 128, "bf16", kv_fmt="fp8")
    assert tb > 2.0 * tf


def test_decode_library_split_rule():
    """dec_split_rule = 1: grouped kernels split as TensorRT-LLM's XQA does, window-blind. Toy:
    free compute and memory, so a decode costs waves x per-wave latency. History 4096 tokens:
    4096 / 128 = 32 splits, capped at round(sqrt(8 x 32)) = 16; 1 sequence x 1 KV head x 16 = 16
    CTAs, within 8 waves of 8 cores -> 2 waves. (The same launch on fewer cores is no faster:
    on 1 core the cap gives 8 splits = 8 waves.)"""
    lat = 1e-6
    free = dict(attn_dec_tile_s=lat, smem_bw=1e30, macs_16=1e30, macs_8=1e30, sfu_ops=1e30,
                vec_flops=1e30, cores=8)
    rule, search = toy(dec_split_rule=1, **free), toy(**free)
    args = ("decode", 1, 1, 4096, 2, 1, 64, "bf16", "fp8")
    assert attention_time(rule, *args) == pytest.approx(2 * lat, rel=1e-9)
    # the searched split takes the fastest: one CTA, one wave
    assert attention_time(search, *args) == pytest.approx(lat, rel=1e-9)
    # window-blind: a 128-token window still gets the 16 splits of the 4096-token history
    assert attention_time(rule, *args, window=128) == pytest.approx(2 * lat, rel=1e-9)
    assert attention_time(search, *args, window=128) == pytest.approx(lat, rel=1e-9)
    # per-head (g = 1) kernels keep the search: 2 heads x 1 split = 2 CTAs, one wave
    assert attention_time(rule, "decode", 1, 1, 4096, 2, 2, 64, "bf16", "fp8") == \
        pytest.approx(lat, rel=1e-9)
    # the rule's wave cap hands a larger machine more splits; the engine runs the best of the
    # rule's launch for every core count up to the machine's, so more cores are never slower
    # (shapes where the launch for the larger machine alone is slower)
    for b, ctx, h, hk, d, kv_fmt, win in [(512, 21106, 64, 2, 256, None, 0),
                                          (64, 43550, 32, 2, 192, "fp8", 128),
                                          (32, 8218, 32, 4, 192, None, 4096)]:
        times = [attention_time(H100.with_(cores=float(c)), "decode", b, 1, ctx, h, hk, d,
                                "bf16", kv_fmt, win) for c in range(100, 400, 7)]
        assert all(t2 <= t1 * (1 + 1e-12) for t1, t2 in zip(times, times[1:]))


def test_fp8_kv_halves_decode_traffic():
    t16 = attention_time(H100, "decode", 128, 1, 16383, 64, 8, 128, "bf16")
    t8 = attention_time(H100, "decode", 128, 1, 16383, 64, 8, 128, "bf16", kv_fmt="fp8")
    assert 0.45 < t8 / t16 < 0.8


def test_bad_input():
    with pytest.raises(SpecError):
        attention_time(H100, "train", 1, 1, 1, 1, 1, 64)
    with pytest.raises(SpecError):
        attention_time(H100, "decode", 1, 1, 1, 6, 4, 64)
    with pytest.raises(SpecError):
        attention_time(H100, "decode", 0, 1, 1, 4, 4, 64)


def _measured():
    from chipletarch.engine import validate as V

    return V.load_attn()


def test_measured_error_within_stated_bounds():
    """docs/VALIDATION.md: held-out median |error| context 13.8 %, generation 13.1 %."""
    from chipletarch.engine.attention import attention_times

    d = _measured()
    pred, _ = attention_times(H100, d.desc)
    for phase, limit in (("context", 15.0), ("generation", 14.0)):
        sel = (d.phase == phase) & d.held
        err = np.abs(pred[sel] / d.t[sel] - 1) * 100
        assert np.median(err) <= limit


shapes = st.tuples(st.sampled_from(["prefill", "decode"]), st.integers(1, 64),
                   st.integers(1, 4096), st.integers(0, 20000), st.sampled_from([1, 2, 4, 8]),
                   st.sampled_from([1, 2, 8]), st.sampled_from([64, 128, 192, 256]),
                   st.sampled_from(["bf16", "fp8"]), st.sampled_from([None, "fp8"]),
                   st.sampled_from([0, 128, 4096]))


def _desc(s):
    phase, b, q, ctx, kvh, group, d, f, kvf, w = s
    q = 1 if phase == "decode" else q
    return attention_descriptor(phase, b, q, ctx, kvh * group, kvh, d, f, kvf, w)


@settings(max_examples=150, deadline=None)
@given(shapes)
def test_cython_equals_reference(s):
    a = _desc(s)
    t, b = ce.attn_one(H100.to_array(), a)
    tr, br = R.attn_one(H100.to_array(), a)
    assert t == pytest.approx(tr, rel=1e-12) and b == br
    # without the RoPE / KV-append pre-pass (what the full-model table uses): same parity, and
    # exactly one launch plus the pre-pass's memory pass cheaper
    t0, b0 = ce.attn_one(H100.to_array(), a, 0)
    tr0, br0 = R.attn_one(H100.to_array(), a, prepass=False)
    assert t0 == pytest.approx(tr0, rel=1e-12) and b0 == br0
    assert t0 < t


@settings(max_examples=150, deadline=None)
@given(shapes)
def test_never_beats_roofline(s):
    a = _desc(s)
    t, _ = ce.attn_one(H100.to_array(), a)
    b, q, kv, h, hk, dqk, dv = a[1], a[2], a[3], a[4], a[5], a[6], a[7]
    w = a[8]
    vis = kv - q + np.arange(q) + 1
    if w > 0:
        vis = np.minimum(vis, w)
    flops = 2 * b * h * (dqk + dv) * vis.sum()
    assert t >= flops / H100.peak_flops(int(a[10])) * (1 - 1e-12)
    assert t >= b * h * vis.sum() / (H100.sfu_ops * H100.cores * H100.clock_hz)  # one exp/score
    kv_read = (min(kv, w) if (w > 0 and a[0] == 1) else min(kv, w + q) if w > 0 else kv)
    assert t >= b * kv_read * hk * R.kv_width(a) * a[12] / H100.hbm_bw


@settings(max_examples=100, deadline=None)
@given(shapes, st.sampled_from(["hbm_bw", "smem_bw", "clock_hz", "cores", "sfu_ops",
                                "vec_flops", "macs_16", "macs_8"]), st.floats(1.0, 4.0))
def test_more_resources_never_slower(s, field, factor):
    a = _desc(s)
    value = getattr(H100, field) * factor
    if field == "cores":
        value = float(np.floor(value))
    more = H100.with_(**{field: value}).to_array()
    assert ce.attn_one(more, a)[0] <= ce.attn_one(H100.to_array(), a)[0] * (1 + 1e-12)
