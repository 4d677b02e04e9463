"""Closed-form phase latencies shared by the serving tests (seconds): prefill linear in tokens,
decode linear in batch and context, a chunk = decode + its prompt tokens. Hand-computed
expectations in the tests are written in these constants."""
from chipletarch.serving import Instance

A, BP, C0, D, E = 0.01, 2e-5, 0.005, 1e-4, 1e-8


def toy(phase, batch, seq_len=1, context_len=0, chunk_context_len=0):
    if phase == "prefill":
        return A + BP * batch * seq_len
    if phase == "decode":
        return C0 + D * batch + E * batch * context_len
    return C0 + D * batch + E * batch * context_len + BP * seq_len      # chunked


def inst(packages=1):
    return Instance(latency=toy, packages=packages, label="toy")


class ToyEnergy:
    """The toy latency with an energy: busy at `p` W (joules = p x the step's seconds), idle at
    `s` W of static power (`static_w`)."""

    def __init__(self, p=500.0, s=100.0):
        self.p, self.static_w = p, s

    def __call__(self, *a):
        return toy(*a)

    def energy(self, *a):
        return self.p * toy(*a)
