"""GEMM model: closed forms on toy machines, measured H100 figures, invariants, Cython == Python."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from chipletarch._core import engine as ce
from chipletarch.engine import fmt as F
from chipletarch.engine import gemm_time, gemm_time_bound, gemm_times, h100_sxm, h200_sxm
from chipletarch.engine import reference as R
from chipletarch.engine.machine import SLOTS, Machine
from chipletarch.errors import SpecError

H100 = h100_sxm()
FMTS = ["bf16", "fp8_e4m3", "fp8_block", "mxfp8_e4m3", "mxfp4_e2m1", "nvfp4", "tf32"]


def toy(**kw) -> Machine:
    """One-core machine where every non-compute resource is effectively free."""
    base = dict(cores=1, clock_hz=1e9, macs_16=1, macs_8=2, macs_6=0, macs_4=0, macs_32=0.5,
                vec_flops=1e12, sfu_ops=1, smem_bytes=1e12, smem_bw=1e15, rf_bytes=1e12,
                l2_bytes=1e15, l2_bw=1e30, hbm_bw=1e30, hbm_bytes=1e12, tile_m_min=64,
                tile_n_min=16, sys_rows=0, sys_cols=0, native_block_scale=1, launch_s=0,
                mem_latency_s=0, eff_mat_16=1, eff_mat_8=1, eff_mem=1, overlap_p=1000,
                rescale_exposed=0, quant_tensor_s=0, quant_block_s=0, eff_sfu=1,
                attn_tile_s=0, link_bw=1e9, link_latency_s=0, eff_link=1, comm_launch_s=0,
                eff_mat_attn=1, attn_dec_eff_mem=1, scale_drain_cycles=0,
                attn_fixed_s=0, attn_dec_fixed_s=0, comm_chunk_bytes=0,
                eff_stream=1, dec_max_group=0, attn_dec_tile_s=0)
    base.update(kw)
    return Machine(**base, name="toy")


def test_slot_names_match_core():
    assert tuple(ce.SLOT_NAMES) == SLOTS


def test_compute_bound_closed_form():
    # 64x16x64 bf16 on 1 MAC/cycle at 1 GHz: one 64x16 tile, 64*16*64 MACs = 65,536 ns.
    t, bound = gemm_time_bound(toy(), 64, 16, 64, "bf16")
    assert t == pytest.approx(65536e-9, rel=1e-9)
    assert bound == "compute"
    # wave quantisation: 2 cores, 3 tiles -> 2 waves of one tile each
    t3 = gemm_time(toy(cores=2), 64 * 3, 16, 64, "bf16")
    assert t3 == pytest.approx(2 * 65536e-9, rel=1e-9)


def test_systolic_fill_drain_closed_form():
    # 128x128 systolic core: one 128x128 output tile, k = 64 (one bf16 k-step), plus rows + cols
    # cycles of fill and drain
    m = toy(sys_rows=128, sys_cols=128, tile_m_min=128, tile_n_min=128)
    assert gemm_time(m, 128, 128, 64, "bf16") == pytest.approx((128 * 128 * 64 + 256) * 1e-9,
                                                               rel=1e-9)


def test_granule_tile_always_runs():
    # shared memory too small to double-buffer any tile: the machine's own 64x16 tile still runs
    assert gemm_time(toy(smem_bytes=1000, rf_bytes=1000), 64, 16, 64, "bf16") == pytest.approx(
        65536e-9, rel=1e-9)
    # a die whose granule is not in the candidate list (48-row MMA) is still timed
    assert np.isfinite(gemm_time(toy(tile_m_min=48), 100, 100, 100, "bf16"))


def test_memory_bound_closed_form():
    # 1 x 1024 x 1024 bf16 streaming weights at 1 GB/s: (A + B + C) bytes / bandwidth.
    m = toy(hbm_bw=1e9, macs_16=1e9)
    t, bound = gemm_time_bound(m, 1, 1024, 1024, "bf16")
    assert t == pytest.approx((1024 * 2 + 1024 * 1024 * 2 + 1024 * 2) / 1e9, rel=1e-6)
    assert bound == "hbm"


def test_latency_floor_closed_form():
    # MMA, fills and bandwidth made free; 64 x 16 x 640 bf16 is one tile of 10 k-steps (64 each).
    # With a memory latency of 1 us and 4 stages in flight (MAX_STAGES; shared memory is ample)
    # the CTA's stream advances one k-step per 1 us / 4 = 250 ns: 10 x 250 ns = 2.5 us, memory
    # bound (the core's own time is the wave's 1 us prologue)
    free = dict(macs_16=2.0 ** 30, mem_latency_s=1e-6)
    assert gemm_time(toy(**free), 64, 16, 640, "bf16") == pytest.approx(2.5e-6, rel=1e-9)
    assert gemm_time_bound(toy(**free), 64, 16, 640, "bf16")[1] == "hbm"
    # shared memory for only two 64 x 16 stages (10,240 B each): 500 ns per k-step -> 5 us
    assert gemm_time(toy(smem_bytes=25000, **free), 64, 16, 640, "bf16") == pytest.approx(
        5e-6, rel=1e-9)


def test_block_scaled_library_tile_rule():
    # DeepGEMM-style pick on 132 SMs, by hand: m = 256, n = 2048 -> 2 x ceil(2048 / bn) tiles;
    # bn = 32 is the narrowest with one wave (128 tiles); m = 257 needs 3 x ceil(2048 / bn) <= 132,
    # i.e. bn = 48 (129 tiles); m = 81 takes a 128-row tile and bn = 16 (128 tiles)
    assert R.lib_tile(256, 2048, 132, 64, 16, 128) == (128, 32)
    assert R.lib_tile(257, 2048, 132, 64, 16, 128) == (128, 48)
    assert R.lib_tile(81, 2048, 132, 64, 16, 128) == (128, 16)
    # many waves: 8192 x 8192 -> bn = 128 gives 64 x 64 = 4096 tiles in 32 waves; every narrower
    # tile needs more waves (bn = 120: 64 x 69 = 4416 tiles, 34 waves), so the pick is 128
    assert R.lib_tile(8192, 8192, 132, 64, 16, 128) == (128, 128)
    # the die's own pick is among the candidates, on all its SMs; fewer-SM picks use fewer
    cands = dict(R.lib_candidates(256, 2048, 132, 64, 16, 128))
    assert cands[32] == 132 and all(c <= 132 for c in cands.values())
    assert dict(R.lib_candidates(257, 2048, 132, 64, 16, 128))[48] == 132


def test_block_scaled_library_closed_forms():
    # software block scaling on one core: 128 x 128 x 128 fp8_block is one 128x128 library tile
    # (m > 64), one k-step. MMA 128^3 / 2 MACs per cycle = 1,048,576 ns; the library stores its
    # output tile itself, not overlapped: 128 x 128 x 2 B at 1 GB/s = 32,768 ns more. The search
    # path (hardware block scaling) has no such epilogue.
    soft = toy(native_block_scale=0, hbm_bw=1e9)
    hard = toy(native_block_scale=1, hbm_bw=1e9)
    q = dict(act_quant=False)       # no activation-quantisation pass (its own closed form)
    assert gemm_time(soft, 128, 128, 128, "fp8_block", **q) == pytest.approx(1081344e-9, rel=1e-9)
    assert gemm_time(hard, 128, 128, 128, "fp8_block", **q) == pytest.approx(1048576e-9, rel=1e-9)
    # operand fill of a library CTA: (128 x (1 + 4/128) + 128 x (1 + 4/16384)) B per row of
    # k x 128 k = 33,284 B at 1 B/cycle, 1 GHz = 33,284 ns (MMA and memory made free)
    fill = toy(native_block_scale=0, macs_8=2.0 ** 30, lib_fill_bpc=1.0)
    assert gemm_time(fill, 128, 128, 128, "fp8_block", **q) == pytest.approx(33284e-9, rel=1e-6)
    assert gemm_time_bound(fill, 128, 128, 128, "fp8_block", **q)[1] == "l2"
    # the FP32 promotion overlaps the MMAs but bounds the k-step: 128 x 128 elements x 4 FLOPs
    # at 64 vector FLOPs/cycle = 1,024 ns per 128-k block (MMA made free)
    promo = toy(native_block_scale=0, macs_8=2.0 ** 30, vec_flops=64)
    assert gemm_time(promo, 128, 128, 128, "fp8_block", **q) == pytest.approx(1024e-9, rel=1e-5)
    # an MX format (scale block 32) promotes four times per 128-byte k-step
    assert gemm_time(promo, 128, 128, 128, "mxfp8_e4m3", **q) == pytest.approx(4096e-9, rel=1e-5)


def test_overhead_bound():
    t, bound = gemm_time_bound(toy(launch_s=1e-3, macs_16=1e6), 64, 16, 64, "bf16")
    assert t == pytest.approx(1e-3, rel=1e-3) and bound == "overhead"


def test_h100_sanity_points():
    # HARDWARE sanity (issue 5): 8192^3 bf16 ran at about 798 TFLOP/s on an H100 SXM
    t = gemm_time(H100, 8192, 8192, 8192, "bf16", l2_warm=True)
    assert 2 * 8192**3 / t / 1e12 == pytest.approx(798, rel=0.08)
    # measured row of tests/data/silicon: bf16 10 x 8192 x 8192 in 49.5 us -> weight streaming
    # at 2.71 TB/s (the CSV has no m = 1 row of this shape)
    t = gemm_time(H100, 10, 8192, 8192, "bf16", l2_warm=True)
    assert gemm_time_bound(H100, 10, 8192, 8192, "bf16")[1] == "hbm"
    assert 8192 * 8192 * 2 / t / 1e12 == pytest.approx(2.71, rel=0.1)


def test_h200_only_memory_differs():
    a, b = H100.to_array(), h200_sxm().to_array()
    differ = {SLOTS[i] for i in np.nonzero(a != b)[0]}
    assert differ == {"hbm_bw", "hbm_bytes"}
    # decode GEMM is memory bound: H200 faster by close to the bandwidth ratio
    t100 = gemm_time(H100, 8, 8192, 8192, "bf16")
    t200 = gemm_time(h200_sxm(), 8, 8192, 8192, "bf16")
    assert 1.25 < t100 / t200 <= 4.8 / 3.35 + 1e-9


def test_block_scaling_costs_more_than_per_tensor_at_scale():
    # software block rescale on Hopper: fp8_block slower than fp8 for a big compute-bound GEMM
    # (both with run-time activation quantisation, as measured: 951 vs 1222 TFLOP/s predicted)
    tb = gemm_time(H100, 8192, 8192, 8192, "fp8_block", act_quant=True)
    t8 = gemm_time(H100, 8192, 8192, 8192, "fp8_e4m3", act_quant=True)
    assert 1.05 < tb / t8 < 1.5
    # static per-tensor scales (the default) skip the dynamic amax + cast pass
    assert gemm_time(H100, 8192, 8192, 8192, "fp8_e4m3") < t8
    # with native scaling in the MMA (Blackwell-style) the overhead is only the scale bytes
    native = H100.with_(native_block_scale=1)
    assert gemm_time(native, 8192, 8192, 8192, "fp8_block") < tb


def test_batched_equals_single():
    ms = np.array([1, 17, 129, 4096]); ns = np.array([4096, 32, 7168, 4096])
    ks = np.array([4096, 8192, 2048, 4096]); fm = ["bf16", "fp8_e4m3", "fp8_block", "nvfp4"]
    t, b = gemm_times(H100, ms, ns, ks, fm)
    for i in range(4):
        ts, bs = gemm_time_bound(H100, int(ms[i]), int(ns[i]), int(ks[i]), fm[i])
        assert t[i] == ts and R.BOUND_NAMES[b[i]] == bs


def test_bad_input():
    with pytest.raises(SpecError):
        gemm_time(H100, -1, 2, 3)
    with pytest.raises(SpecError):
        gemm_time(H100, 1.5, 2, 3)
    with pytest.raises(SpecError):
        gemm_time(H100, 1, 2, 3, "fp7")
    with pytest.raises(SpecError):
        H100.with_(eff_mem=1.5)
    assert gemm_time(H100, 0, 128, 128) == 0.0


dims = st.integers(1, 20000)
fmts = st.sampled_from(FMTS)


@settings(max_examples=150, deadline=None)
@given(dims, dims, dims, fmts, st.booleans())
def test_cython_equals_reference(m, n, k, f, warm):
    t, b = ce.gemm_one(H100.to_array(), m, n, k, F.descriptor(f), int(warm))
    tr, br = R.gemm_one(H100.to_array(), m, n, k, F.descriptor(f), int(warm))
    assert t == pytest.approx(tr, rel=1e-12) and b == br
    # the traffic the kernel reports (memory incl. re-fetch, L2 -> SRAM) matches too, and is
    # never below the compulsory bytes
    t2, b2, hb, lb = ce.gemm_one_traffic(H100.to_array(), m, n, k, F.descriptor(f), int(warm))
    _, _, hr, lr = R.gemm_one(H100.to_array(), m, n, k, F.descriptor(f), int(warm), traffic=True)
    assert (t2, b2) == (t, b)
    assert hb == pytest.approx(hr, rel=1e-12) and lb == pytest.approx(lr, rel=1e-12)
    d = F.descriptor(f)
    assert hb >= (n * k * d[F.B_BYTES] + m * n * d[F.C_BYTES]) * (1 - 1e-12)
    assert lb >= (m * k * d[F.A_BYTES] + n * k * d[F.B_BYTES]) * (1 - 1e-12)


def test_batched_traffic_equals_single():
    from chipletarch.engine import gemm_times
    m = np.array([1, 64, 8192, 4096])
    n = np.array([8192, 1024, 8192, 28672])
    k = np.array([8192, 8192, 8192, 8192])
    t, b, tr = gemm_times(H100, m, n, k, "fp8_block", traffic=True)
    t0, b0 = gemm_times(H100, m, n, k, "fp8_block")
    assert np.array_equal(t, t0) and np.array_equal(b, b0)
    for i in range(len(m)):
        one = ce.gemm_one_traffic(H100.to_array(), int(m[i]), int(n[i]), int(k[i]),
                                  F.descriptor("fp8_block"))
        assert tr[i, 0] == pytest.approx(one[2]) and tr[i, 1] == pytest.approx(one[3])


@settings(max_examples=200, deadline=None)
@given(dims, dims, dims, fmts)
def test_never_beats_roofline(m, n, k, f):
    t = gemm_time(H100, m, n, k, f)
    d = F.descriptor(f)
    bits = int(d[F.BITS])
    assert t >= 2.0 * m * n * k / H100.peak_flops(bits) * (1 - 1e-12)
    assert t >= (m * k * d[F.A_BYTES] + n * k * d[F.B_BYTES] + m * n * d[F.C_BYTES]) / H100.hbm_bw
    assert t >= H100.launch_s


@settings(max_examples=120, deadline=None)
@given(dims, dims, dims, fmts,
       st.sampled_from(["hbm_bw", "l2_bw", "smem_bw", "clock_hz", "smem_bytes", "l2_bytes",
                        "cores", "rf_bytes", "macs_16", "macs_8"]),
       st.floats(1.0, 4.0))
def test_more_resources_never_slower(m, n, k, f, field, factor):
    base = H100
    value = getattr(base, field) * factor
    if field == "cores":
        value = float(np.floor(value))
    more = base.with_(**{field: value})
    assert gemm_time(more, m, n, k, f) <= gemm_time(base, m, n, k, f) * (1 + 1e-12)


def test_deterministic():
    rng = np.random.default_rng(3)
    m, n, k = (rng.integers(1, 10000, 500) for _ in range(3))
    a = gemm_times(H100, m, n, k, "fp8_block")[0]
    b = gemm_times(H100, m, n, k, "fp8_block")[0]
    assert np.array_equal(a, b)


@pytest.mark.parametrize("field", ["cores", "hbm_bw", "l2_bytes", "l2_bw", "smem_bytes",
                                   "smem_bw", "clock_hz", "rf_bytes"])
def test_more_resources_never_slower_sweep(field):
    """Batched sweep over 20,000 log-uniform shapes (hypothesis explores few large ones)."""
    rng = np.random.default_rng(11)
    m, n, k = (np.exp(rng.uniform(0, np.log(70000), 20000)).astype(np.int64) for _ in range(3))
    fm = rng.choice(["bf16", "fp8_e4m3", "fp8_block", "nvfp4"], 20000)
    for factor in (1.01, 1.5, 2.0):
        value = getattr(H100, field) * factor
        more = H100.with_(**{field: float(np.floor(value)) if field == "cores" else value})
        for warm in (False, True):
            t0 = gemm_times(H100, m, n, k, fm, l2_warm=warm)[0]
            t1 = gemm_times(more, m, n, k, fm, l2_warm=warm)[0]
            assert np.all(t1 <= t0 * (1 + 1e-12))
