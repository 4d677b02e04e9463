"""Flat machine description consumed by the Cython engine (`chipletarch._core.engine`).

The engine never sees Python objects: a design point is compiled once into one float64 array
with named slots (`SLOTS`, order fixed; `_core/engine.pyx` uses the same indices and a test checks
they agree). `Machine` is the readable form of that array: a dataclass whose fields are the slot
names, with `to_array()` / `from_array()`.

`h100_sxm()` builds the H100 SXM5 reference from HARDWARE.md §1 (structural figures) plus the
efficiency parameters fitted on the measured H100 kernels (`chipletarch/engine/params.py`, fitted
by `python -m chipletarch.engine.validate --fit`). `h200_sxm()` differs only in memory
(HARDWARE.md §2), as the brief requires: same die, same fitted parameters.

Units: seconds, bytes, Hz; "per core" means per SM / CU / tile; MACs are multiply-accumulates
(1 MAC = 2 FLOPs).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from ..errors import SpecError
from . import params as _params

# Slot order of the machine array. Append only; engine.pyx mirrors these indices.
SLOTS = (
    "cores",              # 0  compute cores (SMs) available to one kernel
    "clock_hz",           # 1  matrix-engine clock
    "macs_16",            # 2  dense MACs/cycle/core, 16-bit operands (bf16/fp16)
    "macs_8",             # 3  ... 8-bit (fp8, int8, mxfp8)
    "macs_6",             # 4  ... 6-bit (mxfp6); 0 = not supported, falls back to 8-bit
    "macs_4",             # 5  ... 4-bit (mxfp4, nvfp4); 0 = not supported, falls back to 8-bit
    "macs_32",            # 6  ... tf32
    "vec_flops",          # 7  FP32 vector FLOPs/cycle/core (FMA = 2)
    "sfu_ops",            # 8  special-function (exp) ops/cycle/core
    "smem_bytes",         # 9  local SRAM (shared memory) usable per core
    "smem_bw",            # 10 operand fill bandwidth into local SRAM, bytes/cycle/core
    "rf_bytes",           # 11 register file per core (holds MMA accumulators)
    "l2_bytes",           # 12 shared on-die cache capacity
    "l2_bw",              # 13 shared cache bandwidth, bytes/s (whole die)
    "hbm_bw",             # 14 peak memory bandwidth reachable by the die, bytes/s
    "hbm_bytes",          # 15 memory capacity, bytes
    "tile_m_min",         # 16 smallest MMA M granule (Hopper wgmma: 64)
    "tile_n_min",         # 17 smallest MMA N granule
    "sys_rows",           # 18 systolic array rows (0 = not a systolic die)
    "sys_cols",           # 19 systolic array cols
    "native_block_scale", # 20 1 = MMA applies block scales in hardware (Blackwell, MX); 0 = software
    "launch_s",           # 21 per-kernel launch + sync overhead
    "mem_latency_s",      # 22 first-byte latency of the memory path (pipeline fill)
    "eff_mat_16",         # 23 sustained share of 16-bit matrix peak (clock under power limit)
    "eff_mat_8",          # 24 sustained share of 8-bit (and narrower) matrix peak
    "eff_mem",            # 25 achievable share of peak memory bandwidth
    "overlap_p",          # 26 p of the p-norm combining compute and memory time (inf = max)
    "rescale_exposed",    # 27 share of software block-rescale work not hidden behind the MMA
    "quant_tensor_s",     # 28 fixed cost of dynamic per-tensor activation quantisation
    "quant_block_s",      # 29 fixed cost of dynamic per-block activation quantisation
    "eff_sfu",            # 30 sustained share of SFU + softmax vector work in attention
    "attn_tile_s",        # 31 fixed per-CTA cost of an attention work unit (prologue/epilogue)
    "link_bw",            # 32 scale-up bandwidth per device, each direction, bytes/s
    "link_latency_s",     # 33 per-hop latency of a collective step
    "eff_link",           # 34 achievable share of link bandwidth in collectives
    "comm_launch_s",      # 35 fixed cost of a collective call
    "eff_mat_attn",       # 36 sustained share of matrix peak inside fused attention
    "attn_dec_eff_mem",   # 37 achievable share of memory bandwidth in split-KV decode
    "scale_drain_cycles", # 38 MMA pipe drain before each software block-scale promotion, cycles
    "attn_fixed_s",       # 39 fixed cost of a prefill attention op beyond its launches
    "attn_dec_fixed_s",   # 40 fixed cost of a decode attention op beyond its launches
    "comm_chunk_bytes",   # 41 pipeline chunk of a ring/tree collective step (fill cost)
    "eff_stream",         # 42 achievable share of memory bandwidth for streaming (copy-like) ops
    "dec_max_group",      # 43 largest GQA group a decode CTA serves from one K/V stream
    "attn_dec_tile_s",    # 44 per-wave CTA latency of split-KV decode (attn_tile_s: prefill)
    "attn_dec_cta16_s",   # 45 SM time per grouped (g > 1) decode CTA on a 16-bit KV cache
    "dec_split_rule",     # 46 decode KV splits: 0 = fastest searched, 1 = library's rule (XQA)
    "lib_fill_bpc",       # 47 L2 -> SRAM operand rate of block-scaled library CTAs, B/cycle/core
)
NSLOTS = len(SLOTS)
IDX = {name: i for i, name in enumerate(SLOTS)}


@dataclass(frozen=True)
class Machine:
    """One compute die (or a package that presents as one device) as the engine sees it."""

    cores: float
    clock_hz: float
    macs_16: float
    macs_8: float
    macs_6: float
    macs_4: float
    macs_32: float
    vec_flops: float
    sfu_ops: float
    smem_bytes: float
    smem_bw: float
    rf_bytes: float
    l2_bytes: float
    l2_bw: float
    hbm_bw: float
    hbm_bytes: float
    tile_m_min: float
    tile_n_min: float
    sys_rows: float
    sys_cols: float
    native_block_scale: float
    launch_s: float
    mem_latency_s: float
    eff_mat_16: float
    eff_mat_8: float
    eff_mem: float
    overlap_p: float
    rescale_exposed: float
    quant_tensor_s: float
    quant_block_s: float
    eff_sfu: float
    attn_tile_s: float
    link_bw: float
    link_latency_s: float
    eff_link: float
    comm_launch_s: float
    eff_mat_attn: float
    attn_dec_eff_mem: float
    scale_drain_cycles: float
    attn_fixed_s: float
    attn_dec_fixed_s: float
    comm_chunk_bytes: float
    eff_stream: float
    dec_max_group: float
    attn_dec_tile_s: float
    # SM time per CTA of the grouped 16-bit-KV decode kernel (a library property); defaults to 0
    # for a hand-built machine (h100_sxm() and compiled architectures take the fitted value)
    attn_dec_cta16_s: float = 0.0
    # how grouped decode kernels pick their KV splits: 0 (a hand-built machine's default) = the
    # fastest candidate; 1 = TensorRT-LLM's XQA multi-block rule (h100_sxm(), compiled designs)
    dec_split_rule: float = 0.0
    lib_fill_bpc: float = 0.0
    name: str = "machine"

    def __post_init__(self):
        for f in SLOTS:
            v = getattr(self, f)
            if not np.isfinite(v) or v < 0:
                raise SpecError(f"machine {self.name}: {f} must be finite and >= 0, got {v!r}")
        for f in ("cores", "clock_hz", "macs_16", "vec_flops", "smem_bytes", "smem_bw",
                  "hbm_bw", "tile_m_min", "tile_n_min"):
            if getattr(self, f) <= 0:
                raise SpecError(f"machine {self.name}: {f} must be > 0")
        for f in ("eff_mat_16", "eff_mat_8", "eff_mem", "eff_sfu", "eff_link", "eff_mat_attn",
                  "attn_dec_eff_mem", "eff_stream"):
            if not 0 < getattr(self, f) <= 1:
                raise SpecError(f"machine {self.name}: {f} must be in (0, 1]")
        if self.overlap_p < 1:
            raise SpecError(f"machine {self.name}: overlap_p must be >= 1")

    def to_array(self) -> np.ndarray:
        """A fresh float64[NSLOTS] array of this machine."""
        return np.array([float(getattr(self, f)) for f in SLOTS], dtype=np.float64)

    @cached_property
    def array(self) -> np.ndarray:
        """The machine array, built once per (immutable) Machine and read-only."""
        arr = self.to_array()
        arr.setflags(write=False)
        return arr

    @classmethod
    def from_array(cls, arr, name: str = "machine") -> "Machine":
        arr = np.asarray(arr, dtype=np.float64)
        if arr.shape != (NSLOTS,):
            raise SpecError(f"machine array must have shape ({NSLOTS},), got {arr.shape}")
        return cls(**{f: float(arr[i]) for i, f in enumerate(SLOTS)}, name=name)

    def with_(self, **changes) -> "Machine":
        """A copy with some fields changed (what-if studies, invariant tests)."""
        return replace(self, **changes)

    def peak_flops(self, bits: int = 16) -> float:
        """Dense matrix FLOP/s of the die for operands of `bits` width (2 x MACs)."""
        macs = {16: self.macs_16, 8: self.macs_8, 6: self.macs_6 or self.macs_8,
                4: self.macs_4 or self.macs_8, 32: self.macs_32}[bits]
        return 2.0 * macs * self.cores * self.clock_hz


def _h100_structural() -> dict:
    """H100 SXM5 figures from HARDWARE.md §1 (S-keys in comments)."""
    clock = 1.83e9  # §1 Clock ~1.83 GHz tensor clock (S4); 132 x 2048 x 2 x 1.83e9 = 989.4 TF (S4, S5)
    return dict(
        cores=132.0,                       # §1 SMs: 132 enabled (S1, S4)
        clock_hz=clock,
        macs_16=2048.0,                    # §1 BF16 989.4 TF dense / (2 x 132 x 1.83 GHz) (S4, S5)
        macs_8=4096.0,                     # §1 FP8 1978.9 TF dense / (2 x 132 x 1.83 GHz) (S4, S5)
        macs_6=0.0,                        # §1 FP6/FP4/MX not supported in hardware (S6)
        macs_4=0.0,
        macs_32=1024.0,                    # §1 TF32 494.7 TF dense / (2 x 132 x 1.83 GHz) (S4)
        vec_flops=256.0,                   # §1 FP32 66.9 TF = 132 x 128 FMA x 2 x 1.98 GHz (S4)
        sfu_ops=16.0,                      # §1 S2 Hopper whitepaper: 4 SFU per SM sub-partition (U)
        smem_bytes=228.0 * 1024,           # §1 Per-SM SRAM: up to 228 KB shared (S2, U)
        smem_bw=_params.H100["smem_bw"],   # L2 -> SMEM fill per SM: not in HARDWARE.md, fitted
        rf_bytes=256.0 * 1024,             # §1 256 KB register file per SM (S2, U)
        l2_bytes=50e6,                     # §1 L2 50 MB (S2)
        l2_bw=_params.H100["l2_bw"],       # not in HARDWARE.md: fitted, see params.py
        hbm_bw=3.35e12,                    # §1 HBM3 3.35 TB/s (S4, S5)
        hbm_bytes=80e9,                    # §1 80 GB (S4, S5)
        tile_m_min=64.0,                   # S2: wgmma M = 64 per warpgroup
        tile_n_min=16.0,                   # S2: wgmma N multiple of 8; 16 is the smallest cuBLAS uses
        sys_rows=0.0,
        sys_cols=0.0,
        native_block_scale=0.0,            # §1: no MX in hardware (S6): block scales applied in software
        link_bw=450e9,                     # §1 NVLink 4: 900 GB/s bidir = 450 GB/s each way (S4, S13)
    )


def _fitted() -> dict:
    return {k: v for k, v in _params.H100.items() if k in IDX and k not in ("l2_bw", "smem_bw")}


def h100_sxm() -> Machine:
    """NVIDIA H100 SXM5 80 GB: HARDWARE.md §1 + the fitted efficiency parameters."""
    return Machine(**_h100_structural(), **_fitted(), name="h100-sxm")


def h200_sxm() -> Machine:
    """NVIDIA H200 SXM: the H100 die and fitted parameters; memory from HARDWARE.md §2."""
    return h100_sxm().with_(hbm_bw=4.8e12,      # §2 HBM3e 4.8 TB/s (S10, S11)
                            hbm_bytes=141e9,    # §2 141 GB usable (S10, S11)
                            name="h200-sxm")


def as_machine_array(m) -> np.ndarray:
    """Accept a Machine, a machine array, an Architecture (compiled by the placement layer's
    compile_machine), or a name: "h100-sxm"/"h200-sxm" (this module's calibrated instances) or
    any bundled architecture / YAML path."""
    if isinstance(m, Machine):
        return m.array
    if isinstance(m, np.ndarray):
        if m.shape != (NSLOTS,) or m.dtype != np.float64:
            raise SpecError(f"machine array must be float64 of shape ({NSLOTS},)")
        return m
    if isinstance(m, str):
        named = {"h100-sxm": h100_sxm, "h100": h100_sxm, "h200-sxm": h200_sxm, "h200": h200_sxm}
        if m.lower() in named:
            return named[m.lower()]().to_array()
        from ..arch import load_architecture  # noqa: PLC0415 (bundled design by name or path)

        m = load_architecture(m)
    compile_machine = _arch_compiler()
    if compile_machine is not None:
        return compile_machine(m).to_array()
    raise SpecError(f"cannot build a machine from {type(m).__name__}: pass a Machine, "
                    "a machine array, 'h100-sxm'/'h200-sxm', or an Architecture")


def _arch_compiler():
    """The Architecture -> Machine compiler of the placement layer (chipletarch.engine.placement,
    which reads the graph for the memory stacks and links a device reaches)."""
    try:
        from .placement import compile_machine  # noqa: PLC0415  (needs chipletarch.arch)
    except ImportError:
        return None
    return compile_machine


__all__ = ["SLOTS", "NSLOTS", "IDX", "Machine", "h100_sxm", "h200_sxm", "as_machine_array"]
