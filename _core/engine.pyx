# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cycle-approximate kernel models of the chipletarch engine (GEMM, attention), compiled.

Inputs are flat float64 arrays: the machine (slots named in chipletarch/engine/machine.py,
mirrored by the M_* constants below; a test checks SLOT_NAMES against it) and, per GEMM, an
operand descriptor (chipletarch/engine/fmt.py). The arithmetic is the same, step for step, as the
pure-Python reference chipletarch/engine/reference.py; docs/ENGINE.md explains it. Hot loops hold
no Python objects and run without the GIL.
"""
from libc.math cimport ceil, floor, pow, INFINITY, fmax, fmin, sqrt, log2

import numpy as np

SLOT_NAMES = (
    "cores", "clock_hz", "macs_16", "macs_8", "macs_6", "macs_4", "macs_32", "vec_flops",
    "sfu_ops", "smem_bytes", "smem_bw", "rf_bytes", "l2_bytes", "l2_bw", "hbm_bw", "hbm_bytes",
    "tile_m_min", "tile_n_min", "sys_rows", "sys_cols", "native_block_scale", "launch_s",
    "mem_latency_s", "eff_mat_16", "eff_mat_8", "eff_mem", "overlap_p", "rescale_exposed",
    "quant_tensor_s", "quant_block_s", "eff_sfu", "attn_tile_s", "link_bw", "link_latency_s",
    "eff_link", "comm_launch_s", "eff_mat_attn", "attn_dec_eff_mem", "scale_drain_cycles",
    "attn_fixed_s", "attn_dec_fixed_s", "comm_chunk_bytes", "eff_stream",
    "dec_max_group", "attn_dec_tile_s", "attn_dec_cta16_s", "dec_split_rule", "lib_fill_bpc",
)

cdef enum:
    M_CORES = 0
    M_CLOCK = 1
    M_MACS16 = 2
    M_MACS8 = 3
    M_MACS6 = 4
    M_MACS4 = 5
    M_MACS32 = 6
    M_VEC = 7
    M_SFU = 8
    M_SMEM = 9
    M_SMEM_BW = 10
    M_RF = 11
    M_L2 = 12
    M_L2_BW = 13
    M_HBM_BW = 14
    M_HBM_BYTES = 15
    M_TM_MIN = 16
    M_TN_MIN = 17
    M_SYS_R = 18
    M_SYS_C = 19
    M_NATIVE_SCALE = 20
    M_LAUNCH = 21
    M_MEM_LAT = 22
    M_EFF16 = 23
    M_EFF8 = 24
    M_EFF_MEM = 25
    M_P = 26
    M_RESCALE = 27
    M_QT = 28
    M_QB = 29
    M_EFF_SFU = 30
    M_ATTN_TILE = 31
    M_LINK_BW = 32
    M_LINK_LAT = 33
    M_EFF_LINK = 34
    M_COMM_LAUNCH = 35
    M_EFF_ATTN = 36
    M_DEC_EFF_MEM = 37
    M_DRAIN = 38
    M_ATTN_FIXED = 39
    M_DEC_FIXED = 40
    M_CHUNK = 41
    M_EFF_STREAM = 42
    M_DEC_GROUP = 43
    M_DEC_TILE = 44
    M_DEC_CTA16 = 45
    M_DEC_SPLIT_RULE = 46
    M_LIB_FILL = 47
    NSLOTS = 48

# operand descriptor slots (chipletarch/engine/fmt.py)
cdef enum:
    D_AB = 0
    D_BB = 1
    D_CB = 2
    D_BITS = 3
    D_BLOCK_K = 4
    D_QUANT = 5
    D_ELEM = 6
    D_TN_GRAN = 7
    NFMT = 8

# bound codes (chipletarch/engine/reference.py BOUND_NAMES)
cdef enum:
    B_COMPUTE = 0
    B_SRAM = 1
    B_L2 = 2
    B_HBM = 3
    B_OVERHEAD = 4

# Candidate CTA tiles. GPU-style dies stop at 256 (at most four 64-row MMA warpgroups per CTA,
# accumulators in registers); systolic dies go to 1024 (accumulators in the core's SRAM). The
# machine's own granule (tile_m_min x max(tile_n_min, format granule)) is always a candidate too.
DEF NTM = 8
DEF NTN = 10
cdef int TILE_M[NTM]
cdef int TILE_N[NTN]
cdef int SPLITS[10]
TILE_M[:] = [64, 128, 192, 256, 384, 512, 768, 1024]
TILE_N[:] = [16, 32, 64, 128, 192, 256, 384, 512, 768, 1024]
cdef int GPU_TILE_MAX = 256
# BLOCK_N step of the block-scaled library's tile rule (wgmma N is a multiple of 8)
cdef int LIB_TN_STEP = 8
# the library's widest BLOCK_N (two FP32 accumulator sets per thread; fp8_block's weight-scale block)
cdef int LIB_TN_MAX = 128
# operand stages a GPU CTA keeps in flight at most (CUTLASS Hopper kernels at 128x256 bf16: 4)
cdef double MAX_STAGES = 4.0
DEF LIB_MAXN = 32
# the block-scaled library multicasts A over CTA pairs from this many rows (DeepGEMM: m >= 1024)
cdef double LIB_MCAST_M = 1024.0
SPLITS[:] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32]
cdef double KSTEP_BYTES = 128.0


cdef inline long cdiv(long a, long b) noexcept nogil:
    return (a + b - 1) // b


cdef inline bint in_list(int v, int* arr, int n) noexcept nogil:
    cdef int i
    for i in range(n):
        if arr[i] == v:
            return True
    return False


cdef inline double pnorm3(double a, double b, double c, double p) noexcept nogil:
    cdef double mx = fmax(a, fmax(b, c))
    if mx <= 0.0:
        return 0.0
    if p > 60.0:
        return mx
    return mx * pow(pow(a / mx, p) + pow(b / mx, p) + pow(c / mx, p), 1.0 / p)


cdef inline double hbm_traffic(double m, double n, double k, double ab, double bb, double cb,
                               double l2_bytes, double tm, double tn, double cores,
                               double tiles_m, double tiles_n, int warm) noexcept nogil:
    """Bytes moved to/from memory by a wave-by-wave sweep of output tiles.

    The tiles of one wave (`cores` of them) run in near lockstep along k and cover a block of
    gm x gn tiles (swizzled raster, shaped to minimise the wave's operand footprint): B is then
    streamed once per group of gm tile-rows and A once per group of gn tile-columns. Operands
    that fit in half of L2 (together, or one alone) are read once; otherwise the share of the
    operand bytes that L2 cannot hold, 1 - (L2/2) / (A + B), is re-fetched at that streaming
    rate. Every term is non-increasing in cores and L2 size (a larger wave only covers more).
    warm: the activation A was just written by the previous kernel (in inference: the op that
    produced it; in the measured benchmark: the same); if it fits in L2 it is read from L2, not
    memory. Weights B are always cold.
    """
    cdef double a_tot = m * k * ab, b_tot = n * k * bb, cap = 0.5 * l2_bytes
    cdef double uniq, gm, gn, a_str, b_str
    if warm and a_tot <= l2_bytes:
        a_tot = 0.0
    uniq = a_tot + b_tot
    if uniq <= cap:
        return uniq + m * n * cb
    gm = fmin(tiles_m, fmax(1.0, sqrt(cores * tn * bb / (tm * ab))))
    gn = fmin(tiles_n, fmax(1.0, cores / gm))
    gm = fmin(tiles_m, fmax(gm, cores / gn))
    a_str = a_tot if a_tot <= 0.5 * cap else a_tot * fmax(1.0, tiles_n / gn)
    b_str = b_tot if b_tot <= 0.5 * cap else b_tot * fmax(1.0, tiles_m / gm)
    return uniq + (a_str + b_str - uniq) * (1.0 - cap / uniq) + m * n * cb


cdef inline void select_macs(const double[::1] mach, double bits, double* macs, double* eff) noexcept nogil:
    if bits >= 32:
        macs[0] = mach[M_MACS32]
        eff[0] = mach[M_EFF16]
        return
    if bits >= 16:
        macs[0] = mach[M_MACS16]
        eff[0] = mach[M_EFF16]
        return
    eff[0] = mach[M_EFF8]
    if bits >= 8:
        macs[0] = mach[M_MACS8]
    elif bits >= 6:
        macs[0] = mach[M_MACS6] if mach[M_MACS6] > 0 else mach[M_MACS8]
    else:
        macs[0] = mach[M_MACS4] if mach[M_MACS4] > 0 else mach[M_MACS8]


cdef double gemm_core(const double[::1] mach, long m, long n, long k, const double* d,
                      int warm, int* bound, double* traffic=NULL) noexcept nogil:
    """Seconds of one GEMM; bound[0] = bound code. traffic (if not NULL) receives the chosen
    candidate's [memory bytes incl. panel re-fetch and the activation-quantisation pass,
    L2 -> SRAM bytes incl. split-K partials]."""
    cdef double cores = mach[M_CORES], clock = mach[M_CLOCK]
    cdef double macs = 0.0, eff = 1.0
    cdef double smem = mach[M_SMEM], smem_bw = mach[M_SMEM_BW], rf = mach[M_RF]
    cdef double l2_bw = mach[M_L2_BW], hbm_bw = mach[M_HBM_BW] * mach[M_EFF_MEM]
    cdef double vec = mach[M_VEC], p = mach[M_P]
    cdef double sys_r = mach[M_SYS_R], sys_c = mach[M_SYS_C]
    cdef double tm_min = fmax(mach[M_TM_MIN], sys_r), tn_min = fmax(mach[M_TN_MIN], sys_c)
    cdef double ab = d[D_AB], bb = d[D_BB], cb = d[D_CB], elem = d[D_ELEM]
    cdef double block_k = d[D_BLOCK_K]
    cdef bint soft_scale = block_k > 0 and mach[M_NATIVE_SCALE] == 0.0
    cdef double tk, fixed, quant_t, best_t, t_hbm, stage, mma, fetch, load, step, out_b
    cdef double rescale, occ, quant_b, hbm_b, best_hbm = 0.0, best_l2 = 0.0
    cdef double tile_cyc, t_core, l2b, t_l2, body, t, fm = <double>m, fn = <double>n
    cdef long ksteps_all, tiles, steps, waves, lib_tiles, lib_cap
    cdef int i, j, si, tm, tn, s, tm_base, tn_base, fallback, best_bound = B_OVERHEAD
    cdef int ntm, ntn, lib_tn, lib_tm = 0
    cdef double lib_cmax
    cdef int ctm[NTM + 1]
    cdef int ctn[LIB_MAXN]
    cdef int lib_cand[LIB_MAXN]
    cdef long lib_t[LIB_MAXN]
    cdef double lib_cc[LIB_MAXN]
    cdef double ccores[LIB_MAXN]
    cdef double cc
    cdef bint granule, lib_rule
    cdef double lib_fill = mach[M_LIB_FILL] * mach[M_CLOCK], l2f, drain, stages, lat_step
    if m <= 0 or n <= 0 or k <= 0:
        bound[0] = B_OVERHEAD
        if traffic != NULL:
            traffic[0] = 0.0
            traffic[1] = 0.0
        return 0.0
    select_macs(mach, d[D_BITS], &macs, &eff)
    tk = fmax(8.0, KSTEP_BYTES / elem)
    ksteps_all = <long>ceil(<double>k / tk)
    fixed = mach[M_LAUNCH]
    quant_b = 0.0
    if d[D_QUANT] == 1:
        fixed += mach[M_QT]
        quant_b = fm * k * (2.0 * 2.0 + elem)
    elif d[D_QUANT] == 2:
        fixed += mach[M_QB]
        quant_b = fm * k * (2.0 + ab)
    elif d[D_QUANT] == 3:
        # static per-tensor scale: one more elementwise kernel (launch + read 16-bit, write 8-bit)
        fixed += mach[M_LAUNCH]
        quant_b = fm * k * (2.0 + elem)
    quant_t = quant_b / hbm_bw
    best_t = INFINITY
    tm_base = <int>tm_min
    tn_base = <int>(ceil(fmax(tn_min, d[D_TN_GRAN]) / tn_min) * tn_min)
    # Candidate tiles: the listed sizes plus the machine's granule (if not listed) ...
    ntm = 0
    for i in range(NTM):
        ctm[ntm] = TILE_M[i]
        ntm += 1
    if not in_list(tm_base, TILE_M, NTM):
        ctm[ntm] = tm_base
        ntm += 1
    ntn = 0
    for j in range(NTN):
        ctn[ntn] = TILE_N[j]
        ntn += 1
    if not in_list(tn_base, TILE_N, NTN):
        ctn[ntn] = tn_base
        ntn += 1
    # ... or, for software block scaling on a GPU-style die above one MMA granule of rows, the
    # tiles the block-scaled library (DeepGEMM lineage) picks: BLOCK_M = two granules (two math
    # warpgroups), BLOCK_N in LIB_TN_STEP steps from the N granule to LIB_TN_MAX (128) by a wave
    # rule (below); no split-K, persistent CTAs
    lib_rule = soft_scale and sys_r == 0 and fm > tm_min
    if lib_rule:
        # the library's BLOCK_N candidates and their tile counts (non-increasing in BLOCK_N)
        lib_tm = 2 * tm_base
        ntn = 0
        lib_tn = <int>tn_min
        while lib_tn <= <int>fmax(LIB_TN_MAX, tn_min) and ntn < LIB_MAXN:
            lib_cand[ntn] = lib_tn
            lib_t[ntn] = cdiv(m, lib_tm) * cdiv(n, lib_tn)
            lib_cc[ntn] = 0.0
            ntn += 1
            lib_tn += LIB_TN_STEP
        # Its pick on c SMs: the fewest waves w = ceil(T_min / c), then the fullest last wave,
        # then the narrowest tile, i.e. the most tiles not above c * w. num_sms is a launch
        # argument of the persistent kernel, so a die may run it on any c <= cores SMs; each
        # pick is timed on the most SMs that choose it (time falls with SMs for a fixed tile)
        # and the fastest wins. On the die's own core count this is the library's pick unless
        # running on fewer SMs is faster, and a die with more cores is never slower.
        lib_tiles = lib_t[ntn - 1]
        lib_cmax = fmax(1.0, floor(cores))
        for si in range(1, <int>fmin(lib_cmax, <double>lib_t[0]) + 1):
            lib_cap = si * cdiv(lib_tiles, si)
            for j in range(ntn):
                if lib_t[j] <= lib_cap:
                    lib_cc[j] = <double>si
                    break
        if lib_cmax >= <double>lib_t[0]:
            lib_cc[0] = lib_cmax      # every tile in one wave: the narrowest BLOCK_N
        ctm[0] = lib_tm
        ntm = 1
        i = 0
        for j in range(ntn):
            if lib_cc[j] > 0.0:
                ctn[i] = lib_cand[j]
                ccores[i] = lib_cc[j]
                i += 1
        ntn = i
    # pass 0: the machine's granule tile (the hardware can always run it) and every candidate
    # that respects the register / SRAM limits; pass 1, only if pass 0 found nothing (a software
    # tile rule excluded the granule and nothing else fits): the granule tile regardless
    for fallback in range(2):
        if fallback and best_t < INFINITY:
            break
        for i in range(ntm):
            tm = ctm[i]
            if tm % tm_base != 0:
                continue
            for j in range(ntn):
                tn = ctn[j]
                if not lib_rule and (tn % (<int>tn_min) != 0 or tn % (<int>d[D_TN_GRAN]) != 0):
                    continue
                stage = (tm * ab + tn * bb) * tk
                granule = tm == tm_base and tn == tn_base
                if lib_rule:
                    pass              # the library's own tile: it runs (no fallback needed)
                elif fallback:
                    if not granule:
                        continue
                else:
                    # Hopper's block-scaled kernels (DeepGEMM lineage): 64-row tiles for m <= 64
                    if soft_scale and tm == 64 and m > 64:
                        continue
                    if granule:
                        pass          # the hardware's own tile always runs
                    elif sys_r > 0:
                        # systolic: double-buffered stages + the fp32 output tile in SRAM
                        if 2.0 * stage + tm * tn * 4.0 > smem:
                            continue
                    else:
                        if tm > GPU_TILE_MAX or tn > GPU_TILE_MAX:
                            continue
                        # fp32 accumulators live in half the register file; software block
                        # scaling keeps two sets (the MMA's partial sum and the promoted total)
                        if tm * tn * 4.0 * (2.0 if soft_scale else 1.0) > 0.5 * rf:
                            continue
                        if 2.0 * stage > smem:
                            continue
                cc = ccores[j] if lib_rule else cores
                tiles = cdiv(m, tm) * cdiv(n, tn)
                fetch = (fmin(<double>tm, fm) * ab + fmin(<double>tn, fn) * bb) * tk
                load = fetch / smem_bw
                # Memory latency (GPU-style dies): a CTA's producer keeps at most `stages` operand
                # stages in flight (what fits in shared memory, at most MAX_STAGES), so its stream
                # advances one k-step per memory latency / stages (Little's law per CTA): the
                # memory term is at least waves x k-steps x that. It binds for few, long-k CTAs
                # (small-n GEMVs), whose bytes no bandwidth term limits.
                lat_step = 0.0
                if sys_r == 0:
                    stages = fmax(1.0, fmin(MAX_STAGES, floor(smem / stage)))
                    lat_step = mach[M_MEM_LAT] * clock / stages
                # Operand bytes per tile k-step the block-scaled library's CTA pulls from L2 (its
                # A stage is multicast over CTA pairs, two n tiles, from m = LIB_MCAST_M when the
                # n tiles pair up)
                l2f = fetch
                if lib_rule and fm >= LIB_MCAST_M and n % (2 * tn) == 0:
                    l2f = fetch - 0.5 * fmin(<double>tm, fm) * ab * tk
                rescale = 0.0
                drain = 0.0
                if soft_scale:
                    rescale = (tk / block_k) * tm * tn * 4.0 / vec
                    drain = (tk / block_k) * mach[M_DRAIN]
                for si in range(10):
                    s = SPLITS[si]
                    # software block scaling keeps the fp32 promotion in one CTA's registers: the
                    # production kernels (DeepGEMM-style) have no split-K
                    if s > 1 and (tiles * s > cc or s > ksteps_all or soft_scale):
                        break
                    steps = cdiv(ksteps_all, s)
                    waves = cdiv(tiles * s, <long>cc)
                    # sustained matrix clock under the power limit: the fitted shortfall (1 - eff)
                    # applies in proportion to the share of cores a full wave keeps busy
                    occ = fmin(1.0, (tiles * s) / cc)
                    mma = tm * tn * tk / (macs * (1.0 - (1.0 - eff) * occ))
                    # rescale FMAs run beside the MMAs of the other warpgroup; the share that shows
                    # (fitted) grows with occupancy like the power-limited clock
                    # the promotion FMAs overlap the other warpgroup's MMAs but the vector
                    # units must keep up: a k-step is at least the promotion itself
                    step = (fmax(fmax(mma, load), rescale) + drain
                            + mach[M_RESCALE] * occ * rescale)
                    out_b = 4.0 if s > 1 else cb
                    tile_cyc = steps * step + tm * tn * out_b / smem_bw
                    if sys_r > 0:
                        tile_cyc += sys_r + sys_c
                    t_core = waves * (tile_cyc / clock + mach[M_MEM_LAT])
                    if lib_rule:
                        # the block-scaled library's math warpgroups store their output tile to
                        # memory themselves before starting the next tile: every wave's tiles
                        # write at once, at memory bandwidth, not overlapped with the MMAs
                        t_core += fm * fn * cb / hbm_bw
                    hbm_b = hbm_traffic(fm, fn, <double>k, ab, bb, cb, mach[M_L2], tm, tn, cc,
                                        <double>cdiv(m, tm), <double>cdiv(n, tn), warm)
                    t_hbm = fmax(hbm_b / hbm_bw, waves * steps * lat_step / clock)
                    l2b = tiles * s * steps * l2f
                    if s > 1:
                        l2b += 2.0 * s * fm * fn * 4.0
                    t_l2 = l2b / l2_bw
                    if lib_rule and lib_fill > 0.0:
                        # the library's CTAs pull their operand stages from L2 at lib_fill_bpc
                        # bytes per cycle per SM (the L2 itself still bounds them together)
                        t_l2 = fmax(t_l2, waves * steps * l2f / lib_fill)
                    body = pnorm3(t_core, t_hbm, t_l2, p)
                    t = fixed + body + quant_t
                    if s > 1:
                        t += mach[M_LAUNCH]      # split-K partials are summed by a second kernel
                    if t < best_t:
                        best_t = t
                        best_hbm = hbm_b + quant_b
                        best_l2 = l2b
                        if t - body > body:
                            best_bound = B_OVERHEAD
                        elif t_core >= t_hbm and t_core >= t_l2:
                            best_bound = B_SRAM if load > mma else B_COMPUTE
                        elif t_hbm >= t_l2:
                            best_bound = B_HBM
                        else:
                            best_bound = B_L2
    bound[0] = best_bound
    if traffic != NULL:
        traffic[0] = best_hbm
        traffic[1] = best_l2
    return best_t


def _check_machine(mach):
    if mach.shape[0] != NSLOTS:
        raise ValueError(f"machine array must have {NSLOTS} slots, got {mach.shape[0]}")


def gemm_one(const double[::1] mach, long m, long n, long k, const double[::1] desc, int warm=0):
    """(seconds, bound code) of one GEMM."""
    cdef int bound = 0
    cdef double t
    _check_machine(mach)
    if desc.shape[0] != NFMT:
        raise ValueError("bad format descriptor")
    with nogil:
        t = gemm_core(mach, m, n, k, &desc[0], warm, &bound)
    return t, bound


def gemm_one_traffic(const double[::1] mach, long m, long n, long k, const double[::1] desc,
                     int warm=0):
    """(seconds, bound code, memory bytes, L2 bytes) of one GEMM (see gemm_core's traffic)."""
    cdef int bound = 0
    cdef double t
    cdef double tr[2]
    _check_machine(mach)
    if desc.shape[0] != NFMT:
        raise ValueError("bad format descriptor")
    with nogil:
        t = gemm_core(mach, m, n, k, &desc[0], warm, &bound, tr)
    return t, bound, tr[0], tr[1]


def gemm_batch(const double[::1] mach, const long[::1] m, const long[::1] n, const long[::1] k,
               const double[:, ::1] desc, const long[::1] fmt_row, double[::1] out_t,
               signed char[::1] out_bound, int warm=0, double[:, ::1] out_traffic=None):
    """Evaluate len(m) GEMMs; row i uses descriptor desc[fmt_row[i]]. Fills out_t, out_bound
    and, if given, out_traffic[i] = (memory bytes incl. re-fetch and the quantisation pass,
    L2 -> SRAM bytes) of the chosen candidate."""
    cdef Py_ssize_t i, nrow = m.shape[0]
    cdef int bound = 0
    cdef bint want = out_traffic is not None
    _check_machine(mach)
    if desc.shape[1] != NFMT:
        raise ValueError("bad format descriptor table")
    if not (n.shape[0] == nrow and k.shape[0] == nrow and fmt_row.shape[0] == nrow
            and out_t.shape[0] == nrow and out_bound.shape[0] == nrow):
        raise ValueError("gemm_batch: arrays must have equal length")
    if want and (out_traffic.shape[0] != nrow or out_traffic.shape[1] != 2):
        raise ValueError("gemm_batch: out_traffic must have shape (len(m), 2)")
    for i in range(nrow):
        if fmt_row[i] < 0 or fmt_row[i] >= desc.shape[0]:
            raise ValueError("gemm_batch: fmt_row out of range")
    with nogil:
        if want:
            for i in range(nrow):
                out_t[i] = gemm_core(mach, m[i], n[i], k[i], &desc[fmt_row[i], 0], warm, &bound,
                                     &out_traffic[i, 0])
                out_bound[i] = <signed char>bound
        else:
            for i in range(nrow):
                out_t[i] = gemm_core(mach, m[i], n[i], k[i], &desc[fmt_row[i], 0], warm, &bound)
                out_bound[i] = <signed char>bound


# ----------------------------------------------------------------------------------- attention
# Attention descriptor: the caller resolves formats into these numbers.
cdef enum:
    A_PHASE = 0       # 0 prefill (context), 1 decode (generation)
    A_BATCH = 1
    A_QLEN = 2        # new tokens per sequence (prefill); 1 for decode
    A_KVLEN = 3       # keys attended per sequence (incl. the new ones)
    A_HEADS = 4
    A_KVHEADS = 5
    A_DQK = 6
    A_DV = 7
    A_WINDOW = 8      # 0 = full attention
    A_CAUSAL = 9
    A_BITS = 10       # matrix-engine operand width (16 or 8)
    A_QBYTES = 11     # bytes per Q/O element
    A_KVBYTES = 12    # bytes per K/V element in memory (incl. scales)
    A_KVCONVERT = 13  # 1 = K/V must be converted to the compute format on the vector units
    NATTN = 14

cdef double ATTN_BQ = 128.0      # query rows per CTA (FlashAttention-3 on Hopper)
cdef double ATTN_BK = 128.0      # keys per inner tile
cdef double SOFTMAX_VEC = 8.0    # FP32 vector FLOPs per score: scale, max, subtract, sum, rescale
cdef int NSPLITS = 12
cdef int KV_SPLITS[12]
KV_SPLITS[:] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64]
# the library's multi-block rule for grouped decode kernels (dec_split_rule = 1; TensorRT-LLM
# XQA): one split per 128 tokens of history, at most round(sqrt(8 x that)), then cut so that the
# grid stays within 8 waves of the cores
cdef double SPLIT_HIST_TOKENS = 128.0
cdef double SPLIT_TARGET_WAVES = 8.0


cdef inline double kv_width(const double* a) noexcept nogil:
    """K/V elements stored per token and KV head: d_qk + d_v, or d_qk alone for an MLA latent
    cache (one KV head whose V is the leading part of K: DeepSeek's 512 latent + 64 RoPE)."""
    if a[A_KVHEADS] == 1.0 and a[A_DV] < a[A_DQK]:
        return a[A_DQK]
    return a[A_DQK] + a[A_DV]


cdef inline double attn_tile_cycles(const double[::1] mach, double rows, double keys,
                                    const double* a, double macs, double cached,
                                    double* mma_out, double* soft_out,
                                    double* load_out) noexcept nogil:
    """Cycles of one (rows x keys) tile of S = Q K^T, softmax, O += P V on one core.

    FlashAttention-3 overlaps the two MMAs of one warpgroup with the softmax of the other, so a
    tile costs the slowest of: the MMAs, the exp on the special-function units plus the FP32
    vector work, and the K/V fill into shared memory. `cached`: share of the keys read from the
    KV cache (stored in its own format, converted if narrower); the rest are this step's new
    K/V, still in the activation format (prefill without a prefix never reads the cache)."""
    cdef double mma = rows * keys * (a[A_DQK] + a[A_DV]) / (macs * mach[M_EFF_ATTN])
    cdef double soft = (rows * keys / mach[M_SFU] + rows * keys * SOFTMAX_VEC / mach[M_VEC])
    cdef double kvb = cached * a[A_KVBYTES] + (1.0 - cached) * a[A_QBYTES]
    cdef double load = keys * kv_width(a) * kvb / mach[M_SMEM_BW]
    if a[A_KVCONVERT] > 0:
        soft += cached * keys * kv_width(a) * 2.0 / mach[M_VEC]
    if a[A_BITS] < 16:
        # FP8 attention (FA3): P is converted to FP8 and V transposed in registers every tile
        soft += (rows * keys + keys * a[A_DV]) * 2.0 / mach[M_VEC]
    soft = soft / mach[M_EFF_SFU]
    mma_out[0] = mma
    soft_out[0] = soft
    load_out[0] = load
    return fmax(mma, fmax(soft, load))


cdef double attn_core(const double[::1] mach, const double* a, int* bound,
                      int prepass=1) noexcept nogil:
    cdef double cores = mach[M_CORES], clock = mach[M_CLOCK], p = mach[M_P]
    cdef double macs = 0.0, eff = 1.0
    cdef double batch = a[A_BATCH], q = a[A_QLEN], kv = a[A_KVLEN], h = a[A_HEADS]
    cdef double hk = a[A_KVHEADS], dqk = a[A_DQK], dv = a[A_DV], win = a[A_WINDOW]
    cdef double hbm_bw, byts, t_hbm, t_core, t, best_t, body, work, longest, rows, start, end
    cdef double units, tile, mma = 0.0, soft = 0.0, load = 0.0, mma_s = 0.0, soft_s = 0.0
    cdef double load_s = 0.0, g, keys, unit_cyc, waves, rows_pad, fixed, s, cached, cta16
    cdef double kv_hist, s_lib = 1.0, nwave, c_run, s_prev
    cdef bint lib_split = 0
    cdef long nq, i, si
    cdef int best_bound = B_OVERHEAD
    if batch <= 0 or q <= 0 or kv <= 0 or h <= 0:
        bound[0] = B_OVERHEAD
        return 0.0
    select_macs(mach, a[A_BITS], &macs, &eff)
    # the measured attention op also runs a pre-pass (RoPE on Q/K, append the new K/V to the
    # cache): one more launch and a memory-bound read + write of the new Q, K, V. prepass=0
    # leaves it out: the full-model op table times RoPE and the KV-cache write as their own rows
    # (docs/ENGINE.md "Attention", who owns the pre-pass). The fitted fixed cost stays.
    fixed = mach[M_LAUNCH] + (mach[M_ATTN_FIXED] if a[A_PHASE] == 0 else mach[M_DEC_FIXED])
    if prepass:
        fixed += mach[M_LAUNCH]
        fixed += batch * q * ((h + 2.0 * hk) * (dqk + dv) * 0.5 * 2.0 * a[A_QBYTES]
                              + hk * kv_width(a) * a[A_KVBYTES]) / (
                                  mach[M_HBM_BW] * mach[M_EFF_MEM])
    if a[A_PHASE] == 0:
        # ---- prefill: one CTA per (sequence, head, 128-row query tile)
        hbm_bw = mach[M_HBM_BW] * mach[M_EFF_MEM]
        nq = <long>ceil(q / ATTN_BQ)
        # keys before this prefill's first new token come from the cache
        cached = (kv - q) / kv
        tile = attn_tile_cycles(mach, ATTN_BQ, ATTN_BK, a, macs, cached, &mma, &soft, &load)
        work = 0.0
        longest = 0.0
        for i in range(nq):
            rows = fmin(ATTN_BQ, q - i * ATTN_BQ)
            end = fmin(kv, kv - q + (i + 1) * ATTN_BQ) if a[A_CAUSAL] > 0 else kv
            # key tiles sit at absolute positions: the window's first key (of the tile's first
            # query row) rounds down to a tile boundary, the last key rounds up
            start = 0.0
            if win > 0:
                start = floor(fmax(0.0, end - rows - win + 1.0) / ATTN_BK) * ATTN_BK
            keys = ceil(end / ATTN_BK) * ATTN_BK - start
            unit_cyc = (keys / ATTN_BK) * tile + ATTN_BQ * (dqk + dv) * a[A_QBYTES] / mach[M_SMEM_BW]
            mma_s += mma * keys / ATTN_BK
            soft_s += soft * keys / ATTN_BK
            load_s += load * keys / ATTN_BK
            work += unit_cyc
            longest = fmax(longest, unit_cyc)
        units = batch * h * nq
        work *= batch * h
        waves = ceil(units / cores)
        t_core = fmax(work / cores, longest) / clock + waves * mach[M_ATTN_TILE]
        # Q read + O written once; K/V of every key some query can see read once per KV head
        # (the GQA group's CTAs share it through L2)
        keys = fmin(kv, win + q) if win > 0 else kv
        byts = batch * (q * h * (dqk + dv) * a[A_QBYTES] + hk * kv_width(a) * (
            fmin(keys, q) * a[A_QBYTES] + fmax(0.0, keys - q) * a[A_KVBYTES]))
        t_hbm = byts / hbm_bw
        body = pnorm3(t_core, t_hbm, 0.0, p)
        t = fixed + body
        if t - body > body:
            best_bound = B_OVERHEAD
        elif t_core >= t_hbm:
            best_bound = B_SRAM if load_s > fmax(mma_s, soft_s) else B_COMPUTE
        else:
            best_bound = B_HBM
        bound[0] = best_bound
        return t
    # ---- decode: split-KV; one CTA per (sequence, KV head, split); the GQA group of query
    # heads shares each K/V load (rows of the MMA = group, padded to the MMA granule)
    hbm_bw = mach[M_HBM_BW] * mach[M_DEC_EFF_MEM]
    kv_hist = fmax(0.0, kv - q)      # tokens already cached, whatever the window
    if win > 0:
        kv = fmin(kv, win)
    g = h / hk
    if mach[M_DEC_GROUP] > 0 and g > mach[M_DEC_GROUP] and dqk == dv:
        # the GQA decode kernel cannot hold a group this large: one CTA per query head, each
        # streaming its own copy of the K/V (what the measured kernels do above 32). MLA
        # kernels (latent K/V, qk head size != v head size) are built for 64-128 head groups
        # and keep sharing.
        hk = h
        g = 1.0
    # kernel family: a grouped CTA (g > 1) reading a 16-bit cache runs the library's
    # Ampere-style grouped kernel (TensorRT-LLM's HMMA XQA); each of its CTAs occupies an SM for
    # `attn_dec_cta16_s` beyond the per-wave latency, charged as throughput (CTAs x cost / cores):
    # a lone wave does not see it, a grid of thousands of CTAs does. Per-head (g = 1) and 8-bit
    # cache (Hopper QGMMA XQA) CTAs have no such term (docs/ENGINE.md "Decode", kernel families)
    cta16 = 0.0
    if g > 1.0 and a[A_KVBYTES] >= 2.0:
        cta16 = mach[M_DEC_CTA16]
    rows_pad = ceil(g * q / mach[M_TN_MIN]) * mach[M_TN_MIN]
    tile = attn_tile_cycles(mach, rows_pad, ATTN_BK, a, macs, 1.0, &mma, &soft, &load)
    # softmax work scales with the real rows, not the padding
    soft = soft * (g * q) / rows_pad
    tile = fmax(mma, fmax(soft, load))
    # split count: the fastest of KV_SPLITS, or (dec_split_rule = 1, grouped kernels) the
    # library's own rule, which counts the whole history, not the window (a sliding-window
    # decode gets as many CTAs as a full one, each with a sliver of the window's keys). MLA
    # kernels (qk head size != v head size) have their own rule: they keep the search.
    # The rule's wave cap gives a larger machine more splits, which can cost more than the
    # cores save; a larger machine can always run the launch the library makes for a smaller
    # one and leave cores idle, so the time is the best over c = cores, cores - 1, ... of the
    # rule's launch for c cores run on c cores (only where the split count changes, down to 1):
    # more cores are never slower.
    if mach[M_DEC_SPLIT_RULE] > 0 and g > 1.0 and dqk == dv:
        lib_split = 1
        s_lib = floor(kv_hist / SPLIT_HIST_TOKENS)
        s_lib = fmax(1.0, fmin(s_lib, floor(sqrt(8.0 * s_lib) + 0.5)))
    best_t = INFINITY
    si = 0
    c_run = cores
    s_prev = -1.0
    while True:
        if lib_split:
            if c_run < 1.0 and s_prev > 0.0:
                break
            s = s_lib
            nwave = batch * hk * s_lib / c_run
            if nwave > SPLIT_TARGET_WAVES:
                s = fmax(1.0, floor(s_lib / (nwave / SPLIT_TARGET_WAVES)))
            if s == s_prev:
                c_run -= 1.0
                continue
            s_prev = s
        else:
            if si >= NSPLITS:
                break
            s = KV_SPLITS[si]
            si += 1
            if s > 1 and (s * ATTN_BK > kv or batch * hk * s > 4.0 * cores):
                break
        units = batch * hk * s
        keys = ceil(ceil(kv / s) / ATTN_BK) * ATTN_BK
        unit_cyc = (keys / ATTN_BK) * tile + rows_pad * (dqk + dv) * a[A_QBYTES] / mach[M_SMEM_BW]
        waves = ceil(units / c_run)
        t_core = waves * (unit_cyc / clock + mach[M_DEC_TILE]) + units * cta16 / c_run
        byts = batch * (kv * hk * kv_width(a) * a[A_KVBYTES] + q * h * (dqk + dv) * a[A_QBYTES])
        if s > 1:
            byts += 2.0 * s * batch * h * q * (dv + 1.0) * 4.0   # fp32 partial O and row sums
        t_hbm = byts / hbm_bw
        body = pnorm3(t_core, t_hbm, 0.0, p)
        t = fixed + body
        if s > 1:
            t += mach[M_LAUNCH]      # partial results are combined by a second kernel
        if t < best_t:
            best_t = t
            if t - body > body:
                best_bound = B_OVERHEAD
            elif t_core >= t_hbm:
                best_bound = B_SRAM if load >= fmax(mma, soft) else B_COMPUTE
            else:
                best_bound = B_HBM
        if lib_split:
            if s <= 1.0:
                break
            # down to ceil(s x batch x kv_heads / 8) cores the rule keeps these s splits (fewer
            # cores only slow the same launch): continue from there
            c_run = fmin(c_run - 1.0, ceil(s * batch * hk / SPLIT_TARGET_WAVES))
    bound[0] = best_bound
    return best_t


def attn_one(const double[::1] mach, const double[::1] a, int prepass=1):
    """(seconds, bound code) of one attention call described by descriptor a (NATTN slots);
    prepass=0 leaves out the RoPE / KV-append pre-pass (see attn_batch)."""
    cdef int bound = 0
    cdef double t
    _check_machine(mach)
    if a.shape[0] != NATTN:
        raise ValueError(f"attention descriptor must have {NATTN} slots")
    with nogil:
        t = attn_core(mach, &a[0], &bound, prepass)
    return t, bound


def attn_batch(const double[::1] mach, const double[:, ::1] a, double[::1] out_t,
               signed char[::1] out_bound, int prepass=1):
    """Evaluate a.shape[0] attention calls (rows of NATTN descriptors). prepass=0: without the
    RoPE / KV-append pre-pass (its launch and memory pass), which the op table times itself."""
    cdef Py_ssize_t i, nrow = a.shape[0]
    cdef int bound = 0
    _check_machine(mach)
    if a.shape[1] != NATTN or out_t.shape[0] != nrow or out_bound.shape[0] != nrow:
        raise ValueError("attn_batch: bad shapes")
    with nogil:
        for i in range(nrow):
            out_t[i] = attn_core(mach, &a[i, 0], &bound, prepass)
            out_bound[i] = <signed char>bound


# --------------------------------------------------------------------------------- collectives
# op codes: chipletarch/engine/collectives.py OPS; algorithm codes: ALGOS
cdef enum:
    C_ALL_REDUCE = 0
    C_ALL_GATHER = 1
    C_REDUCE_SCATTER = 2
    C_ALL_TO_ALL = 3
    C_SEND_RECV = 4

cdef enum:
    ALG_RING = 0
    ALG_TREE = 1
    ALG_DIRECT = 2


# Direct (peer-to-peer) all-reduce kernels run one-shot up to this per-rank buffer and two-shot
# above it. The TensorRT-LLM custom all-reduce rows of h100_comm_calibration.csv follow the
# one-shot traffic, (n-1) x buffer into each rank, up to 1 MiB on 4 and 8 GPUs (8 GPUs, 512k
# bf16: 26.0 us measured, 27.4 one-shot, 9.6 two-shot) and the two-shot traffic from 2 MiB;
# vLLM's custom all-reduce switches at 256-512 KiB (always one-shot on 2 GPUs).
DEF ONESHOT_MAX_BYTES = 1048576.0


cdef double comm_core(const double[::1] mach, int op, int alg, double nbytes, double ranks,
                      double link_bw, double latency, int* bound) noexcept nogil:
    """Seconds of one collective over `ranks` devices; nbytes = the full buffer of one rank
    (all-reduce input, all-gather output, reduce-scatter input, all-to-all send buffer).

    t = call overhead + steps x (per-step latency + chunk fill) + bus_bytes / (eff x link
    bandwidth), where the
    steps and bus bytes per rank are the algorithm's: ring all-reduce 2(n-1) steps moving
    2(n-1)/n of the buffer; all-gather / reduce-scatter n-1 steps moving (n-1)/n; tree
    all-reduce 2 ceil(log2 n) steps; direct (peer-to-peer through a switch, as NVSwitch
    nodes do) all-reduce one-shot (1 step, n-1 buffers into each rank) up to ONESHOT_MAX_BYTES,
    two-shot (2 steps, 2(n-1)/n) above, other ops 1 step; all-to-all sends (n-1)/n of the buffer to n-1 peers
    at once; send/recv moves the whole buffer once."""
    cdef double steps, bus, n = ranks, t_bw, t_lat, t
    if n <= 1.0 or nbytes <= 0.0:
        bound[0] = B_OVERHEAD
        return 0.0
    if op == C_ALL_REDUCE:
        bus = 2.0 * (n - 1.0) / n * nbytes
        if alg == ALG_RING:
            steps = 2.0 * (n - 1.0)
        elif alg == ALG_TREE:
            steps = 2.0 * ceil(log2(n))
        elif nbytes <= ONESHOT_MAX_BYTES:
            # one-shot: every rank reads the n-1 peers' whole buffers and reduces locally
            bus = (n - 1.0) * nbytes
            steps = 1.0
        else:
            # two-shot: reduce-scatter then all-gather through the switch, one barrier each
            steps = 2.0
    elif op == C_ALL_GATHER or op == C_REDUCE_SCATTER:
        bus = (n - 1.0) / n * nbytes
        if alg == ALG_RING:
            steps = n - 1.0
        elif alg == ALG_TREE:
            steps = ceil(log2(n))
        else:
            steps = 1.0
    elif op == C_ALL_TO_ALL:
        bus = (n - 1.0) / n * nbytes
        steps = 1.0
    else:
        bus = nbytes
        steps = 1.0
    t_bw = bus / (link_bw * mach[M_EFF_LINK])
    if alg == ALG_DIRECT:
        # one kernel doing peer-to-peer loads/stores (TensorRT-LLM custom all-reduce style): its
        # overhead is one launch, its steps are barriers between the phases
        t_lat = mach[M_LAUNCH] + steps * latency
    else:
        # library call (NCCL: launch + proxy), then a pipeline of chunks: each step first has
        # to fill with one chunk before the ring streams at full bandwidth
        t_lat = mach[M_COMM_LAUNCH] + steps * (
            latency + fmin(mach[M_CHUNK], nbytes / n) / (link_bw * mach[M_EFF_LINK]))
    t = t_lat + t_bw
    bound[0] = B_OVERHEAD if t_lat > t_bw else 5   # 5 = link (BOUND_NAMES)
    return t


def comm_batch(const double[::1] mach, const long[::1] op, const long[::1] alg,
               const double[::1] nbytes, const double[::1] ranks, const double[::1] link_bw,
               const double[::1] latency, double[::1] out_t, signed char[::1] out_bound):
    """Evaluate len(op) collectives; link_bw/latency per row (from the graph path used)."""
    cdef Py_ssize_t i, nrow = op.shape[0]
    cdef int bound = 0
    _check_machine(mach)
    if not (alg.shape[0] == nrow and nbytes.shape[0] == nrow and ranks.shape[0] == nrow
            and link_bw.shape[0] == nrow and latency.shape[0] == nrow
            and out_t.shape[0] == nrow and out_bound.shape[0] == nrow):
        raise ValueError("comm_batch: arrays must have equal length")
    with nogil:
        for i in range(nrow):
            out_t[i] = comm_core(mach, <int>op[i], <int>alg[i], nbytes[i], ranks[i], link_bw[i],
                                 latency[i], &bound)
            out_bound[i] = <signed char>bound


# ------------------------------------------------------------------------- memory-bound ops
def stream_batch_raw(const double[::1] mach, const double[::1] r, const double[::1] w,
                     const double[::1] flops, const double[::1] sfu, const double[::1] warm_l2,
                     double[::1] out_t, signed char[::1] out_bound):
    """Memory-bound ops, no input checks (the caller guarantees equal lengths, NSLOTS machine
    slots and non-negative counts: `simulate` builds these arrays itself; the checked public
    path is chipletarch.engine.elementwise.elementwise_times).

    Row i: t = launch + p-norm(bytes / (eff_stream x memory bandwidth), FLOPs / vector peak,
    SFU ops / SFU peak) (0 when the row does no work), held to launch + warm_l2 / L2 bandwidth
    (inputs still in L2). Bound: compute if the vector time is the largest of vector, memory and
    L2 time, else memory or L2; overhead when the launch exceeds the rest."""
    cdef Py_ssize_t i, nrow = r.shape[0]
    cdef double per_s = mach[M_CORES] * mach[M_CLOCK]
    cdef double mem_bw = mach[M_HBM_BW] * mach[M_EFF_STREAM]
    cdef double vec = mach[M_VEC] * per_s, sf = mach[M_SFU] * per_s, l2_bw = mach[M_L2_BW]
    cdef double launch = mach[M_LAUNCH], p = mach[M_P]
    cdef double t_mem, t_vec, t_sfu, t_l2, mx, body, t
    cdef int b
    with nogil:
        for i in range(nrow):
            t_mem = (r[i] + w[i]) / mem_bw
            t_vec = flops[i] / vec
            t_sfu = sfu[i] / sf if sfu[i] > 0 else 0.0
            mx = fmax(fmax(t_mem, t_vec), t_sfu)
            if mx > 0:
                body = mx * pow(pow(t_mem / mx, p) + pow(t_vec / mx, p) + pow(t_sfu / mx, p),
                                1.0 / p)
            else:
                body = 0.0
            t = launch + body if (r[i] + w[i] + flops[i] + sfu[i]) > 0 else 0.0
            t_l2 = warm_l2[i] / l2_bw
            t = fmax(t, launch + t_l2)
            if t_vec >= fmax(t_mem, t_l2):
                b = B_COMPUTE
            elif t_mem >= t_l2:
                b = B_HBM
            else:
                b = B_L2
            if launch > t - launch:
                b = B_OVERHEAD
            out_t[i] = t
            out_bound[i] = <signed char>b
