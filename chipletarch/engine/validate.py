"""Validate (and, with --fit, calibrate) the engine's kernel models on measured H100 silicon.

    python -m chipletarch.engine.validate            # regenerate docs/VALIDATION.md figures + PNG
    python -m chipletarch.engine.validate --fit      # refit the efficiency parameters, print them

Data: tests/data/silicon/*.csv (copies of shared/reference/silicon, described in its README.md).
Split: shapes are grouped (same m,n,k for GEMMs; same shape for attention/collectives) and 30 %
of the groups are held out with a fixed seed (0); parameters are fitted on the other 70 % only.
The baseline on the same rows is a calibrated roofline: max(FLOPs / (a x peak), bytes / (b x
HBM)) + c, with a, b, c fitted on the same training rows by least squares in log space.
"""
from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import fmt as F
from .attention import attention_descriptor, attention_times
from .collectives import collective_times
from .gemm import gemm_times
from .machine import IDX, h100_sxm

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "silicon"
DOCS = ROOT / "docs"
SEED = 0
HOLDOUT = 0.30
GEMM_FMT = {"bfloat16": "bf16", "fp8": "fp8_e4m3", "fp8_block": "fp8_block"}


def _read(name):
    with open(DATA / name, newline="") as fh:
        return list(csv.DictReader(fh))


def holdout_mask(keys, frac=HOLDOUT, seed=SEED) -> np.ndarray:
    """True for rows whose group key falls in the held-out share (fixed seed, split by shape)."""
    uniq = sorted(set(keys))
    rng = np.random.default_rng(seed)
    held = set(uniq[i] for i in rng.choice(len(uniq), int(round(frac * len(uniq))), replace=False))
    return np.array([k in held for k in keys])


@dataclass
class GemmData:
    dtype: np.ndarray
    m: np.ndarray
    n: np.ndarray
    k: np.ndarray
    t: np.ndarray
    held: np.ndarray

    @property
    def fmt(self):
        return np.array([GEMM_FMT[d] for d in self.dtype], dtype=object)


def load_gemm() -> GemmData:
    rows = _read("h100_gemm_calibration.csv")
    m = np.array([int(r["m"]) for r in rows], dtype=np.int64)
    n = np.array([int(r["n"]) for r in rows], dtype=np.int64)
    k = np.array([int(r["k"]) for r in rows], dtype=np.int64)
    held = holdout_mask(list(zip(m.tolist(), n.tolist(), k.tolist())))
    return GemmData(np.array([r["dtype"] for r in rows]), m, n, k,
                    np.array([float(r["latency_ms"]) * 1e-3 for r in rows]), held)


def err_stats(pred, meas) -> tuple[float, float, int]:
    e = np.abs(pred / meas - 1.0) * 100.0
    if e.size == 0:
        return float("nan"), float("nan"), 0
    return float(np.median(e)), float(np.percentile(e, 90)), int(e.size)


@dataclass
class AttnData:
    phase: np.ndarray
    desc: np.ndarray
    t: np.ndarray
    held: np.ndarray
    flops: np.ndarray
    byts: np.ndarray
    bits: np.ndarray


ATTN_DT = {"bfloat16": "bf16", "fp8": "fp8_e4m3"}


def attn_v_dim(head_dim: int) -> int:
    """V head size of a calibration row. The CSV gives one head_dim; the 192 rows fit better
    with v = 192 than with MLA's v = 128 (median ratio 0.91 vs 0.83), so v = head_dim."""
    return head_dim


def load_attn() -> AttnData:
    rows = _read("h100_attention_calibration.csv")
    desc, keys, flops, byts = [], [], [], []
    for r in rows:
        ctx = r["phase"] == "context"
        b, isl, step = int(r["batch_size"]), int(r["isl"]), int(r["step"])
        h, hk, d = int(r["num_heads"]), int(r["num_key_value_heads"]), int(r["head_dim"])
        w = int(r["window_size"])
        dv = attn_v_dim(d)
        q, kvc = (isl, 0) if ctx else (1, step)
        a = attention_descriptor("prefill" if ctx else "decode", b, q, kvc, h, hk, d,
                                 ATTN_DT[r["attn_dtype"]], ATTN_DT[r["kv_cache_dtype"]], w, dv)
        desc.append(a)
        keys.append((r["phase"], b, isl, step, h, hk, d, w))
        kv = kvc + q
        i = np.arange(q)
        vis = kv - q + i + 1
        if w > 0:
            vis = np.minimum(vis, w)
        flops.append(2.0 * b * h * (d + dv) * float(vis.sum()))
        kvtok = min(kv, w) if (w > 0 and not ctx) else kv
        byts.append(b * (q * h * (d + dv) * a[11] + kvtok * hk * (d + dv) * a[12]))
    desc = np.array(desc)
    return AttnData(np.array([r["phase"] for r in rows]), desc,
                    np.array([float(r["latency_ms"]) * 1e-3 for r in rows]), holdout_mask(keys),
                    np.array(flops), np.array(byts), desc[:, 10])


@dataclass
class CommData:
    library: np.ndarray
    op: np.ndarray
    algo: np.ndarray
    nbytes: np.ndarray
    ranks: np.ndarray
    t: np.ndarray
    held: np.ndarray


COMM_BYTES = {"half": 2, "bfloat16": 2, "int8": 1, "float": 4}


def load_comm() -> CommData:
    """NCCL runs ring algorithms on these sizes; TensorRT-LLM's custom all-reduce is a
    one-shot/two-shot peer-to-peer kernel through NVSwitch ("direct")."""
    rows = _read("h100_comm_calibration.csv")
    nbytes = np.array([int(r["message_size"]) * COMM_BYTES[r["dtype"]] for r in rows], float)
    keys = [(r["library"], r["op"], r["num_gpus"], r["message_size"]) for r in rows]
    return CommData(np.array([r["library"] for r in rows]), np.array([r["op"] for r in rows]),
                    np.array(["ring" if r["library"] == "nccl" else "direct" for r in rows]),
                    nbytes, np.array([int(r["num_gpus"]) for r in rows], float),
                    np.array([float(r["latency_ms"]) * 1e-3 for r in rows]), holdout_mask(keys))


# ----------------------------------------------------------------------------- fitting

GEMM_FIT = ("l2_bw", "launch_s", "mem_latency_s", "eff_mat_16", "eff_mat_8", "eff_mem",
            "overlap_p", "rescale_exposed", "quant_tensor_s", "quant_block_s", "smem_bw",
            "scale_drain_cycles")
# bounds keep every fitted value physical (efficiencies <= 1, latencies of microsecond order)
GEMM_BOUNDS = {
    "l2_bw": (3e12, 20e12), "launch_s": (0.5e-6, 6e-6), "mem_latency_s": (0.0, 3e-6),
    "eff_mat_16": (0.5, 1.0), "eff_mat_8": (0.4, 1.0), "eff_mem": (0.5, 1.0),
    "overlap_p": (1.0, 60.0), "rescale_exposed": (0.0, 1.0), "quant_tensor_s": (0.0, 20e-6),
    "quant_block_s": (0.0, 10e-6), "smem_bw": (16.0, 256.0), "scale_drain_cycles": (0.0, 1000.0),
}


def _apply(mach, names, x):
    mach = mach.copy()
    for nm, v in zip(names, x):
        mach[IDX[nm]] = v
    return mach


def fit_gemm(data: GemmData, base=None):
    """Least squares on log(pred/meas) over the training rows (robust soft-L1 loss)."""
    from scipy.optimize import least_squares  # noqa: PLC0415 (fit-time only dependency)

    base = h100_sxm().to_array() if base is None else base
    tr = ~data.held
    fmts = data.fmt[tr]
    lo = np.array([GEMM_BOUNDS[n][0] for n in GEMM_FIT])
    hi = np.array([GEMM_BOUNDS[n][1] for n in GEMM_FIT])
    scale = hi - lo

    def resid(z):
        mach = _apply(base, GEMM_FIT, lo + z * scale)
        pred, _ = gemm_times(mach, data.m[tr], data.n[tr], data.k[tr], fmts, l2_warm=True)
        return np.log(pred / data.t[tr])

    z0 = np.clip((np.array([base[IDX[n]] for n in GEMM_FIT]) - lo) / scale, 0.0, 1.0)
    sol = least_squares(resid, z0, bounds=(0.0, 1.0), loss="soft_l1", f_scale=0.05,
                        diff_step=1e-3, max_nfev=300)
    return dict(zip(GEMM_FIT, (lo + sol.x * scale).tolist()))


ATTN_FIT = ("eff_mat_attn", "eff_sfu", "attn_tile_s", "attn_dec_eff_mem", "attn_fixed_s",
            "attn_dec_fixed_s")
ATTN_BOUNDS = {"eff_mat_attn": (0.2, 1.0), "eff_sfu": (0.2, 1.0), "attn_tile_s": (0.0, 20e-6),
               "attn_dec_eff_mem": (0.3, 1.0), "attn_fixed_s": (0.0, 30e-6),
               "attn_dec_fixed_s": (0.0, 30e-6)}


def fit_params(names, bounds, predict, meas, base):
    """Bounded robust least squares of log(pred/meas) over the named machine slots."""
    from scipy.optimize import least_squares  # noqa: PLC0415 (fit-time only dependency)

    lo = np.array([bounds[n][0] for n in names])
    hi = np.array([bounds[n][1] for n in names])
    scale = hi - lo

    def resid(z):
        return np.log(predict(_apply(base, names, lo + z * scale)) / meas)

    z0 = np.clip((np.array([base[IDX[n]] for n in names]) - lo) / scale, 0.0, 1.0)
    sol = least_squares(resid, z0, bounds=(0.0, 1.0), loss="soft_l1", f_scale=0.05,
                        diff_step=1e-3, max_nfev=300)
    return dict(zip(names, (lo + sol.x * scale).tolist()))


COMM_FIT = ("eff_link", "link_latency_s", "comm_launch_s", "comm_chunk_bytes")
COMM_BOUNDS = {"eff_link": (0.3, 1.0), "link_latency_s": (0.0, 10e-6),
               "comm_launch_s": (0.0, 20e-6), "comm_chunk_bytes": (0.0, 16e6)}


def fit_comm(data: CommData, base=None):
    base = h100_sxm().to_array() if base is None else base
    tr = ~data.held
    return fit_params(COMM_FIT, COMM_BOUNDS,
                      lambda m: collective_times(m, data.op[tr], data.nbytes[tr], data.ranks[tr],
                                                 data.algo[tr])[0], data.t[tr], base)


def fit_attn(data: AttnData, base=None):
    base = h100_sxm().to_array() if base is None else base
    tr = ~data.held
    return fit_params(ATTN_FIT, ATTN_BOUNDS, lambda m: attention_times(m, data.desc[tr])[0],
                      data.t[tr], base)


def fit_roofline(flops_peak, bytes_bw, meas):
    """Calibrated roofline baseline: t = max(F/(a P), B/(b W)) + c, fitted in log space."""
    from scipy.optimize import least_squares  # noqa: PLC0415

    sol = least_squares(lambda x: np.log(roofline(x, flops_peak, bytes_bw) / meas),
                        [0.8, 0.8, 3e-6], bounds=([0.05, 0.05, 0.0], [1.0, 1.0, 1e-4]),
                        loss="soft_l1", f_scale=0.05, x_scale=[0.1, 0.1, 1e-6])
    return sol.x


def roofline(x, flops_peak, bytes_bw):
    """t = max(F/(a P), B/(b W)) + c with x = (a, b, c)."""
    return np.maximum(flops_peak / x[0], bytes_bw / x[1]) + x[2]


# ----------------------------------------------------------------------------- reports

def gemm_report(mach=None):
    """Per dtype and regime: model and roofline median/p90 |%err|, in-sample and held-out."""
    d = load_gemm()
    mach = h100_sxm().to_array() if mach is None else mach
    pred, bound = gemm_times(mach, d.m, d.n, d.k, d.fmt, l2_warm=True)
    desc = {f: F.descriptor(f) for f in set(d.fmt)}
    peak = np.array([2.0 * mach[IDX["cores"]] * mach[IDX["clock_hz"]]
                     * mach[IDX["macs_16" if desc[f][F.BITS] >= 16 else "macs_8"]] for f in d.fmt])
    flops = 2.0 * d.m * d.n * d.k
    byts = np.array([d.m[i] * d.k[i] * desc[f][F.A_BYTES] + d.n[i] * d.k[i] * desc[f][F.B_BYTES]
                     + d.m[i] * d.n[i] * desc[f][F.C_BYTES] for i, f in enumerate(d.fmt)])
    roof = np.empty_like(pred)
    for dt in GEMM_FMT:   # one calibrated roofline per dtype (3 parameters each), train rows only
        sel = d.dtype == dt
        tr = sel & ~d.held
        x = fit_roofline(flops[tr] / peak[tr], byts[tr] / mach[IDX["hbm_bw"]], d.t[tr])
        roof[sel] = roofline(x, flops[sel] / peak[sel], byts[sel] / mach[IDX["hbm_bw"]])
    rows = []
    for dt in GEMM_FMT:
        for regime, rsel in (("small m (m<=128)", d.m <= 128), ("large m (m>128)", d.m > 128),
                             ("all", np.ones_like(d.held))):
            sel = (d.dtype == dt) & rsel
            rows.append((dt, regime,
                         err_stats(pred[sel & ~d.held], d.t[sel & ~d.held]),
                         err_stats(pred[sel & d.held], d.t[sel & d.held]),
                         err_stats(roof[sel & ~d.held], d.t[sel & ~d.held]),
                         err_stats(roof[sel & d.held], d.t[sel & d.held])))
    return d, pred, bound, roof, rows


def _print_gemm(rows):
    print(f"{'dtype':10s} {'regime':18s} {'model in':>14s} {'model held':>14s} "
          f"{'roof in':>14s} {'roof held':>14s}")
    for dt, reg, a, b, c, e in rows:
        fmt = lambda s: f"{s[0]:5.1f}/{s[1]:5.1f}"  # noqa: E731
        print(f"{dt:10s} {reg:18s} {fmt(a):>14s} {fmt(b):>14s} {fmt(c):>14s} {fmt(e):>14s}")


def write_params(values: dict) -> None:
    """Replace the given entries of the H100 dict in params.py (4 significant digits)."""
    import re  # noqa: PLC0415

    path = Path(__file__).with_name("params.py")
    text = path.read_text()
    for kname, v in values.items():
        text, n = re.subn(rf'^(    "{kname}": )[^,]+,', rf"\g<1>{v:.4g},", text, flags=re.M)
        if n != 1:
            raise RuntimeError(f"params.py has no single entry {kname!r}")
    path.write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m chipletarch.engine.validate",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="refit parameters and print them")
    ap.add_argument("--write", action="store_true",
                    help="with --fit: store the fitted values in chipletarch/engine/params.py")
    args = ap.parse_args(argv)
    if args.fit:
        fitted = fit_gemm(load_gemm())
        mach = _apply(h100_sxm().to_array(), list(fitted), list(fitted.values()))
        fitted.update(fit_attn(load_attn(), mach))
        fitted.update(fit_comm(load_comm(), mach))
        for kname, v in fitted.items():
            print(f'    "{kname}": {v:.4g},')
        if args.write:
            write_params(fitted)
        mach = _apply(h100_sxm().to_array(), list(fitted), list(fitted.values()))
        _print_gemm(gemm_report(mach)[4])
        return 0
    _print_gemm(gemm_report()[4])
    return 0


if __name__ == "__main__":
    sys.exit(main())
