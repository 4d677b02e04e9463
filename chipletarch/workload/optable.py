"""The operator table: columnar numpy arrays handed from the workload layer to the engine.

One row per distinct operator of a forward pass (identical layers appear once, with `repeat`).
The column set and its meaning are the contract in docs/ARCHITECTURE.md ("Operator table") and
docs/WORKLOADS.md (conventions: FLOPs = 2 x MACs, bytes are each tensor's size once, in its format,
per device). `OpKind` holds the int8 codes of the `kind` column.

Tables are built row-wise by `_RowBuilder` (plain tuples, no per-op objects) and converted to
arrays once; byte columns are computed from element counts through `formats.tensor_bytes`, one
vectorised call per format.
"""
from __future__ import annotations

from enum import IntEnum

import numpy as np

from .. import formats


class OpKind(IntEnum):
    """What an operator is, for the engine's cost model (int8 codes of the `kind` column)."""

    GEMM = 0
    GROUPED_GEMM = 1
    ATTN_PREFILL = 2
    ATTN_DECODE = 3
    ELEMENTWISE = 4
    REDUCTION = 5      # norms, softmax-like row reductions, top-k, sampling
    GATHER = 6         # embedding lookup
    ALL_REDUCE = 7
    ALL_GATHER = 8
    REDUCE_SCATTER = 9
    ALL_TO_ALL = 10
    SEND_RECV = 11

    @property
    def is_comm(self) -> bool:
        return self >= OpKind.ALL_REDUCE


COMM_KINDS = (OpKind.ALL_REDUCE, OpKind.ALL_GATHER, OpKind.REDUCE_SCATTER, OpKind.ALL_TO_ALL,
              OpKind.SEND_RECV)

# Column name -> numpy dtype, in contract order.
COLUMNS = {
    "name": object, "op_class": object, "kind": np.int8,
    "m": np.int64, "n": np.int64, "k": np.int64, "groups": np.int64,
    "batch": np.int64, "q_len": np.int64, "kv_len": np.int64, "heads": np.int64,
    "kv_heads": np.int64, "qk_head_dim": np.int64, "v_head_dim": np.int64,
    "causal": np.int8, "window": np.int64,
    "flops": np.float64,
    "weight_bytes": np.float64, "act_in_bytes": np.float64, "act_out_bytes": np.float64,
    "kv_read_bytes": np.float64, "kv_write_bytes": np.float64,
    "weight_fmt": np.int16, "act_fmt": np.int16, "kv_fmt": np.int16, "compute_fmt": np.int16,
    "comm_bytes": np.float64, "comm_group": np.int64, "comm_scope": np.int8,
    "stage": np.int64, "repeat": np.int64,
}
COLUMN_NAMES = tuple(COLUMNS)
BYTE_COLUMNS = ("weight_bytes", "act_in_bytes", "act_out_bytes", "kv_read_bytes",
                "kv_write_bytes", "comm_bytes")


class OpTable:
    """Columnar operator table. Columns are attributes (``t.flops``) and items (``t["flops"]``).

    All values are per device (one rank of the mapping) and per execution of the row; multiply
    by `repeat` for a forward pass. Tables returned by `Model.operators` are cached and shared,
    so their arrays are read-only: copy (`OpTable.copy()`) before modifying.
    """

    __slots__ = ("_cols", "meta")

    def __init__(self, columns: dict, meta: dict | None = None):
        n = None
        cols = {}
        for name, dtype in COLUMNS.items():
            if name not in columns:
                raise KeyError(f"OpTable: missing column {name!r}")
            a = np.asarray(columns[name], dtype=dtype)
            if n is None:
                n = a.shape[0]
            elif a.shape != (n,):
                raise ValueError(f"OpTable: column {name!r} has shape {a.shape}, expected ({n},)")
            cols[name] = a
        self._cols = cols
        self.meta = dict(meta or {})

    def __getattr__(self, name):
        # Private / dunder lookups (pickle's __setstate__, copy's __deepcopy__) must not reach
        # the column dict, which does not exist yet on an object being unpickled.
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._cols[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getstate__(self):
        return {"_cols": self._cols, "meta": self.meta}

    def __setstate__(self, state):
        self._cols = state["_cols"]
        self.meta = state["meta"]

    def __getitem__(self, name):
        return self._cols[name]

    def __len__(self) -> int:
        return len(self._cols["kind"])

    @property
    def columns(self) -> dict:
        return self._cols

    def freeze(self) -> "OpTable":
        for a in self._cols.values():
            a.flags.writeable = False
        return self

    def copy(self) -> "OpTable":
        return OpTable({k: v.copy() for k, v in self._cols.items()}, self.meta)

    def select(self, mask) -> "OpTable":
        """Rows where `mask` is true (a boolean array or index array)."""
        return OpTable({k: v[mask] for k, v in self._cols.items()}, self.meta)

    def total(self, column: str, mask=None) -> float:
        """Sum of column x repeat over the rows (optionally masked): a forward-pass total."""
        v = self._cols[column] * self._cols["repeat"]
        return float(v[mask].sum() if mask is not None else v.sum())

    def is_comm(self) -> np.ndarray:
        return self._cols["kind"] >= OpKind.ALL_REDUCE

    def summary(self) -> str:
        """A readable table (name, kind, shapes, GFLOP, MB) for reports and the CLI."""
        lines = [f"{'stage':>5} {'name':<28} {'kind':<14} {'repeat':>6} {'m':>8} {'n':>8} "
                 f"{'k':>7} {'grp':>5} {'GFLOP':>10} {'W MB':>9} {'act MB':>9} {'KV MB':>9} "
                 f"{'comm MB':>9}"]
        c = self._cols
        for i in range(len(self)):
            lines.append(
                f"{c['stage'][i]:>5} {c['name'][i]:<28.28} {OpKind(c['kind'][i]).name:<14} "
                f"{c['repeat'][i]:>6} {c['m'][i]:>8} {c['n'][i]:>8} {c['k'][i]:>7} "
                f"{c['groups'][i]:>5} {c['flops'][i] / 1e9:>10.3f} "
                f"{c['weight_bytes'][i] / 1e6:>9.2f} "
                f"{(c['act_in_bytes'][i] + c['act_out_bytes'][i]) / 1e6:>9.2f} "
                f"{(c['kv_read_bytes'][i] + c['kv_write_bytes'][i]) / 1e6:>9.2f} "
                f"{c['comm_bytes'][i] / 1e6:>9.2f}")
        lines.append(f"total per device per forward pass: {self.total('flops') / 1e12:.4f} TFLOP, "
                     f"weights {self.total('weight_bytes') / 2**30:.3f} GiB, "
                     f"KV read {self.total('kv_read_bytes') / 2**30:.3f} GiB, "
                     f"KV write {self.total('kv_write_bytes') / 2**30:.4f} GiB, "
                     f"comm {self.total('comm_bytes') / 2**30:.4f} GiB")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"OpTable({len(self)} rows, {self.total('flops') / 1e9:.3f} GFLOP per device)"


# Row tuple layout used by the builder: element counts, not bytes; bytes are computed in build().
_ROW_FIELDS = ("name", "op_class", "kind", "m", "n", "k", "groups", "batch", "q_len", "kv_len",
               "heads", "kv_heads", "qk_head_dim", "v_head_dim", "causal", "window", "flops",
               "w_numel", "wvec_numel", "act_in_numel", "act_out_numel", "kv_read_numel",
               "kv_write_numel", "comm_numel", "weight_fmt", "comm_group", "comm_scope", "stage",
               "repeat", "compute_fmt")


class _RowBuilder:
    """Collects rows as tuples of element counts; `build` turns them into an `OpTable`.

    Weights of a row are `w_numel` elements in the row's weight format plus `wvec_numel`
    elements of vectors (biases, norm weights, sinks) kept in `vec_fmt` (bf16).
    """

    __slots__ = ("rows", "act_fmt", "kv_fmt", "vec_fmt")

    def __init__(self, act_fmt: str, kv_fmt: str, vec_fmt: str = "bf16"):
        self.rows: list = []
        self.act_fmt = act_fmt
        self.kv_fmt = kv_fmt
        self.vec_fmt = vec_fmt

    def add(self, name, op_class, kind, *, m=0, n=0, k=0, groups=0, batch=0, q_len=0, kv_len=0,
            heads=0, kv_heads=0, qk=0, v=0, causal=0, window=0, flops=0.0, w=0.0, wvec=0.0,
            a_in=0.0, a_out=0.0, kv_r=0.0, kv_w=0.0, comm=0.0, wfmt=-1, group=1, scope=0,
            stage=0, repeat=1, cfmt=-1):
        self.rows.append((name, op_class, int(kind), m, n, k, groups, batch, q_len, kv_len, heads,
                          kv_heads, qk, v, causal, window, flops, w, wvec, a_in, a_out, kv_r,
                          kv_w, comm, wfmt, group, scope, stage, repeat, cfmt))

    def build(self, meta: dict | None = None) -> OpTable:
        cols = dict(zip(_ROW_FIELDS, zip(*self.rows))) if self.rows else \
            {f: () for f in _ROW_FIELDS}
        act = formats.get_format(self.act_fmt)
        kvf = formats.get_format(self.kv_fmt)
        f64 = np.float64
        wfmt = np.asarray(cols["weight_fmt"], dtype=np.int16)
        w_numel = np.asarray(cols["w_numel"], dtype=f64)
        weight_bytes = np.zeros(len(wfmt))
        for idx in np.unique(wfmt[w_numel > 0]):
            sel = wfmt == idx
            weight_bytes[sel] = formats.tensor_bytes(w_numel[sel],
                                                     formats.format_by_index(int(idx)))
        weight_bytes += formats.tensor_bytes(np.asarray(cols["wvec_numel"], dtype=f64),
                                             self.vec_fmt)
        # Rows with no matrix weight report the vector format (or the activation format).
        no_w = wfmt < 0
        if no_w.any():
            wfmt = wfmt.copy()
            has_vec = np.asarray(cols["wvec_numel"], dtype=f64) > 0
            wfmt[no_w & has_vec] = formats.get_format(self.vec_fmt).index
            wfmt[no_w & ~has_vec] = act.index
        cfmt = np.asarray(cols["compute_fmt"], dtype=np.int16)
        cfmt = np.where(cfmt < 0, act.index, cfmt)
        n = len(wfmt)
        out = {name: cols[name] for name in ("name", "op_class", "kind", "m", "n", "k", "groups",
                                             "batch", "q_len", "kv_len", "heads", "kv_heads",
                                             "qk_head_dim", "v_head_dim", "causal", "window",
                                             "flops", "comm_group", "comm_scope", "stage",
                                             "repeat")}
        out["name"] = np.array(cols["name"], dtype=object)
        out["op_class"] = np.array(cols["op_class"], dtype=object)
        out["weight_bytes"] = weight_bytes
        out["act_in_bytes"] = formats.tensor_bytes(np.asarray(cols["act_in_numel"], dtype=f64), act)
        out["act_out_bytes"] = formats.tensor_bytes(np.asarray(cols["act_out_numel"], dtype=f64),
                                                    act)
        out["kv_read_bytes"] = formats.tensor_bytes(np.asarray(cols["kv_read_numel"], dtype=f64),
                                                    kvf)
        out["kv_write_bytes"] = formats.tensor_bytes(np.asarray(cols["kv_write_numel"], dtype=f64),
                                                     kvf)
        out["comm_bytes"] = formats.tensor_bytes(np.asarray(cols["comm_numel"], dtype=f64), act)
        out["weight_fmt"] = wfmt
        out["act_fmt"] = np.full(n, act.index, dtype=np.int16)
        out["kv_fmt"] = np.full(n, kvf.index, dtype=np.int16)
        out["compute_fmt"] = cfmt
        return OpTable(out, meta)
