"""Mixture-of-experts expectations: distinct experts touched and tokens per expert.

Assumption (documented in docs/WORKLOADS.md): each token picks its top-k experts as a uniformly
random k-subset of the E experts, independently of other tokens. Real routers are not uniform, but
load-balancing losses (Mixtral, Qwen3) and bias-based balancing (DeepSeek-V3) push them towards
it; the uniform model is the standard analytical baseline and gives the small-batch effect that
matters for decode: with T tokens a given expert is missed by one token with probability 1 - k/E,
so it is touched with probability 1 - (1 - k/E)^T and the expected number of distinct experts
touched is E * (1 - (1 - k/E)^T). Expected (token, expert) assignments are exactly T * k.
"""
from __future__ import annotations

import numpy as np


def expected_experts_touched(num_experts: int, top_k: int, tokens, local_experts=None):
    """Expected distinct experts (of `local_experts`, default all E) hit by `tokens` tokens.

    `tokens` may be a float or an array. Each token routes to k distinct experts out of E,
    uniformly; an expert is untouched by one token with probability 1 - k/E.
    """
    E = float(num_experts)
    el = E if local_experts is None else float(local_experts)
    miss = 1.0 - top_k / E
    return el * (1.0 - np.power(miss, tokens))


def expected_max_experts_touched(num_experts: int, top_k: int, tokens: float,
                                 local_experts: int, ranks: int) -> float:
    """Expected largest number of distinct local experts touched on any of `ranks` EP ranks.

    Under expert parallelism the MoE layer ends at a barrier (all-reduce or combine), so the
    step waits for the rank whose grouped GEMM reads the most expert weights. With the uniform
    routing above, each of a rank's `local_experts` is touched with probability
    p = 1 - (1 - k/E)^T; the count is taken as Binomial(local_experts, p), independently per rank
    (the ranks' counts are in fact weakly anti-correlated, so this slightly overstates the max),
    and E[max of `ranks` counts] = sum_j (1 - F(j)^ranks). Equals the mean when ranks == 1."""
    import math
    n, r = int(local_experts), int(ranks)
    p = 1.0 - (1.0 - top_k / float(num_experts)) ** float(tokens)
    if r <= 1 or n <= 0 or p <= 0.0 or p >= 1.0:
        return float(n * p) if p < 1.0 else float(n)
    cdf, acc = 0.0, 0.0
    for j in range(n):
        cdf += math.comb(n, j) * p ** j * (1.0 - p) ** (n - j)
        acc += 1.0 - min(cdf, 1.0) ** r
    return acc


def expected_tokens_per_expert(num_experts: int, top_k: int, tokens):
    """Expected tokens processed by one expert: T * k / E (over all experts, touched or not)."""
    return tokens * top_k / float(num_experts)


def monte_carlo_experts_touched(num_experts: int, top_k: int, tokens: int, trials: int,
                                rng: np.random.Generator) -> float:
    """Monte Carlo estimate of the distinct experts touched (for checking the closed form)."""
    counts = np.empty(trials)
    for t in range(trials):
        # argpartition of uniform keys = a uniformly random k-subset per token
        keys = rng.random((tokens, num_experts))
        chosen = np.argpartition(keys, top_k - 1, axis=1)[:, :top_k]
        counts[t] = np.unique(chosen).size
    return float(counts.mean())
