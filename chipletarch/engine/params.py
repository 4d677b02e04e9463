"""Fitted efficiency parameters of the H100 SXM reference (the only numbers not read from a spec).

Each value was fitted on the measured H100 kernels in shared/reference/silicon (copied to
tests/data/silicon) by `python -m chipletarch.engine.validate --fit`, on the 70 % training split
(by shape, seed 0) only; docs/VALIDATION.md lists them with the held-out error. The same values
are used unchanged for H200 and, as the method, for B200.
"""
from __future__ import annotations

H100 = {
    "l2_bw": 2e+13,
    "launch_s": 2.525e-06,
    "mem_latency_s": 3.389e-07,
    "eff_mat_16": 0.8649,
    "eff_mat_8": 0.7783,
    "eff_mem": 0.7911,
    "overlap_p": 3.459,
    "rescale_exposed": 0.0007512,
    "quant_tensor_s": 9.724e-06,
    "quant_block_s": 1.632e-06,
    "eff_sfu": 0.6813,
    "attn_tile_s": 3.284e-06,
    "link_latency_s": 6.091e-07,
    "eff_link": 0.6739,
    "comm_launch_s": 6.28e-06,
    "eff_mat_attn": 0.6294,
    "attn_dec_eff_mem": 0.7945,
    "attn_fixed_s": 6.75e-06,
    "attn_dec_fixed_s": 1.981e-06,
    "comm_chunk_bytes": 1.645e+06,
    "eff_stream": 0.8955,
    "dec_max_group": 32,
    "attn_dec_tile_s": 9.9e-07,
    "attn_dec_cta16_s": 3.144e-06,
    "dec_split_rule": 1,
    "scale_drain_cycles": 3.033e-13,
    "smem_bw": 80.24,
    "lib_fill_bpc": 33.08,
}
