"""Fitted efficiency parameters of the H100 SXM reference (the only numbers not read from a spec).

Each value was fitted on the measured H100 kernels in shared/reference/silicon (copied to
tests/data/silicon) by `python -m chipletarch.engine.validate --fit`, on the 70 % training split
(by shape, seed 0) only; docs/VALIDATION.md lists them with the held-out error. The same values
are used unchanged for H200 and, as the method, for B200.
"""
from __future__ import annotations

H100 = {
    "l2_bw": 2e+13,
    "launch_s": 2.415e-06,
    "mem_latency_s": 5.906e-07,
    "eff_mat_16": 0.9008,
    "eff_mat_8": 0.8038,
    "eff_mem": 0.7986,
    "overlap_p": 2.953,
    "rescale_exposed": 0.9787,
    "quant_tensor_s": 9.721e-06,
    "quant_block_s": 1.462e-06,
    "eff_sfu": 0.6792,
    "attn_tile_s": 3.242e-06,
    "link_latency_s": 5.622e-07,
    "eff_link": 0.6692,
    "comm_launch_s": 6.447e-06,
    "eff_mat_attn": 0.6296,
    "attn_dec_eff_mem": 0.802,
    "attn_fixed_s": 7.008e-06,
    "attn_dec_fixed_s": 2.203e-06,
    "comm_chunk_bytes": 1.593e+06,
    "eff_stream": 0.8955,
    "dec_max_group": 32,
    "attn_dec_tile_s": 9.742e-07,
    "attn_dec_cta16_s": 3.138e-06,
    "dec_split_rule": 1,
    "scale_drain_cycles": 9.998e-08,
    "smem_bw": 78.38,
}
