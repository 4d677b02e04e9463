"""Benchmark: MX encode + decode throughput of chipletarch's Cython core vs plain numpy.

For each MX format, on N float32 values (default 16 Mi = 2^24, standard normal, seed 0), one
thread:

* chipletarch: `mx_encode` (codes + E8M0 scales) then `mx_decode` (float32), best of --repeat;
  also the fused `mx_quantize` round trip;
* numpy: `numpy_mx_encode` / `numpy_mx_decode` below, a plain vectorised numpy implementation of
  the same algorithm (exact floor(log2) from the float bits, float64 scaling, numpy.rint for
  round-half-even at the element's exponent, saturation, NaN blocks), best of --np-repeat;
* results are checked to be bit-identical, then elements/s, the speed ratio and the peak memory
  allocated during encode+decode (tracemalloc, which sees numpy's buffers) are printed.

Run:  python benchmarks/bench_mx.py            (about 30 s on a quiet 2-core box)
      python benchmarks/bench_mx.py --n 1000000 --formats mxfp4_e2m1
"""
from __future__ import annotations

import argparse
import os
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from chipletarch.formats import get_format  # noqa: E402
from chipletarch.mx import MX_FORMATS, mx_decode, mx_decode_table, mx_encode, mx_quantize  # noqa: E402

# element parameters: (M mantissa bits, emin, max-normal code magnitude, sign bit position)
_ELEM = {
    "mxfp8_e4m3": (3, -6, 0x7E, 7),
    "mxfp8_e5m2": (2, -14, 0x7B, 7),
    "mxfp6_e3m2": (2, -2, 0x1F, 5),
    "mxfp6_e2m3": (3, 0, 0x1F, 5),
    "mxfp4_e2m1": (1, 0, 0x7, 3),
    "mxint8": (None, None, 127, 7),
}


def numpy_mx_encode(x: np.ndarray, fmt: str, block_size: int = 32):
    """Plain numpy MX encode of a float32 array along its last axis -> (codes, scales)."""
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/Inf blocks are masked at the end
        return _numpy_mx_encode(x, fmt, block_size)


def _numpy_mx_encode(x, fmt, block_size):
    f = get_format(fmt)
    man, emin, maxcode, sign_shift = _ELEM[f.name]
    n = x.shape[-1]
    nb = -(-n // block_size)
    if n % block_size:
        xp = np.zeros(x.shape[:-1] + (nb * block_size,), np.float32)
        xp[..., :n] = x
    else:
        xp = x
    xb = xp.reshape(-1, block_size)
    ab = xb.view(np.uint32) & np.uint32(0x7FFFFFFF)
    amax = ab.max(axis=1)
    special = amax >= 0x7F800000
    expf = (amax >> 23).astype(np.int32)
    # exact floor(log2 amax): the exponent field, or frexp for float32 subnormals
    fl = np.where(expf > 0, expf - 127, np.frexp(amax.view(np.float32))[1] - 1)
    e = np.where(amax == 0, -127, np.maximum(fl - f.emax, -127))
    e = np.where(special, 0, e)
    q = xb.astype(np.float64) * np.ldexp(1.0, -e)[:, None]
    if man is None:  # MXINT8
        k = np.clip(np.rint(q * 64.0), -127, 127).astype(np.int8)
        codes = k.view(np.uint8)
    else:
        aq = np.minimum(np.abs(q), f.max_normal)
        te = np.maximum(np.where(aq > 0, np.frexp(aq)[1] - 1, emin), emin)
        r = np.rint(np.ldexp(aq, man - te)).astype(np.int32)     # aq / 2^(te - M), RNE
        code = np.minimum(((te - emin) << man) + r, maxcode)
        codes = (code | (np.signbit(q).astype(np.int32) << sign_shift)).astype(np.uint8)
    codes[special] = 0
    scales = np.where(special, 255, e + 127).astype(np.uint8)
    codes = codes.reshape(xp.shape)[..., :n]
    return codes, scales.reshape(x.shape[:-1] + (nb,))


def numpy_mx_decode(codes: np.ndarray, scales: np.ndarray, fmt: str,
                    block_size: int = 32) -> np.ndarray:
    """Plain numpy MX decode (last axis) -> float32."""
    table = mx_decode_table(fmt)
    n = codes.shape[-1]
    with np.errstate(over="ignore"):  # 2^128 for the NaN code, replaced by NaN
        sf = np.where(scales == 255, np.float32(np.nan),
                      np.ldexp(np.float32(1.0), scales.astype(np.int32) - 127)).astype(np.float32)
    sf = np.repeat(sf, block_size, axis=-1)[..., :n]
    return table[codes] * sf


def _best(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _peak(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, out


def _same(a, b):
    return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1 << 24, help="values (default 2^24 = 16 Mi)")
    ap.add_argument("--repeat", type=int, default=7, help="timing repeats, chipletarch")
    ap.add_argument("--np-repeat", type=int, default=3, help="timing repeats, numpy")
    ap.add_argument("--formats", nargs="*", default=list(MX_FORMATS))
    args = ap.parse_args(argv)

    x = np.random.default_rng(0).standard_normal(args.n, dtype=np.float32)
    mb = x.nbytes / 1e6
    print(f"MX encode+decode, {args.n:,} float32 values ({mb:.0f} MB), N(0,1), one thread")
    print(f"{'format':<12} {'ours Melem/s':>12} {'enc ms':>7} {'dec ms':>7} {'quant Melem/s':>13}"
          f" {'numpy Melem/s':>13} {'ratio':>6} {'peak ours MB':>12} {'peak numpy MB':>13}")
    for fmt in args.formats:  # warm-up: first touch of code, tables and allocator
        mx_decode(mx_encode(x[: 1 << 20], fmt))
        numpy_mx_decode(*numpy_mx_encode(x[: 1 << 16], fmt), fmt)
    for fmt in args.formats:
        t_enc, m = _best(lambda: mx_encode(x, fmt), args.repeat)
        t_dec, y = _best(lambda: mx_decode(m), args.repeat)
        t_q, yq = _best(lambda: mx_quantize(x, fmt), args.repeat)
        t_np, (cn, sn, yn) = _best(
            lambda: (lambda cs: (*cs, numpy_mx_decode(cs[0], cs[1], fmt)))(
                numpy_mx_encode(x, fmt)), args.np_repeat)
        if not (np.array_equal(cn, m.codes) and np.array_equal(sn, m.scales) and _same(yn, y)
                and _same(yq, y)):
            raise SystemExit(f"{fmt}: numpy and chipletarch results differ")
        del cn, sn, yn, yq, y
        peak_ours, _ = _peak(lambda: mx_decode(mx_encode(x, fmt)))
        peak_np, _ = _peak(lambda: numpy_mx_decode(*numpy_mx_encode(x, fmt), fmt))
        ours = args.n / (t_enc + t_dec) / 1e6
        nps = args.n / t_np / 1e6
        print(f"{fmt:<12} {ours:12.0f} {t_enc * 1e3:7.1f} {t_dec * 1e3:7.1f}"
              f" {args.n / t_q / 1e6:13.0f} {nps:13.1f} {ours / nps:6.1f}"
              f" {peak_ours / 1e6:12.1f} {peak_np / 1e6:13.1f}")
    print("peak = bytes allocated during one encode+decode (outputs included: codes "
          f"{args.n / 1e6:.0f} MB + scales + float32 output {4 * args.n / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
