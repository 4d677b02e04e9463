"""Collective timing API (all-reduce, all-gather, reduce-scatter, all-to-all, send/recv).

Latency-bandwidth model with each algorithm's step count and bus factor (`_core/engine.pyx`
comm_core explains the formulas): t = call overhead + steps x per-step latency + bus bytes /
(eff_link x link bandwidth). The link bandwidth and latency default to the machine's scale-up
figures; the full engine passes the bottleneck bandwidth and latency of the graph path the
collective crosses (D2D links inside a package, scale-up or scale-out links between packages).
"""
from __future__ import annotations

import numpy as np

from .._core import engine as _ce
from ..errors import SpecError
from .machine import IDX, as_machine_array
from .reference import BOUND_NAMES

OPS = {"all_reduce": 0, "allreduce": 0, "all_gather": 1, "allgather": 1, "reduce_scatter": 2,
       "reducescatter": 2, "all_to_all": 3, "alltoall": 3, "send_recv": 4, "p2p": 4}
ALGOS = {"ring": 0, "tree": 1, "direct": 2}


def _codes(op, algorithm):
    if op not in OPS:
        raise SpecError(f"unknown collective {op!r}; known: {', '.join(sorted(OPS))}")
    if algorithm not in ALGOS:
        raise SpecError(f"unknown collective algorithm {algorithm!r}; known: ring, tree, direct")
    return OPS[op], ALGOS[algorithm]


def collective_times(machine, op, nbytes, ranks, algorithm="ring", link_bw=None,
                     latency=None) -> tuple[np.ndarray, np.ndarray]:
    """Batched collectives: op/algorithm names (scalar or per row), nbytes and ranks arrays;
    link_bw (bytes/s each direction) and latency (s per step) default to the machine's."""
    mach = as_machine_array(machine)
    nbytes = np.atleast_1d(np.asarray(nbytes, dtype=np.float64))
    ranks = np.broadcast_to(np.asarray(ranks, dtype=np.float64), nbytes.shape)
    if nbytes.size and (nbytes.min() < 0 or ranks.min() < 1):
        raise SpecError("collective: nbytes must be >= 0 and ranks >= 1")
    ops = np.broadcast_to(np.asarray(op, dtype=object), nbytes.shape)
    algs = np.broadcast_to(np.asarray(algorithm, dtype=object), nbytes.shape)
    codes = np.array([_codes(o, a) for o, a in zip(ops.ravel(), algs.ravel())],
                     dtype=np.int64).reshape(-1, 2)
    bw = np.broadcast_to(np.asarray(mach[IDX["link_bw"]] if link_bw is None else link_bw,
                                    dtype=np.float64), nbytes.shape)
    lat = np.broadcast_to(np.asarray(mach[IDX["link_latency_s"]] if latency is None else latency,
                                     dtype=np.float64), nbytes.shape)
    if bw.size and bw.min() <= 0:
        raise SpecError("collective: link bandwidth must be > 0")
    out_t = np.empty(nbytes.size)
    out_b = np.empty(nbytes.size, dtype=np.int8)
    _ce.comm_batch(mach, np.ascontiguousarray(codes[:, 0]), np.ascontiguousarray(codes[:, 1]),
                   np.ascontiguousarray(nbytes.ravel()), np.ascontiguousarray(ranks.ravel()),
                   np.ascontiguousarray(bw.ravel()), np.ascontiguousarray(lat.ravel()),
                   out_t, out_b)
    return out_t, out_b


def collective_time_bound(machine, op, nbytes, ranks, algorithm="ring", link_bw=None,
                          latency=None) -> tuple[float, str]:
    t, b = collective_times(machine, op, [nbytes], [ranks], algorithm, link_bw, latency)
    return float(t[0]), BOUND_NAMES[b[0]]


def collective_time(machine, op, nbytes, ranks, algorithm="ring", link_bw=None,
                    latency=None) -> float:
    """Seconds of one collective of a `nbytes` buffer per rank over `ranks` devices."""
    return collective_time_bound(machine, op, nbytes, ranks, algorithm, link_bw, latency)[0]
