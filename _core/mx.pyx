# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""OCP Microscaling (MX v1.0) numerics: block encode, decode and fused quantize, bit-exact.

Compiled core behind `chipletarch.mx`; call that module, not this one. Everything here works on
integer views of the input floats (float32 -> uint32, float64 -> uint64, bfloat16 -> uint16), so
the shared exponent is exact integer arithmetic. Element rounding has two implementations with
identical results: for float32/bf16 input a branch-free float path (`_encf`/`_enci`, used when the
FPU is in round-to-nearest-even without FTZ/DAZ), and the all-integer path described here (used
for float64 input and as the fallback):

* block max = max of |x| bit patterns (monotone in |x| for non-NaN values); a pattern with an
  all-ones exponent means the block holds NaN or Inf -> NaN scale (0xFF), codes 0, y NaN;
* shared exponent e = floor(log2(amax)) - emax_elem, with floor(log2) read from the exponent
  field (or from the highest set bit for subnormal inputs), clamped to the E8M0 range
  [-127, 127]; an all-zero block gets e = -127 (code 0);
* an element x = sig * 2^(xl - P) (P = 23 or 52, sig normalised to P+1 bits) is rounded
  half-to-even at its own element exponent te = max(xl - e, emin): the kept value is
  r = RNE(sig / 2^s) with s = P - M + max(0, emin - (xl - e)), and the element code magnitude is
  ((te - emin) << M) + r (a carry out of the mantissa moves into the exponent field, which is
  exactly IEEE rounding, and r < 2^M with te == emin is a subnormal); the magnitude is clamped to
  the max-normal code (saturation, never Inf/NaN), and the sign bit is attached (-0 kept);
* MXINT8: k = clamp(RNE(x / 2^e * 64), -127, 127), two's complement byte (no -0, no -128);
* decode: y = element_value[code] * 2^e in float32 (MXINT8: (int8)code * 2^(e-6)), exact: the
  product is a float32 value for every scale a float32/bf16 input can produce.

Element code layouts match ml_dtypes (float8_e4m3fn, float8_e5m2, float6_e3m2fn,
float6_e2m3fn, float4_e2m1fn viewed as uint8; FP6/FP4 right-aligned).
"""
from libc.stdint cimport int8_t, uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, free
from libc.math cimport ldexpf, ldexp, NAN, INFINITY

import numpy as np

cdef extern from *:
    """
    #include <stdint.h>
    static inline int ca_clz32(uint32_t x) { return __builtin_clz(x); }
    static inline int ca_clz64(uint64_t x) { return __builtin_clzll(x); }
    #include <string.h>
    static inline float ca_as_float(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
    static inline uint32_t ca_as_bits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }
    /* The float fast path relies on IEEE round-to-nearest-even and on subnormals being neither
       flushed (FTZ) nor treated as zero (DAZ). Check the x86 MXCSR (or the C rounding mode
       elsewhere) at every call; if something changed it, the exact integer path is used. */
    #if defined(__SSE2__) || defined(__x86_64__)
    #include <xmmintrin.h>
    static inline int ca_fp_env_ok(void) { return (_mm_getcsr() & 0xE040u) == 0; }
    #else
    #include <fenv.h>
    static inline int ca_fp_env_ok(void) { return fegetround() == FE_TONEAREST; }
    #endif
    """
    int ca_clz32(uint32_t x) nogil
    int ca_clz64(uint64_t x) nogil
    float ca_as_float(uint32_t b) nogil
    uint32_t ca_as_bits(float f) nogil
    int ca_fp_env_ok() nogil


cdef inline float _pow2f(int e) noexcept nogil:
    """2^e as float32 for e in [-149, 127], built from the bits (a libm ldexpf call per block
    costs as much as encoding the block)."""
    if e >= -126:
        return ca_as_float(<uint32_t>(e + 127) << 23)
    return ca_as_float(0x00400000u >> (-127 - e))

# Format ids (order of FMT_NAMES); chipletarch.mx maps registry names onto them.
FMT_NAMES = ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4_e2m1", "mxint8")
cdef enum:
    NFMT = 6

cdef struct Fmt:
    int is_int      # 1 for MXINT8
    int man         # mantissa bits M
    int emin        # exponent of the smallest normal (1 - bias)
    int emax        # emax_elem: exponent of the largest power of two
    int maxcode     # magnitude code of max normal (127 for INT8)
    int sign_shift  # position of the sign bit in the code (element bits - 1)
    int bits        # element bits

cdef Fmt _FMTS[NFMT]
# E4M3 (OCP "fn"): bias 7, S.1111.111 = NaN, max 1.75*2^8 = 448 -> code 0x7E
_FMTS[0] = Fmt(0, 3, -6, 8, 0x7E, 7, 8)
# E5M2: bias 15, exponent 31 = Inf/NaN, max 1.75*2^15 = 57344 -> code 0x7B
_FMTS[1] = Fmt(0, 2, -14, 15, 0x7B, 7, 8)
# E3M2: bias 3, no specials, max 1.75*2^4 = 28 -> code 0x1F
_FMTS[2] = Fmt(0, 2, -2, 4, 0x1F, 5, 6)
# E2M3: bias 1, no specials, max 1.875*2^2 = 7.5 -> code 0x1F
_FMTS[3] = Fmt(0, 3, 0, 2, 0x1F, 5, 6)
# E2M1: bias 1, no specials, max 1.5*2^2 = 6 -> code 0x7
_FMTS[4] = Fmt(0, 1, 0, 2, 0x7, 3, 4)
# INT8 with implicit 2^-6: max 127/64, emax_elem 0
_FMTS[5] = Fmt(1, 6, 0, 0, 127, 7, 8)

# Decode tables: element value of every code (NaN/Inf where the element has them; codes wider
# than the element are invalid and decode to NaN).
cdef float _TABLE[NFMT][256]


cdef void _build_tables():
    cdef int fid, c, mag, sgn, ef, mt, nbias
    cdef float v
    cdef Fmt f
    for fid in range(NFMT):
        f = _FMTS[fid]
        for c in range(256):
            if f.is_int:
                _TABLE[fid][c] = (<float>(c - 256 if c >= 128 else c)) / 64.0
                continue
            if c >= (1 << f.bits):
                _TABLE[fid][c] = NAN
                continue
            sgn = c >> f.sign_shift
            mag = c & ((1 << f.sign_shift) - 1)
            ef = mag >> f.man
            mt = mag & ((1 << f.man) - 1)
            nbias = 1 - f.emin
            if ef == 0:
                v = ldexpf(<float>mt, f.emin - f.man)
            else:
                v = ldexpf(<float>((1 << f.man) + mt), ef - nbias - f.man)
            if fid == 0 and mag == 0x7F:
                v = NAN
            elif fid == 1 and ef == 31:
                v = INFINITY if mt == 0 else NAN
            _TABLE[fid][c] = -v if sgn else v


_build_tables()


# Constants of the float fast path (see _encf), derived from the element format.
cdef struct FastK:
    uint32_t sh           # 23 - M: float32 mantissa bits dropped for a normal element
    uint32_t half_m1      # 2^(sh-1) - 1: round-half-even increment
    uint32_t bias_adj     # (127 + emin - 1) << M: float32 exponent bias -> element bias
    uint32_t minnorm_bits # float32 bits of 2^emin (smallest normal element)
    float magic           # 2^(emin - M + 23): its ulp is the element's subnormal step
    uint32_t magic_bits
    uint32_t maxcode
    uint32_t sign_shift

cdef FastK _FK[NFMT]


cdef void _build_fast():
    cdef int fid
    cdef Fmt f
    for fid in range(NFMT):
        f = _FMTS[fid]
        _FK[fid].sh = 23 - f.man
        _FK[fid].half_m1 = (1u << (22 - f.man)) - 1u
        _FK[fid].bias_adj = <uint32_t>((127 + f.emin - 1) << f.man)
        _FK[fid].minnorm_bits = ca_as_bits(_pow2f(f.emin))
        _FK[fid].magic = _pow2f(f.emin - f.man + 23)
        _FK[fid].magic_bits = ca_as_bits(_FK[fid].magic)
        _FK[fid].maxcode = <uint32_t>f.maxcode
        _FK[fid].sign_shift = <uint32_t>f.sign_shift
    # INT8: k = RNE(|q| * 64) by adding 2^23 (ulp 1)
    _FK[5].magic = 8388608.0
    _FK[5].magic_bits = ca_as_bits(_FK[5].magic)


_build_fast()


cdef inline uint8_t _encf(float xv, float inv, FastK k) noexcept nogil:
    """FP element of a float32 value under scale 2^e (inv = 2^-e), branch-free.

    q = x * 2^-e is exact (a power-of-two scaling that stays in range; values it underflows are
    far below half the element's smallest subnormal, so they round to 0 either way). Normal
    elements: round the float32 bit pattern half-to-even at the element's mantissa width; the
    carry runs into the exponent, and re-biasing gives the element code. Subnormal elements:
    |q| + 2^(emin-M+23) rounds |q| (by the FPU, to nearest even) to a multiple of the
    subnormal step; the bit difference counts the steps. Then saturate and attach the sign.
    """
    cdef uint32_t qb = ca_as_bits(xv * inv)
    cdef uint32_t sgn = qb >> 31
    cdef uint32_t a = qb & 0x7FFFFFFFu
    cdef uint32_t n = ((a + k.half_m1 + ((a >> k.sh) & 1u)) >> k.sh) - k.bias_adj
    cdef uint32_t sub = ca_as_bits(ca_as_float(a) + k.magic) - k.magic_bits
    # select with a mask, not a branch: which elements are subnormal is data-dependent
    cdef uint32_t m = 0u - <uint32_t>(a < k.minnorm_bits)
    cdef uint32_t code = (sub & m) | (n & ~m)
    code = k.maxcode if code > k.maxcode else code
    return <uint8_t>(code | (sgn << k.sign_shift))


cdef inline uint8_t _enci(float xv, float inv) noexcept nogil:
    """MXINT8 element of a float32 value under scale 2^e: clamp(RNE(|x| 2^-e 64), 127), signed."""
    cdef uint32_t qb = ca_as_bits(xv * inv)
    cdef uint32_t sgn = qb >> 31
    cdef float a = ca_as_float(qb & 0x7FFFFFFFu) * 64.0
    cdef uint32_t r = ca_as_bits(a + 8388608.0) - 0x4B000000u
    if r > 127u:
        r = 127u
    return <uint8_t>(((r ^ (0u - sgn)) + sgn) & 0xFFu)


ctypedef fused narrow_t:
    uint16_t
    uint32_t


cdef inline float _ldf(narrow_t b) noexcept nogil:
    """float32 value of a float32 or bfloat16 bit pattern (bf16 widens exactly)."""
    if narrow_t is uint16_t:
        return ca_as_float((<uint32_t>b) << 16)
    else:
        return ca_as_float(b)


cdef inline void _fast_block(const narrow_t* xf, uint8_t* cp, float* yp, Py_ssize_t n, int e,
                             FastK k, bint is_int, const float* tab, bint want_codes,
                             bint want_y) noexcept nogil:
    """Encode one block of float32 (or bf16) values with the float fast path (loops kept simple
    so the compiler can vectorise the codes-only case)."""
    cdef float inv = _pow2f(-e)
    cdef float sf = _pow2f(e)
    cdef Py_ssize_t j, j0, m
    cdef uint8_t buf[64]
    if want_y:
        # encode a chunk into a stack buffer (vectorisable), then decode it (a table gather)
        j0 = 0
        while j0 < n:
            m = n - j0 if n - j0 < 64 else 64
            if is_int:
                for j in range(m):
                    buf[j] = _enci(_ldf(xf[j0 + j]), inv)
            else:
                for j in range(m):
                    buf[j] = _encf(_ldf(xf[j0 + j]), inv, k)
            if want_codes:
                for j in range(m):
                    cp[j0 + j] = buf[j]
            for j in range(m):
                yp[j0 + j] = tab[buf[j]] * sf
            j0 += m
    elif is_int:
        for j in range(n):
            cp[j] = _enci(_ldf(xf[j]), inv)
    else:
        for j in range(n):
            cp[j] = _encf(_ldf(xf[j]), inv, k)


def decode_table(int fid):
    """The 256-entry float32 decode table of format id `fid` (for tests and oracles)."""
    if fid < 0 or fid >= NFMT:
        raise ValueError(f"bad MX format id {fid}")
    out = np.empty(256, dtype=np.float32)
    cdef float[::1] o = out
    cdef int c
    for c in range(256):
        o[c] = _TABLE[fid][c]
    return out


# ---------------------------------------------------------------------------------------------
# Shared exponent from the block max bit pattern.  Returns 128 for a NaN/Inf block.

cdef inline int _shared_exp32(uint32_t amax, int emax) noexcept nogil:
    cdef int fl, e
    if amax >= 0x7F800000u:
        return 128
    if amax == 0:
        return -127
    if amax >= 0x00800000u:
        fl = <int>(amax >> 23) - 127
    else:  # float32 subnormal: position of the highest set bit
        fl = (31 - ca_clz32(amax)) - 149
    e = fl - emax
    return -127 if e < -127 else e


cdef inline int _shared_exp64(uint64_t amax, int emax) noexcept nogil:
    cdef int fl, e
    if amax >= 0x7FF0000000000000ULL:
        return 128
    if amax == 0:
        return -127
    if amax >= 0x0010000000000000ULL:
        fl = <int>(amax >> 52) - 1023
    else:
        fl = (63 - ca_clz64(amax)) - 1074
    e = fl - emax
    # float64 input can exceed the E8M0 range: clamp (elements then saturate)
    if e > 127:
        return 127
    return -127 if e < -127 else e


# ---------------------------------------------------------------------------------------------
# One element, given the block's shared exponent e (not NaN).

cdef inline uint8_t _enc32(uint32_t b, int e, Fmt f) noexcept nogil:
    # f is passed by value so that, once inlined, its fields are registers: through a pointer
    # the compiler would reload them after every uint8 store (char stores may alias anything).
    cdef uint32_t ax = b & 0x7FFFFFFFu
    cdef uint32_t sgn = b >> 31
    cdef uint32_t sig, r, z
    cdef int xl, d, s, p, code
    if ax - 1u < 0x007FFFFFu:  # float32 subnormal input (rare): normalise, never flushed
        p = 31 - ca_clz32(ax)
        sig = ax << (23 - p)
        xl = p - 149
    else:                      # normal or zero, branch-free: a zero gets sig 0, xl far below
        z = <uint32_t>(ax == 0)
        sig = ((ax & 0x007FFFFFu) | 0x00800000u) & (z - 1u)
        xl = <int>(ax >> 23) - 127 - <int>(z << 8)
    if f.is_int:
        # k = RNE(sig * 2^(xl - 23 - e + 6)); xl <= e for finite input, so s >= 17
        s = 17 - xl + e
        if s > 31:
            s = 31
        r = (sig + ((1u << (s - 1)) - 1u) + ((sig >> s) & 1u)) >> s
        if r > 127u:
            r = 127u
        return <uint8_t>(((r ^ (0u - sgn)) + sgn) & 0xFFu)   # two's complement, no -0
    d = xl - e - f.emin                      # element exponent above emin (<0: subnormal)
    s = 23 - f.man - (d if d < 0 else 0)     # bits of sig dropped
    if s > 31:
        s = 31                               # sig < 2^24 < 2^30: rounds to 0, as it must
    r = (sig + ((1u << (s - 1)) - 1u) + ((sig >> s) & 1u)) >> s
    code = ((d if d > 0 else 0) << f.man) + <int>r
    if code > f.maxcode:
        code = f.maxcode                     # saturate to max normal
    return <uint8_t>(<uint32_t>code | (sgn << f.sign_shift))


cdef inline uint8_t _enc64(uint64_t b, int e, Fmt f) noexcept nogil:
    cdef uint64_t ax = b & 0x7FFFFFFFFFFFFFFFULL
    cdef uint32_t sgn = <uint32_t>(b >> 63)
    cdef uint64_t ef = ax >> 52
    cdef uint64_t sig, r
    cdef int xl, d, s, p, code
    if ef != 0:
        sig = (ax & 0x000FFFFFFFFFFFFFULL) | 0x0010000000000000ULL
        xl = <int>ef - 1023
    elif ax != 0:
        p = 63 - ca_clz64(ax)
        sig = ax << (52 - p)
        xl = p - 1074
    else:
        return 0 if f.is_int else <uint8_t>(sgn << f.sign_shift)
    if f.is_int:
        s = 46 - xl + e
        if s < 1:            # only when e was clamped at 127: far beyond max -> saturate
            r = 127
        else:
            if s > 63:
                s = 63
            r = (sig + ((1ULL << (s - 1)) - 1ULL) + ((sig >> s) & 1ULL)) >> s
            if r > 127:
                r = 127
        if sgn:
            return <uint8_t>((256 - <int>r) & 0xFF)
        return <uint8_t>r
    d = xl - e - f.emin
    if d > 1000:
        d = 1000             # keeps the shift below in int range; saturates anyway
    s = 52 - f.man - (d if d < 0 else 0)
    if s > 63:
        s = 63
    r = (sig + ((1ULL << (s - 1)) - 1ULL) + ((sig >> s) & 1ULL)) >> s
    code = ((d if d > 0 else 0) << f.man) + <int>r
    if code > f.maxcode:
        code = f.maxcode
    return <uint8_t>(<uint32_t>code | (sgn << f.sign_shift))


ctypedef fused bits_t:
    uint16_t
    uint32_t
    uint64_t


cdef inline int _block_exp(bits_t amax, int emax) noexcept nogil:
    if bits_t is uint64_t:
        return _shared_exp64(amax, emax)
    elif bits_t is uint32_t:
        return _shared_exp32(amax, emax)
    else:
        return _shared_exp32((<uint32_t>amax) << 16, emax)


cdef inline bits_t _absbits(bits_t b) noexcept nogil:
    if bits_t is uint64_t:
        return b & 0x7FFFFFFFFFFFFFFFULL
    elif bits_t is uint32_t:
        return b & 0x7FFFFFFFu
    else:
        return b & 0x7FFF


cdef inline uint8_t _enc(bits_t b, int e, Fmt f) noexcept nogil:
    if bits_t is uint64_t:
        return _enc64(b, e, f)
    elif bits_t is uint32_t:
        return _enc32(b, e, f)
    else:
        return _enc32((<uint32_t>b) << 16, e, f)


cdef int _encode_impl(const bits_t[:, :, ::1] xb, int fid, Py_ssize_t bs,
                      uint8_t[:, :, ::1] codes, uint8_t[:, :, ::1] scales,
                      float[:, :, ::1] y, bint want_codes, bint want_y,
                      bint fast) noexcept nogil:
    """Encode (and/or quantize) x viewed as (outer, L, inner), blocks along the middle axis.

    fast: use the float fast path for float32/bf16 input (same results; see _encf)."""
    cdef Fmt f = _FMTS[fid]
    cdef FastK k = _FK[fid]
    cdef const float* tab = _TABLE[fid]
    cdef Py_ssize_t nout = xb.shape[0], L = xb.shape[1], inner = xb.shape[2]
    cdef Py_ssize_t o, blk, j, j0, j1, i, nb = (L + bs - 1) // bs
    cdef bits_t amax, a
    cdef int e
    cdef uint8_t c
    cdef float sf
    cdef const bits_t* xp
    cdef uint8_t* cp
    cdef float* yp
    cdef bits_t* amax_buf
    cdef int* e_buf
    cdef float* sf_buf
    cdef float* inv_buf
    cdef uint8_t* keep_buf
    cdef uint8_t* row_buf
    cp = NULL
    yp = NULL
    if inner == 1:
        for o in range(nout):
            for blk in range(nb):
                j0 = blk * bs
                j1 = j0 + bs
                if j1 > L:
                    j1 = L
                xp = &xb[o, j0, 0]
                cp = &codes[o, j0, 0] if want_codes else NULL
                yp = &y[o, j0, 0] if want_y else NULL
                amax = 0
                for j in range(j1 - j0):
                    a = _absbits(xp[j])
                    if a > amax:
                        amax = a
                e = _block_exp(amax, f.emax)
                if e == 128:  # NaN / Inf in the block (convention: whole block NaN)
                    scales[o, blk, 0] = 0xFF
                    for j in range(j1 - j0):
                        if want_codes:
                            cp[j] = 0
                        if want_y:
                            yp[j] = NAN
                    continue
                scales[o, blk, 0] = <uint8_t>(e + 127)
                if bits_t is not uint64_t:
                    if fast:
                        _fast_block(xp, cp, yp, j1 - j0, e, k, f.is_int, tab, want_codes,
                                    want_y)
                        continue
                sf = _pow2f(e)
                if want_codes and want_y:
                    for j in range(j1 - j0):
                        c = _enc(xp[j], e, f)
                        cp[j] = c
                        yp[j] = tab[c] * sf
                elif want_codes:
                    for j in range(j1 - j0):
                        cp[j] = _enc(xp[j], e, f)
                else:
                    for j in range(j1 - j0):
                        yp[j] = tab[_enc(xp[j], e, f)] * sf
        return 0
    # Blocks run along a strided axis: keep one running max / exponent per inner column so
    # every row of the block is read contiguously.
    amax_buf = <bits_t*>malloc(inner * sizeof(bits_t))
    e_buf = <int*>malloc(inner * sizeof(int))
    sf_buf = <float*>malloc(inner * sizeof(float))
    inv_buf = <float*>malloc(inner * sizeof(float))
    keep_buf = <uint8_t*>malloc(inner * sizeof(uint8_t))
    row_buf = <uint8_t*>malloc(inner * sizeof(uint8_t))
    if (amax_buf == NULL or e_buf == NULL or sf_buf == NULL or inv_buf == NULL
            or keep_buf == NULL or row_buf == NULL):
        free(amax_buf)
        free(e_buf)
        free(sf_buf)
        free(inv_buf)
        free(keep_buf)
        free(row_buf)
        return -1
    for o in range(nout):
        for blk in range(nb):
            j0 = blk * bs
            j1 = j0 + bs
            if j1 > L:
                j1 = L
            for i in range(inner):
                amax_buf[i] = 0
            for j in range(j0, j1):
                xp = &xb[o, j, 0]
                for i in range(inner):
                    a = _absbits(xp[i])
                    if a > amax_buf[i]:
                        amax_buf[i] = a
            for i in range(inner):
                e = _block_exp(amax_buf[i], f.emax)
                e_buf[i] = e
                if e == 128:
                    scales[o, blk, i] = 0xFF
                    sf_buf[i] = NAN
                    inv_buf[i] = 0.0
                    keep_buf[i] = 0     # NaN block: codes 0 (its NaN/Inf elements give junk)
                else:
                    scales[o, blk, i] = <uint8_t>(e + 127)
                    sf_buf[i] = _pow2f(e)
                    inv_buf[i] = _pow2f(-e)
                    keep_buf[i] = 0xFF
            if bits_t is not uint64_t:
                if fast:
                    for j in range(j0, j1):
                        xp = &xb[o, j, 0]
                        # codes of this row (into the output, or a row buffer for quantize)
                        cp = &codes[o, j, 0] if want_codes else row_buf
                        if f.is_int:
                            for i in range(inner):
                                cp[i] = _enci(_ldf(xp[i]), inv_buf[i]) & keep_buf[i]
                        else:
                            for i in range(inner):
                                cp[i] = _encf(_ldf(xp[i]), inv_buf[i], k) & keep_buf[i]
                        if want_y:
                            yp = &y[o, j, 0]
                            for i in range(inner):
                                yp[i] = tab[cp[i]] * sf_buf[i]   # NaN scale -> NaN
                    continue
            for j in range(j0, j1):
                xp = &xb[o, j, 0]
                for i in range(inner):
                    e = e_buf[i]
                    if e == 128:
                        c = 0
                    else:
                        c = _enc(xp[i], e, f)
                    if want_codes:
                        codes[o, j, i] = c
                    if want_y:
                        y[o, j, i] = tab[c] * sf_buf[i]   # NaN scale -> NaN
    free(amax_buf)
    free(e_buf)
    free(sf_buf)
    free(inv_buf)
    free(keep_buf)
    free(row_buf)
    return 0


def encode(xb, int fid, Py_ssize_t block_size, codes, scales, y, bint exact_int_path=False):
    """Encode xb (uint16/uint32/uint64 bit patterns, C-contiguous, shape (outer, L, inner)).

    codes (uint8, same shape) and/or y (float32, same shape) may be None; scales is uint8 of
    shape (outer, ceil(L / block_size), inner). Writes into the given arrays.
    exact_int_path forces the all-integer element rounding for float32/bf16 input (the float fast
    path is used otherwise, when the FPU rounds to nearest-even without FTZ/DAZ); both give
    identical results, which the tests check.
    """
    if fid < 0 or fid >= NFMT:
        raise ValueError(f"bad MX format id {fid}")
    if block_size < 1:
        raise ValueError("block_size must be >= 1")
    cdef bint want_codes = codes is not None
    cdef bint want_y = y is not None
    dummy_c = np.zeros((1, 1, 1), dtype=np.uint8)
    dummy_y = np.zeros((1, 1, 1), dtype=np.float32)
    cdef uint8_t[:, :, ::1] cv = codes if want_codes else dummy_c
    cdef uint8_t[:, :, ::1] sv = scales
    cdef float[:, :, ::1] yv = y if want_y else dummy_y
    cdef const uint16_t[:, :, ::1] x16
    cdef const uint32_t[:, :, ::1] x32
    cdef const uint64_t[:, :, ::1] x64
    cdef int rc
    cdef bint fast = (not exact_int_path) and ca_fp_env_ok()
    if xb.dtype == np.uint32:
        x32 = xb
        with nogil:
            rc = _encode_impl(x32, fid, block_size, cv, sv, yv, want_codes, want_y, fast)
    elif xb.dtype == np.uint64:
        x64 = xb
        with nogil:
            rc = _encode_impl(x64, fid, block_size, cv, sv, yv, want_codes, want_y, False)
    elif xb.dtype == np.uint16:
        x16 = xb
        with nogil:
            rc = _encode_impl(x16, fid, block_size, cv, sv, yv, want_codes, want_y, fast)
    else:
        raise TypeError(f"unsupported bit-pattern dtype {xb.dtype}")
    if rc != 0:
        raise MemoryError("mx encode: out of memory for per-column buffers")


def decode(const uint8_t[:, :, ::1] codes, const uint8_t[:, :, ::1] scales, int fid,
           Py_ssize_t block_size, float[:, :, ::1] y):
    """y = element_value[codes] * 2^(scale - 127) (NaN where scale == 255), shapes as encode."""
    if fid < 0 or fid >= NFMT:
        raise ValueError(f"bad MX format id {fid}")
    if block_size < 1:
        raise ValueError("block_size must be >= 1")
    cdef const float* tab = _TABLE[fid]
    cdef Py_ssize_t nout = codes.shape[0], L = codes.shape[1], inner = codes.shape[2]
    cdef Py_ssize_t o, j, j0, j1, i, blk, nb = (L + block_size - 1) // block_size
    cdef float sf
    cdef uint8_t s
    cdef const uint8_t* cp
    cdef float* yp
    cdef bint is_int = _FMTS[fid].is_int
    cdef float* sf_buf = <float*>malloc(inner * sizeof(float))
    if sf_buf == NULL:
        raise MemoryError("mx decode: out of memory for per-column buffers")
    with nogil:
        for o in range(nout):
            for blk in range(nb):
                j0 = blk * block_size
                j1 = j0 + block_size
                if j1 > L:
                    j1 = L
                if inner == 1:
                    s = scales[o, blk, 0]
                    cp = &codes[o, j0, 0]
                    yp = &y[o, j0, 0]
                    if is_int:
                        # k * 2^(e-6): an int->float conversion instead of a table gather, so
                        # the loop vectorises; exact (the product is a float32, possibly
                        # subnormal, value)
                        sf = NAN if s == 0xFF else _pow2f(<int>s - 133)
                        for j in range(j1 - j0):
                            yp[j] = <float>(<int8_t>cp[j]) * sf
                    else:
                        sf = NAN if s == 0xFF else _pow2f(<int>s - 127)
                        for j in range(j1 - j0):
                            yp[j] = tab[cp[j]] * sf
                else:
                    for i in range(inner):
                        s = scales[o, blk, i]
                        sf_buf[i] = NAN if s == 0xFF else _pow2f(<int>s - 127)
                    for j in range(j0, j1):
                        cp = &codes[o, j, 0]
                        yp = &y[o, j, 0]
                        for i in range(inner):
                            yp[i] = tab[cp[i]] * sf_buf[i]
    free(sf_buf)


def pack(const uint8_t[::1] codes, int bits):
    """Pack right-aligned codes densely at `bits` (4, 6 or 8) per code, little-endian bit order.

    4 bits: code 2k in the low nibble of byte k, code 2k+1 in the high nibble.
    6 bits: four codes c0..c3 form the 24-bit word c0 | c1<<6 | c2<<12 | c3<<18, stored as 3
    bytes, least significant first. A partial last group is zero-padded.
    """
    cdef Py_ssize_t n = codes.shape[0], k, g, nbytes
    cdef uint32_t w
    if bits == 8:
        return np.array(codes, dtype=np.uint8, copy=True)
    if bits not in (4, 6):
        raise ValueError("pack: bits must be 4, 6 or 8")
    nbytes = (n * bits + 7) // 8
    out = np.zeros(nbytes, dtype=np.uint8)
    cdef uint8_t[::1] ov = out
    with nogil:
        if bits == 4:
            for k in range(n):
                if k & 1:
                    ov[k >> 1] |= <uint8_t>((codes[k] & 0xF) << 4)
                else:
                    ov[k >> 1] |= <uint8_t>(codes[k] & 0xF)
        else:
            g = 0
            while g < n:
                w = 0
                for k in range(4):
                    if g + k < n:
                        w |= (<uint32_t>(codes[g + k] & 0x3F)) << (6 * k)
                k = (g // 4) * 3
                ov[k] = <uint8_t>(w & 0xFF)
                if k + 1 < nbytes:
                    ov[k + 1] = <uint8_t>((w >> 8) & 0xFF)
                if k + 2 < nbytes:
                    ov[k + 2] = <uint8_t>((w >> 16) & 0xFF)
                g += 4
    return out


def unpack(const uint8_t[::1] packed, Py_ssize_t n, int bits):
    """Inverse of `pack`: n right-aligned codes."""
    cdef Py_ssize_t k, g, b
    cdef uint32_t w
    if bits == 8:
        return np.array(packed[:n], dtype=np.uint8, copy=True)
    if bits not in (4, 6):
        raise ValueError("unpack: bits must be 4, 6 or 8")
    if packed.shape[0] < (n * bits + 7) // 8:
        raise ValueError("unpack: packed buffer too short")
    out = np.empty(n, dtype=np.uint8)
    cdef uint8_t[::1] ov = out
    cdef Py_ssize_t nbytes = packed.shape[0]
    with nogil:
        if bits == 4:
            for k in range(n):
                ov[k] = (packed[k >> 1] >> 4) if (k & 1) else (packed[k >> 1] & 0xF)
        else:
            g = 0
            while g < n:
                b = (g // 4) * 3
                w = packed[b]
                if b + 1 < nbytes:
                    w |= (<uint32_t>packed[b + 1]) << 8
                if b + 2 < nbytes:
                    w |= (<uint32_t>packed[b + 2]) << 16
                for k in range(4):
                    if g + k < n:
                        ov[g + k] = <uint8_t>((w >> (6 * k)) & 0x3F)
                g += 4
    return out


def cast(const uint32_t[::1] xb, int fid, uint8_t[::1] out):
    """Round finite float32 values (bit patterns) to a floating-point element format with no
    block scale (scale 2^0): round half to even, subnormals kept, saturating to +-max normal.
    Used for per-tensor FP8, NVFP4 and block-FP8 scaling, whose scales are not powers of two.
    Non-finite inputs are not allowed (the caller handles them)."""
    if fid < 0 or fid >= NFMT or _FMTS[fid].is_int:
        raise ValueError(f"cast: format id {fid} is not a floating-point MX element")
    if out.shape[0] != xb.shape[0]:
        raise ValueError("cast: output length differs from input length")
    cdef Fmt f = _FMTS[fid]
    cdef Py_ssize_t i, n = xb.shape[0]
    with nogil:
        for i in range(n):
            out[i] = _enc32(xb[i], 0, f)
