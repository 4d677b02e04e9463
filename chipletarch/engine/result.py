"""`Result` of `chipletarch.simulate`: latency, TTFT/TPOT, throughput, the per-operator table,
per-resource bytes and utilisation, MACs per format, and what bounds the design point.

Everything is plain numbers and numpy arrays (no references to the architecture or model
objects), so a Result pickles, serialises to JSON, and compares across design points.

Conventions (docs/SIMULATE.md):
- the operator table is per device (one rank of the mapping; the busiest rank's table, as the
  workload layer builds it); `time_s` is one execution of the row, `total_time_s` = time x repeat;
- bytes per level (`hbm_bytes`, `l2_bytes`, `sram_bytes`) are traffic: the compulsory bytes
  (each tensor once per level it crosses, kept in the `*_compulsory` columns) times the GEMM
  kernel's re-fetch ratio (panel re-fetch from memory when operands exceed half of L2, every
  tile's operand stages from L2 into SRAM, split-K partials, the activation quantisation pass);
  other kernels report compulsory bytes (ratio 1). docs/ARCHITECTURE.md "Result";
- per-resource figures are package-wide: every device of the package runs the same table, so a
  stack or link carries the traffic of every device that uses it. Utilisation = bytes moved /
  (bandwidth x latency_s), per direction for links (the busier direction).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ..errors import SpecError

# Bounding resources, in the order reports list them.
BOUNDS = ("compute", "sram", "l2", "hbm", "d2d", "network", "overhead")

# Per-operator columns (name -> meaning) in report order.
OP_COLUMNS = {
    "name": "operator (one row per distinct op; identical layers counted by repeat)",
    "op_class": "embed, norm, qkv_proj, attention, mlp, moe_expert, comm, ...",
    "kind": "OpKind name (GEMM, ATTN_DECODE, ALL_REDUCE, ...)",
    "stage": "pipeline stage",
    "repeat": "executions per forward pass",
    "time_s": "seconds per execution",
    "total_time_s": "time_s x repeat",
    "bound_by": "resource that sets the time: " + ", ".join(BOUNDS),
    "flops": "FLOPs per execution (matrix + vector)",
    "hbm_bytes": "bytes to/from memory stacks per execution, incl. the GEMM kernel's panel "
                 "re-fetch and activation-quantisation pass (on-chip SRAM of the dies when the "
                 "package has no stacks)",
    "l2_bytes": "bytes through the on-die cache per execution, incl. GEMM tile re-reads",
    "sram_bytes": "operand bytes into core SRAM per execution, incl. GEMM tile re-reads",
    "d2d_bytes": "bytes on die-to-die links per execution (remote memory share + scope-0 comm)",
    "network_bytes": "bytes a rank puts on scale-up / scale-out links per execution",
    "tflops": "achieved TFLOP/s (flops / time_s / 1e12)",
    "compute_fmt": "format whose matrix rate applies",
    "hbm_bytes_compulsory": "hbm_bytes without re-fetch: each tensor once",
    "l2_bytes_compulsory": "l2_bytes without re-fetch: each tensor once",
    "sram_bytes_compulsory": "sram_bytes without re-fetch: each tensor once",
}


@dataclass
class Result:
    """Outcome of one design point. See the module docstring for conventions."""

    arch: str
    model: str
    phase: str
    batch: int
    seq_len: int
    context_len: int
    precision: str
    mapping: dict
    devices_per_package: int
    latency_s: float
    ttft_s: float | None
    tpot_s: float | None
    tokens_per_s: float
    tokens_per_step: int
    ops: dict                      # column name -> numpy array (OP_COLUMNS)
    stacks: dict                   # stack -> {bytes, bandwidth_bytes_per_s, utilization}
    links: dict                    # link -> {bytes, bandwidth_bytes_per_s, utilization, kind}
    ports: dict                    # scale_up / scale_out -> {bytes, bandwidth_bytes_per_s, utilization}
    macs_by_format: dict           # format -> MACs per forward pass (per device)
    vector_flops: float            # non-matrix FLOPs per forward pass (per device)
    peak_flops: dict               # format -> dense FLOP/s of one device
    hbm_bandwidth_bytes_per_s: float
    notes: list = field(default_factory=list)

    # ------------------------------------------------------------------ derived views
    def __len__(self) -> int:
        return len(self.ops["name"])

    def bound_share(self) -> dict:
        """Share of latency_s spent in ops bound by each resource (sums to 1; zeros omitted)."""
        tot = self.ops["total_time_s"]
        s = float(tot.sum())
        out = {}
        for b in BOUNDS:
            v = float(tot[self.ops["bound_by"] == b].sum())
            if v > 0:
                out[b] = v / s if s > 0 else 0.0
        return out

    def by_class(self) -> dict:
        """Seconds per forward pass by op_class, largest first."""
        cls = self.ops["op_class"]
        tot = self.ops["total_time_s"]
        out = {c: float(tot[cls == c].sum()) for c in dict.fromkeys(cls.tolist())}
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def total(self, column: str) -> float:
        """Column x repeat, summed over operators (e.g. total('hbm_bytes'))."""
        if column not in self.ops or self.ops[column].dtype == object:
            raise SpecError(f"Result.total: {column!r} is not a numeric op column")
        return float((self.ops[column] * self.ops["repeat"]).sum())

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        """JSON-ready dict (numpy converted to lists and floats)."""
        def conv(v):
            if isinstance(v, np.ndarray):
                return v.tolist()
            if isinstance(v, (np.floating, np.integer)):
                return v.item()
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [conv(x) for x in v]
            return v
        d = {k: conv(getattr(self, k)) for k in (
            "arch", "model", "phase", "batch", "seq_len", "context_len", "precision", "mapping",
            "devices_per_package", "latency_s", "ttft_s", "tpot_s", "tokens_per_s",
            "tokens_per_step", "macs_by_format", "vector_flops", "peak_flops",
            "hbm_bandwidth_bytes_per_s", "stacks", "links", "ports", "notes")}
        d["bound_share"] = self.bound_share()
        d["by_class"] = self.by_class()
        d["ops"] = [dict(zip(self.ops, (conv(self.ops[c][i]) for c in self.ops)))
                    for i in range(len(self))]
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_pandas(self):
        """The per-operator table as a pandas DataFrame (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise SpecError("Result.to_pandas needs pandas: pip install pandas "
                            "(or use Result.to_dict() / to_json())") from None
        return pd.DataFrame({c: self.ops[c] for c in self.ops})

    # ------------------------------------------------------------------ text
    def headline(self) -> str:
        parts = [f"{self.arch} {self.model} {self.phase} batch={self.batch} "
                 f"seq_len={self.seq_len} context={self.context_len} {self.precision}"]
        if self.ttft_s is not None:
            parts.append(f"TTFT {self.ttft_s * 1e3:.3f} ms")
        if self.tpot_s is not None:
            parts.append(f"TPOT {self.tpot_s * 1e3:.3f} ms")
        parts.append(f"{self.tokens_per_s:,.1f} tokens/s")
        return " | ".join(parts)

    def summary(self, group: bool = True) -> str:
        """Text table: operators (grouped by op_class when `group`), totals, bound share."""
        o = self.ops
        m = self.mapping
        lines = [self.headline(),
                 f"mapping tp={m['tp']} pp={m['pp']} ep={m['ep']} dp={m['dp']} "
                 f"attention_dp={m['attention_dp']}; {self.devices_per_package} device(s) per "
                 f"package; per-device table"]
        hdr = (f"{'operator':<28} {'kind':<14} {'rep':>4} {'time/op us':>11} {'total ms':>9} "
               f"{'share':>6} {'bound':<8} {'TFLOP/s':>8} {'mem MB':>9} {'D2D MB':>8} "
               f"{'net MB':>8}")
        lines += [hdr, "-" * len(hdr)]
        lat = self.latency_s if self.latency_s > 0 else 1.0
        order = list(range(len(self)))
        if group:
            cls_t = self.by_class()
            rank = {c: i for i, c in enumerate(cls_t)}
            order.sort(key=lambda i: (rank[o["op_class"][i]], -o["total_time_s"][i]))
        prev = None
        for i in order:
            if group and o["op_class"][i] != prev:
                prev = o["op_class"][i]
                ct = self.by_class()[prev]
                lines.append(f"[{prev}] {ct * 1e3:.3f} ms ({ct / lat:.1%})")
            lines.append(
                f"  {str(o['name'][i])[:26]:<26} {o['kind'][i]:<14} {o['repeat'][i]:>4} "
                f"{o['time_s'][i] * 1e6:>11.2f} {o['total_time_s'][i] * 1e3:>9.3f} "
                f"{o['total_time_s'][i] / lat:>6.1%} {o['bound_by'][i]:<8} "
                f"{o['tflops'][i]:>8.1f} {o['hbm_bytes'][i] / 1e6:>9.2f} "
                f"{o['d2d_bytes'][i] / 1e6:>8.2f} {o['network_bytes'][i] / 1e6:>8.2f}")
        lines.append("-" * len(hdr))
        lines.append(f"latency {self.latency_s * 1e3:.3f} ms; "
                     f"memory {self.total('hbm_bytes') / 1e9:.3f} GB, "
                     f"{self.total('flops') / 1e12:.3f} TFLOP per device per pass")
        lines.append("bound by: " + ", ".join(f"{k} {v:.1%}" for k, v in
                                              sorted(self.bound_share().items(),
                                                     key=lambda kv: -kv[1])))
        busiest = [(n, d["utilization"]) for n, d in
                   {**self.stacks, **self.links, **self.ports}.items()]
        if busiest:
            n, u = max(busiest, key=lambda kv: kv[1])
            lines.append(f"busiest resource: {n} at {u:.1%} average utilisation")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


__all__ = ["Result", "BOUNDS", "OP_COLUMNS"]
