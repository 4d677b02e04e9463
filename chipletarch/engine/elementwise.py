"""Memory-bound operators (elementwise, norms, residual adds, copies, embedding gathers).

t = launch + p-norm(bytes / (eff_stream x memory bandwidth), vector FLOPs / vector peak,
special-function ops / SFU peak): these kernels stream their operands once and overlap the
little arithmetic they do with the stream. `eff_stream` is the one figure calibrated on a copy:
issue 5's device-to-device copy of about 3.0 TB/s (read + write) on an H100 SXM, i.e.
3.0 / 3.35 = 0.8955 of peak. Vectorised over numpy arrays (closed form, no Python loops).
"""
from __future__ import annotations

import numpy as np

from ..errors import SpecError
from .machine import IDX, as_machine_array


def elementwise_times(machine, bytes_read, bytes_written, flops=0.0, sfu_ops=0.0) -> np.ndarray:
    """Seconds per op for arrays of bytes read / written, vector FLOPs and SFU ops (exp, rsqrt)."""
    m = as_machine_array(machine)
    r, w, f, s = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64)
                                       for x in (bytes_read, bytes_written, flops, sfu_ops)))
    if r.size and min(r.min(), w.min(), f.min(), s.min()) < 0:
        raise SpecError("elementwise: bytes and op counts must be >= 0")
    per_s = m[IDX["cores"]] * m[IDX["clock_hz"]]
    t_mem = (r + w) / (m[IDX["hbm_bw"]] * m[IDX["eff_stream"]])
    t_vec = f / (m[IDX["vec_flops"]] * per_s)
    t_sfu = s / (m[IDX["sfu_ops"]] * per_s)
    p = m[IDX["overlap_p"]]
    mx = np.maximum(np.maximum(t_mem, t_vec), t_sfu)
    safe = np.where(mx > 0, mx, 1.0)
    body = np.where(mx > 0, safe * ((t_mem / safe) ** p + (t_vec / safe) ** p
                                    + (t_sfu / safe) ** p) ** (1.0 / p), 0.0)
    work = (r + w + f + s) > 0
    return np.where(work, m[IDX["launch_s"]] + body, 0.0)


def elementwise_time(machine, bytes_read, bytes_written, flops=0.0, sfu_ops=0.0) -> float:
    """Seconds of one memory-bound op."""
    return float(elementwise_times(machine, bytes_read, bytes_written, flops, sfu_ops).ravel()[0])


def copy_time(machine, nbytes) -> float:
    """Seconds of a device-to-device copy of nbytes (read nbytes + write nbytes)."""
    return elementwise_time(machine, nbytes, nbytes)
