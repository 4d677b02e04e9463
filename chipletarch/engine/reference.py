"""Pure-Python reference of the engine's kernel models (GEMM, attention), slot for slot the same
arithmetic as `_core/engine.pyx`. It exists for parity tests and for reading: docs/ENGINE.md
explains the model; this file is the model in plain Python. It is ~100x slower than the Cython
core and is never used by the public API.
"""
from __future__ import annotations

import math

from . import fmt as F
from .machine import IDX

# Candidate CTA tiles (M, N). The k-step is 128 bytes of operand row (the swizzle width of the
# shared-memory layout): 64 bf16, 128 fp8, 256 fp4 elements.
# GPU-style dies stop at 256 (four 64-row MMA warpgroups per CTA, accumulators in registers);
# systolic dies go to 1024 (accumulators in SRAM); the machine's granule tile is always tried.
TILE_M = (64, 128, 192, 256, 384, 512, 768, 1024)
TILE_N = (16, 32, 64, 128, 192, 256, 384, 512, 768, 1024)
GPU_TILE_MAX = 256
SPLITS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
KSTEP_BYTES = 128.0
MAX_STAGES = 4.0         # operand stages a GPU CTA keeps in flight at most (latency floor)
LIB_TN_MAX = 128         # widest BLOCK_N of the block-scaled library (two FP32 accumulator sets)
LIB_TN_STEP = 8          # BLOCK_N step of the block-scaled library's tile rule (wgmma N: 8)
LIB_MCAST_M = 1024       # the block-scaled library multicasts A over CTA pairs from m = 1024

BOUND_NAMES = ("compute", "sram", "l2", "hbm", "overhead", "link")
COMPUTE, SRAM, L2, HBM, OVERHEAD, LINK = range(6)


def _cdiv(a, b):
    return -(-a // b)


def _macs(mach, bits):
    if bits >= 32:
        return mach[IDX["macs_32"]], mach[IDX["eff_mat_16"]]
    if bits >= 16:
        return mach[IDX["macs_16"]], mach[IDX["eff_mat_16"]]
    key = {8: "macs_8", 6: "macs_6", 4: "macs_4"}[int(bits)]
    macs = mach[IDX[key]] if mach[IDX[key]] > 0 else mach[IDX["macs_8"]]
    return macs, mach[IDX["eff_mat_8"]]


def pnorm3(a, b, c, p):
    mx = max(a, b, c)
    if mx <= 0.0:
        return 0.0
    if p > 60.0:
        return mx
    return mx * ((a / mx) ** p + (b / mx) ** p + (c / mx) ** p) ** (1.0 / p)


def hbm_traffic(m, n, k, ab, bb, cb, l2_bytes, tm, tn, cores, tiles_m, tiles_n, warm=0):
    """Bytes moved to/from memory by a wave-by-wave sweep of output tiles (engine.pyx explains:
    B streamed once per gm tile-rows, A once per gn tile-columns of a wave's block, at the share
    of operand bytes half of L2 cannot hold)."""
    a_tot, b_tot, cap = m * k * ab, n * k * bb, 0.5 * l2_bytes
    if warm and a_tot <= l2_bytes:   # activation just written by the previous kernel: in L2
        a_tot = 0.0
    uniq = a_tot + b_tot
    if uniq <= cap:
        return uniq + m * n * cb
    gm = min(tiles_m, max(1.0, math.sqrt(cores * tn * bb / (tm * ab))))
    gn = min(tiles_n, max(1.0, cores / gm))
    gm = min(tiles_m, max(gm, cores / gn))
    a_str = a_tot if a_tot <= 0.5 * cap else a_tot * max(1.0, tiles_n / gn)
    b_str = b_tot if b_tot <= 0.5 * cap else b_tot * max(1.0, tiles_m / gm)
    return uniq + (a_str + b_str - uniq) * (1.0 - cap / uniq) + m * n * cb


def lib_tile(m, n, cores, tm_base, tn_min, tn_max):
    """(BLOCK_M, BLOCK_N) the block-scaled library picks on `cores` SMs for m > one MMA granule:
    two granules of rows (two math warpgroups), BLOCK_N from the N granule to tn_max
    (LIB_TN_MAX, 128) in steps of LIB_TN_STEP with the fewest waves, then the fullest last wave,
    then the narrowest tile (DeepGEMM's get_best_configs)."""
    tm = 2 * tm_base
    best = None
    tn = int(tn_min)
    while tn <= int(max(tn_max, tn_min)):
        tiles = _cdiv(m, tm) * _cdiv(n, tn)
        waves = _cdiv(tiles, int(cores))
        util = tiles - (waves - 1) * int(cores)
        if best is None or waves < best[0] or (waves == best[0] and util > best[1]):
            best = (waves, util, tn)
        tn += LIB_TN_STEP
    return tm, best[2]


def lib_candidates(m, n, cores, tm_base, tn_min, tn_max):
    """[(BLOCK_N, SMs)]: every BLOCK_N the library picks on some c <= cores SMs (num_sms is a
    launch argument of its persistent kernel), each with the most SMs that pick it. Same as
    lib_tile: the most tiles not above c x ceil(T_min / c). Timing each on its SMs and taking
    the fastest keeps a die with more cores never slower; on the die's own SM count it is the
    library's pick unless running on fewer SMs is faster."""
    tm = 2 * tm_base
    cand = list(range(int(tn_min), int(max(tn_max, tn_min)) + 1, LIB_TN_STEP))
    tiles = [_cdiv(m, tm) * _cdiv(n, tn) for tn in cand]
    cc = [0] * len(cand)
    cmax = max(1, math.floor(cores))
    for c in range(1, min(cmax, tiles[0]) + 1):
        cap = c * _cdiv(tiles[-1], c)
        for j, t in enumerate(tiles):
            if t <= cap:
                cc[j] = c
                break
    if cmax >= tiles[0]:
        cc[0] = cmax                 # every tile in one wave: the narrowest BLOCK_N
    return [(tn, c) for tn, c in zip(cand, cc) if c > 0]


def gemm_one(mach, m, n, k, d, warm=0, traffic=False):
    """(seconds, bound code) of C[m,n] = A[m,k] B[k,n] in format descriptor d on machine array.

    traffic=True: (seconds, bound code, memory bytes, L2 bytes) of the chosen candidate; memory
    bytes include panel re-fetch and the activation-quantisation pass, L2 bytes every tile's
    operand stages (+ split-K partials)."""
    if m <= 0 or n <= 0 or k <= 0:
        return (0.0, OVERHEAD, 0.0, 0.0) if traffic else (0.0, OVERHEAD)
    cores = mach[IDX["cores"]]
    clock = mach[IDX["clock_hz"]]
    macs, eff = _macs(mach, d[F.BITS])
    smem = mach[IDX["smem_bytes"]]
    smem_bw = mach[IDX["smem_bw"]]
    rf = mach[IDX["rf_bytes"]]
    l2_bw = mach[IDX["l2_bw"]]
    hbm_bw = mach[IDX["hbm_bw"]] * mach[IDX["eff_mem"]]
    vec = mach[IDX["vec_flops"]]
    p = mach[IDX["overlap_p"]]
    sys_r, sys_c = mach[IDX["sys_rows"]], mach[IDX["sys_cols"]]
    tm_min = max(mach[IDX["tile_m_min"]], sys_r)
    tn_min = max(mach[IDX["tile_n_min"]], sys_c)
    ab, bb, cb = d[F.A_BYTES], d[F.B_BYTES], d[F.C_BYTES]
    elem = d[F.ELEM_BYTES]
    block_k = d[F.BLOCK_K]
    soft_scale = block_k > 0 and mach[IDX["native_block_scale"]] == 0.0
    tk = max(8.0, KSTEP_BYTES / elem)
    ksteps_all = math.ceil(k / tk)

    # fixed costs: kernel launch, memory latency of the first stage, activation quantisation pass
    fixed = mach[IDX["launch_s"]]
    quant_b = 0.0
    if d[F.QUANT] == F.QUANT_TENSOR:
        fixed += mach[IDX["quant_tensor_s"]]
        quant_b = m * k * (2.0 * 2.0 + elem)                # amax read + cast read + write
    elif d[F.QUANT] == F.QUANT_BLOCK:
        fixed += mach[IDX["quant_block_s"]]
        quant_b = m * k * (2.0 + ab)                        # one fused read + write with scales
    elif d[F.QUANT] == F.QUANT_STATIC:
        fixed += mach[IDX["launch_s"]]                      # its own elementwise kernel
        quant_b = m * k * (2.0 + elem)                      # read 16-bit, write 8-bit
    quant_t = quant_b / hbm_bw

    best_t, best_bound = math.inf, OVERHEAD
    best_hbm = best_l2 = 0.0
    tm_base = int(tm_min)
    tn_base = int(math.ceil(max(tn_min, d[F.TILE_N_GRANULE]) / tn_min) * tn_min)
    tms = TILE_M + (() if tm_base in TILE_M else (tm_base,))
    tns = TILE_N + (() if tn_base in TILE_N else (tn_base,))
    # software block scaling on a GPU-style die above one MMA granule of rows: the one tile the
    # block-scaled library (DeepGEMM lineage) picks instead of the search (see lib_tile)
    lib_rule = soft_scale and sys_r == 0 and m > tm_min
    lib_cores = {}
    if lib_rule:
        lc = lib_candidates(m, n, cores, tm_base, tn_min, LIB_TN_MAX)
        tms, tns = (2 * tm_base,), tuple(tn for tn, _ in lc)
        lib_cores = dict(lc)
    # L2 -> SRAM operand rate of one of the library's CTAs, bytes/s
    lib_fill = mach[IDX["lib_fill_bpc"]] * clock
    for fallback in (False, True):
        if fallback and best_t < math.inf:
            break
        for tm, tn in ((a, b) for a in tms for b in tns):
            if tm % tm_base:
                continue
            if not lib_rule and (tn % tn_min or tn % d[F.TILE_N_GRANULE]):
                continue
            stage = (tm * ab + tn * bb) * tk
            granule = tm == tm_base and tn == tn_base
            if lib_rule:
                pass                         # the library's own tile runs
            elif fallback:
                if not granule:
                    continue
            else:
                # Hopper's block-scaled kernels (DeepGEMM lineage): 64-row tiles for m <= 64
                if soft_scale and tm == 64 and m > 64:
                    continue
                if granule:
                    pass                     # the hardware's own tile always runs
                elif sys_r > 0:
                    # systolic: double-buffered stages + fp32 output tile in the core's SRAM
                    if 2.0 * stage + tm * tn * 4.0 > smem:
                        continue
                else:
                    if tm > GPU_TILE_MAX or tn > GPU_TILE_MAX:
                        continue
                    # fp32 accumulators in half the RF; software block scaling keeps two sets
                    if tm * tn * 4.0 * (2.0 if soft_scale else 1.0) > 0.5 * rf:
                        continue
                    if 2.0 * stage > smem:                 # double buffering must fit
                        continue
            cc = lib_cores[tn] if lib_rule else cores   # SMs the candidate runs on
            tiles = _cdiv(m, tm) * _cdiv(n, tn)
            # operand bytes actually fetched (TMA does not fetch rows past the matrix edge)
            fetch = (min(tm, m) * ab + min(tn, n) * bb) * tk
            load = fetch / smem_bw
            # memory latency: at most `stages` operand stages in flight per CTA (what fits in
            # shared memory, at most MAX_STAGES): its stream advances one k-step per memory
            # latency / stages (Little's law), a floor on the memory term
            lat_step = 0.0
            if sys_r == 0:
                stages = max(1.0, min(MAX_STAGES, math.floor(smem / stage)))
                lat_step = mach[IDX["mem_latency_s"]] * clock / stages
            # operand bytes per tile k-step a library CTA pulls from L2 (its A stage is multicast
            # over CTA pairs, two n tiles, from m = LIB_MCAST_M when the n tiles pair up)
            l2f = fetch
            if lib_rule and m >= LIB_MCAST_M and n % (2 * tn) == 0:
                l2f = fetch - 0.5 * min(tm, m) * ab * tk
            rescale = drain = 0.0
            if soft_scale:
                rescale = (tk / block_k) * tm * tn * 4.0 / vec
                drain = (tk / block_k) * mach[IDX["scale_drain_cycles"]]
            for s in SPLITS:
                # software block scaling: no split-K (fp32 promotion lives in one CTA)
                if s > 1 and (tiles * s > cc or s > ksteps_all or soft_scale):
                    break
                steps = _cdiv(ksteps_all, s)
                waves = _cdiv(tiles * s, int(cc))
                occ = min(1.0, tiles * s / cc)      # power-limited clock: share of cores busy
                mma = tm * tn * tk / (macs * (1.0 - (1.0 - eff) * occ))
                # promotion overlaps the MMAs, but a k-step is at least the promotion itself
                step = (max(mma, load, rescale) + drain
                        + mach[IDX["rescale_exposed"]] * occ * rescale)
                out_b = 4.0 if s > 1 else cb
                tile_cyc = steps * step + tm * tn * out_b / smem_bw
                if sys_r > 0:
                    tile_cyc += sys_r + sys_c                # systolic fill + drain per tile
                t_core = waves * (tile_cyc / clock + mach[IDX["mem_latency_s"]])
                if lib_rule:
                    # the library's math warpgroups store the output tile themselves before the
                    # next tile: a wave's tiles write at once, at memory bandwidth, not overlapped
                    t_core += m * n * cb / hbm_bw
                hbm_b = hbm_traffic(m, n, k, ab, bb, cb, mach[IDX["l2_bytes"]], tm, tn, cc,
                                    _cdiv(m, tm), _cdiv(n, tn), warm)
                t_hbm = max(hbm_b / hbm_bw, waves * steps * lat_step / clock)
                l2_bytes = tiles * s * steps * l2f + (2.0 * s * m * n * 4.0 if s > 1 else 0.0)
                t_l2 = l2_bytes / l2_bw
                if lib_rule and lib_fill > 0.0:
                    # library CTAs pull operands at lib_fill_bpc bytes/cycle/SM (L2 still bounds)
                    t_l2 = max(t_l2, waves * steps * l2f / lib_fill)
                body = pnorm3(t_core, t_hbm, t_l2, p)
                t = fixed + body + quant_t
                if s > 1:
                    t += mach[IDX["launch_s"]]   # split-K partials are summed by a second kernel
                if t < best_t:
                    best_t = t
                    best_hbm, best_l2 = hbm_b + quant_b, l2_bytes
                    if t - body > body:
                        best_bound = OVERHEAD
                    elif t_core >= t_hbm and t_core >= t_l2:
                        best_bound = SRAM if load > mma else COMPUTE
                    elif t_hbm >= t_l2:
                        best_bound = HBM
                    else:
                        best_bound = L2
    if traffic:
        return best_t, best_bound, best_hbm, best_l2
    return best_t, best_bound


# ----------------------------------------------------------------------------------- attention
# descriptor slots (chipletarch/engine/attention.py builds them)
(A_PHASE, A_BATCH, A_QLEN, A_KVLEN, A_HEADS, A_KVHEADS, A_DQK, A_DV, A_WINDOW, A_CAUSAL, A_BITS,
 A_QBYTES, A_KVBYTES, A_KVCONVERT) = range(14)
ATTN_BQ = 128.0
ATTN_BK = 128.0
SOFTMAX_VEC = 8.0
KV_SPLITS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
SPLIT_HIST_TOKENS = 128.0      # engine.pyx: the library's multi-block rule (dec_split_rule = 1)
SPLIT_TARGET_WAVES = 8.0


def kv_width(a):
    """K/V elements per token and KV head: d_qk + d_v, or d_qk for an MLA latent cache."""
    if a[A_KVHEADS] == 1.0 and a[A_DV] < a[A_DQK]:
        return a[A_DQK]
    return a[A_DQK] + a[A_DV]


def attn_tile_cycles(mach, rows, keys, a, macs, cached):
    """(tile, mma, softmax, load) cycles of one rows x keys attention tile on one core; `cached`
    is the share of keys read from the KV cache (the rest are new K/V in activation format)."""
    mma = rows * keys * (a[A_DQK] + a[A_DV]) / (macs * mach[IDX["eff_mat_attn"]])
    soft = rows * keys / mach[IDX["sfu_ops"]] + rows * keys * SOFTMAX_VEC / mach[IDX["vec_flops"]]
    kvb = cached * a[A_KVBYTES] + (1.0 - cached) * a[A_QBYTES]
    load = keys * kv_width(a) * kvb / mach[IDX["smem_bw"]]
    if a[A_KVCONVERT] > 0:
        soft += cached * keys * kv_width(a) * 2.0 / mach[IDX["vec_flops"]]
    if a[A_BITS] < 16:      # FP8 attention: P converted to FP8, V transposed in registers
        soft += (rows * keys + keys * a[A_DV]) * 2.0 / mach[IDX["vec_flops"]]
    soft /= mach[IDX["eff_sfu"]]
    return max(mma, soft, load), mma, soft, load


def attn_one(mach, a, prepass=True):
    """(seconds, bound code) of one attention call; same arithmetic as engine.pyx attn_core.
    prepass=False: without the RoPE / KV-append pre-pass (its launch and memory pass)."""
    cores, clock, p = mach[IDX["cores"]], mach[IDX["clock_hz"]], mach[IDX["overlap_p"]]
    batch, q, kv, h = a[A_BATCH], a[A_QLEN], a[A_KVLEN], a[A_HEADS]
    hk, dqk, dv, win = a[A_KVHEADS], a[A_DQK], a[A_DV], a[A_WINDOW]
    if batch <= 0 or q <= 0 or kv <= 0 or h <= 0:
        return 0.0, OVERHEAD
    macs, _ = _macs(mach, a[A_BITS])
    fixed = mach[IDX["launch_s"]] + (mach[IDX["attn_fixed_s"]] if a[A_PHASE] == 0
                                     else mach[IDX["attn_dec_fixed_s"]])
    if prepass:
        fixed += mach[IDX["launch_s"]]
        fixed += batch * q * ((h + 2.0 * hk) * (dqk + dv) * 0.5 * 2.0 * a[A_QBYTES]
                              + hk * kv_width(a) * a[A_KVBYTES]) / (
                                  mach[IDX["hbm_bw"]] * mach[IDX["eff_mem"]])
    if a[A_PHASE] == 0:
        hbm_bw = mach[IDX["hbm_bw"]] * mach[IDX["eff_mem"]]
        nq = math.ceil(q / ATTN_BQ)
        tile, mma, soft, load = attn_tile_cycles(mach, ATTN_BQ, ATTN_BK, a, macs, (kv - q) / kv)
        work = longest = mma_s = soft_s = load_s = 0.0
        for i in range(nq):
            rows = min(ATTN_BQ, q - i * ATTN_BQ)
            end = min(kv, kv - q + (i + 1) * ATTN_BQ) if a[A_CAUSAL] > 0 else kv
            start = 0.0
            if win > 0:
                start = math.floor(max(0.0, end - rows - win + 1.0) / ATTN_BK) * ATTN_BK
            keys = math.ceil(end / ATTN_BK) * ATTN_BK - start
            unit = (keys / ATTN_BK) * tile + ATTN_BQ * (dqk + dv) * a[A_QBYTES] / mach[IDX["smem_bw"]]
            mma_s += mma * keys / ATTN_BK
            soft_s += soft * keys / ATTN_BK
            load_s += load * keys / ATTN_BK
            work += unit
            longest = max(longest, unit)
        units = batch * h * nq
        work *= batch * h
        waves = math.ceil(units / cores)
        t_core = max(work / cores, longest) / clock + waves * mach[IDX["attn_tile_s"]]
        keys = min(kv, win + q) if win > 0 else kv
        byts = batch * (q * h * (dqk + dv) * a[A_QBYTES] + hk * kv_width(a) * (
            min(keys, q) * a[A_QBYTES] + max(0.0, keys - q) * a[A_KVBYTES]))
        t_hbm = byts / hbm_bw
        body = pnorm3(t_core, t_hbm, 0.0, p)
        t = fixed + body
        if t - body > body:
            bound = OVERHEAD
        elif t_core >= t_hbm:
            bound = SRAM if load_s > max(mma_s, soft_s) else COMPUTE
        else:
            bound = HBM
        return t, bound
    hbm_bw = mach[IDX["hbm_bw"]] * mach[IDX["attn_dec_eff_mem"]]
    kv_hist = max(0.0, kv - q)
    if win > 0:
        kv = min(kv, win)
    g = h / hk
    if mach[IDX["dec_max_group"]] > 0 and g > mach[IDX["dec_max_group"]] and dqk == dv:
        hk, g = h, 1.0      # GQA kernel: one CTA per query head, each streaming its own K/V
    # kernel family (engine.pyx): SM time of a grouped CTA on a 16-bit cache, as throughput
    cta16 = mach[IDX["attn_dec_cta16_s"]] if (g > 1.0 and a[A_KVBYTES] >= 2.0) else 0.0
    tn_min = mach[IDX["tile_n_min"]]
    rows_pad = math.ceil(g * q / tn_min) * tn_min
    _, mma, soft, load = attn_tile_cycles(mach, rows_pad, ATTN_BK, a, macs, 1.0)
    soft = soft * (g * q) / rows_pad
    tile = max(mma, soft, load)
    lib_split = mach[IDX["dec_split_rule"]] > 0 and g > 1.0 and dqk == dv   # not MLA

    def candidates():
        """(splits, cores running them): the searched splits on all cores, or the library's rule
        (engine.pyx) for c = cores, cores - 1, ... where its split count changes, down to 1."""
        if not lib_split:
            for s in KV_SPLITS:
                if s > 1 and (s * ATTN_BK > kv or batch * hk * s > 4.0 * cores):
                    return
                yield s, cores
            return
        s_lib = math.floor(kv_hist / SPLIT_HIST_TOKENS)
        s_lib = max(1.0, min(s_lib, math.floor(math.sqrt(8.0 * s_lib) + 0.5)))
        c_run, s_prev = cores, -1.0
        while not (c_run < 1.0 and s_prev > 0.0):
            s = s_lib
            nwave = batch * hk * s_lib / c_run
            if nwave > SPLIT_TARGET_WAVES:
                s = max(1.0, math.floor(s_lib / (nwave / SPLIT_TARGET_WAVES)))
            if s != s_prev:
                s_prev = s
                yield s, c_run
                if s <= 1.0:
                    return
                # the rule keeps s splits down to ceil(s x batch x kv_heads / 8) cores
                c_run = min(c_run, math.ceil(s * batch * hk / SPLIT_TARGET_WAVES) + 1.0)
            c_run -= 1.0

    best_t, best_bound = math.inf, OVERHEAD
    for s, c_run in candidates():
        units = batch * hk * s
        keys = math.ceil(math.ceil(kv / s) / ATTN_BK) * ATTN_BK
        unit = (keys / ATTN_BK) * tile + rows_pad * (dqk + dv) * a[A_QBYTES] / mach[IDX["smem_bw"]]
        waves = math.ceil(units / c_run)
        t_core = waves * (unit / clock + mach[IDX["attn_dec_tile_s"]]) + units * cta16 / c_run
        byts = batch * (kv * hk * kv_width(a) * a[A_KVBYTES] + q * h * (dqk + dv) * a[A_QBYTES])
        if s > 1:
            byts += 2.0 * s * batch * h * q * (dv + 1.0) * 4.0
        t_hbm = byts / hbm_bw
        body = pnorm3(t_core, t_hbm, 0.0, p)
        t = fixed + body + (mach[IDX["launch_s"]] if s > 1 else 0.0)
        if t < best_t:
            best_t = t
            if t - body > body:
                best_bound = OVERHEAD
            elif t_core >= t_hbm:
                best_bound = SRAM if load >= max(mma, soft) else COMPUTE
            else:
                best_bound = HBM
    return best_t, best_bound


# --------------------------------------------------------------------------------- collectives
ONESHOT_MAX_BYTES = 1048576.0     # engine.pyx: direct all-reduce one-shot up to this buffer


def comm_one(mach, op, alg, nbytes, ranks, link_bw, latency):
    """(seconds, bound code) of one collective; same arithmetic as engine.pyx comm_core."""
    n = float(ranks)
    if n <= 1.0 or nbytes <= 0.0:
        return 0.0, OVERHEAD
    if op == 0:
        bus = 2.0 * (n - 1.0) / n * nbytes
        steps = {0: 2.0 * (n - 1.0), 1: 2.0 * math.ceil(math.log2(n))}.get(alg, 2.0)
        if alg == 2 and nbytes <= ONESHOT_MAX_BYTES:     # one-shot direct all-reduce
            bus, steps = (n - 1.0) * nbytes, 1.0
    elif op in (1, 2):
        bus = (n - 1.0) / n * nbytes
        steps = {0: n - 1.0, 1: float(math.ceil(math.log2(n)))}.get(alg, 1.0)
    elif op == 3:
        bus, steps = (n - 1.0) / n * nbytes, 1.0
    else:
        bus, steps = nbytes, 1.0
    t_bw = bus / (link_bw * mach[IDX["eff_link"]])
    if alg == 2:
        t_lat = mach[IDX["launch_s"]] + steps * latency
    else:
        t_lat = mach[IDX["comm_launch_s"]] + steps * (
            latency + min(mach[IDX["comm_chunk_bytes"]], nbytes / n) / (link_bw * mach[IDX["eff_link"]]))
    return t_lat + t_bw, (OVERHEAD if t_lat > t_bw else LINK)
