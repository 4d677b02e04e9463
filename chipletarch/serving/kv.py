"""KV-cache hand-over between a prefill and a decode instance (disaggregated serving).

Size: `model.kv_bytes_per_token(precision)` (every layer's K and V, or MLA latent, in the KV
format of the precision preset) x the prompt's tokens. The prefill instance's ranks each send
their shard at once and the decode instance's ranks receive at once, so the pipe is the smaller
side's aggregate port bandwidth: packages x the port's per-direction bandwidth.

Network: both instances inside one scale-up domain (NVLink node: prefill + decode packages <=
`scale_up.domain_size`) use the scale-up port, otherwise the scale-out port (NIC). Time =
bytes / bandwidth + the port's one-way latency (0 where the architecture does not publish it;
the result says so in `notes`).

Energy: bytes x 8 x the port's pJ/bit, the coefficient the energy model charges the engine's
collectives on that port (`energy.coefficients_of(arch).port_pj_per_bit`: the architecture's
published figure, else its `energy:` block, else ENERGY.md's SerDes default). Each byte crosses
the port once; switches, NICs and host memory on the way are not charged (docs/SERVING.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InfeasibleError


@dataclass(frozen=True)
class KVTransfer:
    """One request's KV hand-over: bytes, pipe bandwidth (B/s), latency (s), seconds, network,
    energy (J) at the port's pJ/bit."""

    bytes: float
    bandwidth_bytes_per_s: float
    latency_s: float
    seconds: float
    network: str
    notes: tuple = field(default_factory=tuple)
    energy_j: float = 0.0
    pj_per_bit: float = 0.0


def kv_bytes(model, precision, tokens: float) -> float:
    """KV-cache bytes of `tokens` tokens of one sequence (whole model, all layers)."""
    return float(model.kv_bytes_per_token(precision)) * float(tokens)


def kv_transfer(arch, model, precision, tokens: float, prefill_packages: int,
                decode_packages: int, network: str | None = None) -> KVTransfer:
    """Time to move one prompt's KV cache (`tokens` tokens) from a prefill instance of
    `prefill_packages` packages to a decode instance of `decode_packages` packages.
    `network`: 'scale_up' | 'scale_out' | None (scale-up when both fit one domain)."""
    up, out = getattr(arch, "scale_up", None), getattr(arch, "scale_out", None)
    if network is None:
        dom = int(getattr(up, "domain_size", 1) or 1) if up is not None else 0
        network = "scale_up" if up is not None and prefill_packages + decode_packages <= dom \
            else "scale_out"
    port = up if network == "scale_up" else out
    if port is None:
        other = out if network == "scale_up" else up
        if other is None:
            raise InfeasibleError(f"{arch.name}: no scale-up or scale-out port: a disaggregated "
                                  f"deployment cannot hand the KV cache over")
        port, network = other, ("scale_out" if network == "scale_up" else "scale_up")
    bw = float(port.bandwidth_gb_s) * 1e9 * min(prefill_packages, decode_packages)
    notes = []
    lat = port.latency_ns
    if lat is None:
        notes.append(f"{network} latency not published for {arch.name}: counted as 0")
        lat = 0.0
    lat = float(lat) * 1e-9
    nbytes = kv_bytes(model, precision, tokens)
    from ..energy import coefficients_of
    pj = float(coefficients_of(arch).port_pj_per_bit.get(network, 0.0))
    return KVTransfer(nbytes, bw, lat, nbytes / bw + lat, network, tuple(notes),
                      energy_j=nbytes * 8.0 * pj * 1e-12, pj_per_bit=pj)
