"""Serving-framework costs outside the kernels: the one place that holds the fitted values.

The engine times kernels. A serving framework adds three costs the kernels do not carry
(docs/SERVING.md, "Costs outside the kernels"):

- a per-iteration overhead, `fixed + per_sequence x n` for an iteration carrying n sequences
  (`latency.HostOverhead`), seen by the steady state and the DES alike;
- a front-end latency per request (HTTP, chat template, tokenising) before the scheduler sees it:
  the DES draws it per request (exponential, mean `frontend_s`), the steady state adds the mean
  to TTFT;
- a disaggregated hand-over latency per request beyond the KV transfer time, added to TTFT;
  per backend (`HANDOVER_S`: the KV hand-over stacks differ, SGLang's PD transfer engine vs
  TensorRT-LLM / Dynamo's NIXL-UCX path), fitted on that backend's disaggregated training rows;
  a backend without such rows (vLLM) takes the pooled fit over all of them
  (`HANDOVER_POOLED_S`; `handover_s(backend)`).

`framework` = 'none' (kernel time only) | 'trtllm' | 'vllm' | 'sglang' (the values fitted for that
backend) | a `FrameworkCosts` (your own values, e.g. refitted for another host). The studies,
`evaluate_point` / `evaluate_config`, the elastic plan and `chipletarch serve` take it;
`DEFAULT_FRAMEWORK` is what they use when it is not given (docs/SERVING.md gives the reasoning).

The values below were fitted by `python -m chipletarch.serving.validate --fit` on the training
half of the measured H100 deployments; `--fit --write` rewrites the block between the FITTED
markers (values and provenance). They belong to those host CPUs and framework versions more
than to the accelerator: on another accelerator they are a first guess.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import SpecError

FRAMEWORKS = ("none", "trtllm", "vllm", "sglang")
# realistic by default: a kernel-only figure is optimistic (the replay under-predicts TPOT by
# a signed -12 % and TTFT by -24 % without these costs). vLLM: the most widely deployed of the
# three, and the largest per-sequence term and fixed part (the least optimistic at large
# batches and high interactivity); docs/SERVING.md.
DEFAULT_FRAMEWORK = "vllm"
NAMES = {"none": "kernel time only", "trtllm": "TensorRT-LLM", "vllm": "vLLM",
         "sglang": "SGLang"}

# BEGIN FITTED (python -m chipletarch.serving.validate --fit --write rewrites this block)
FIT = {
    "data": "tests/data/silicon/e2e_silicon_calibration.csv (H100 SXM)",
    "versions": "sglang 0.5.1.post1/0.5.8, trtllm 0.8.1.post3/1.0.0rc3/1.2.0rc6.post1/1.3.0rc1, vllm 0.11.2/0.12.0/0.18.0/?",
    "rows": "training half (validate.split): 130 of 265 replayed rows",
    "handover": "per backend on its disaggregated training rows (sglang 6, trtllm 5; kept: sglang, a fit at the 1 s bound is not kept); pooled over all 11 for the others",
    "date": "2026-12-06",
    "commit": "dee4423",
}
# per-iteration overhead (fixed s, s per sequence in the iteration)
HOST_OVERHEAD = {
    "trtllm": (0.08085e-3, 32.99e-6),
    "vllm": (0.6044e-3, 27.35e-6),
    "sglang": (0.4558e-3, 18.16e-6),
}
# mean front-end latency per request, s
FRONTEND_S = {
    "trtllm": 0.089,
    "vllm": 0.024,
    "sglang": 0,
}
# disaggregated hand-over beyond the transfer, s per request, per backend (fitted on its
# disaggregated training rows); HANDOVER_POOLED_S: fitted on every backend's, for the others
HANDOVER_S = {
    "sglang": 0.312,
}
HANDOVER_POOLED_S = 0.312
# END FITTED


@dataclass(frozen=True)
class FrameworkCosts:
    """The costs one serving framework adds outside the kernels (seconds)."""

    name: str = "none"
    fixed_s: float = 0.0
    per_sequence_s: float = 0.0
    frontend_s: float = 0.0
    handover_s: float = 0.0

    @property
    def kernel_only(self) -> bool:
        return not (self.fixed_s or self.per_sequence_s or self.frontend_s or self.handover_s)

    def apply(self, inst):
        """`inst` with the per-iteration overhead on its phase latency (`inst` itself if 0)."""
        from .latency import with_host_overhead
        return with_host_overhead(inst, self.fixed_s, self.per_sequence_s)

    @property
    def fitted(self) -> bool:
        """Are these the stored fitted values of a backend (not given ones)?"""
        return self.name in HOST_OVERHEAD and self == framework_costs(self.name)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["fitted"] = self.fitted
        if d["fitted"]:
            d["fit"] = dict(FIT)
        return d

    def describe(self) -> str:
        """One line stating which costs outside the kernels a figure includes."""
        if self.kernel_only:
            return f"framework: {self.name} (kernel time only)"
        who = (f"{NAMES[self.name]} costs fitted on H100 deployments ({FIT['commit']})"
               if self.fitted else "given costs")
        return (f"framework: {self.name} (kernel time + {who}: {self.fixed_s * 1e3:.3g} ms + "
                f"{self.per_sequence_s * 1e6:.3g} us x sequences per iteration, front-end "
                f"{self.frontend_s * 1e3:.3g} ms per request, disaggregated hand-over "
                f"{self.handover_s * 1e3:.4g} ms)")


def framework_costs(framework=None) -> FrameworkCosts:
    """The costs of `framework` ('none' | 'trtllm' | 'vllm' | 'sglang', None for
    `DEFAULT_FRAMEWORK`, or a `FrameworkCosts`, returned as is)."""
    if isinstance(framework, FrameworkCosts):
        return framework
    name = DEFAULT_FRAMEWORK if framework is None else str(framework).lower()
    if name == "none":
        return FrameworkCosts("none")
    if name not in HOST_OVERHEAD:
        raise SpecError(f"framework must be one of {', '.join(FRAMEWORKS)} (or a "
                        f"FrameworkCosts), got {framework!r}")
    fixed, per_seq = HOST_OVERHEAD[name]
    return FrameworkCosts(name, float(fixed), float(per_seq), float(FRONTEND_S.get(name, 0.0)),
                          handover_s(name))


def handover_s(backend=None) -> float:
    """The fitted disaggregated hand-over of `backend` (s per request): its own fit where it had
    disaggregated training rows, else the pooled fit (`HANDOVER_POOLED_S`, also for None)."""
    return float(HANDOVER_S.get(backend, HANDOVER_POOLED_S)) if backend is not None \
        else float(HANDOVER_POOLED_S)


def _handover_values(handover, pooled) -> tuple:
    """(per-backend dict, pooled) from `write_fitted`'s arguments: a single number (the form
    before per-backend hand-overs) is the pooled value with no backend of its own."""
    if isinstance(handover, dict):
        if pooled is None:
            raise ValueError("per-backend hand-overs need the pooled fit (handover_pooled=)")
        return dict(handover), float(pooled)
    return {}, float(handover if pooled is None else pooled)


def _fitted_block(host: dict, frontend: dict, handover, fit: dict, pooled=None) -> str:
    def s(v):
        return json.dumps(str(v))

    lines = ["# BEGIN FITTED (python -m chipletarch.serving.validate --fit --write rewrites "
             "this block)", "FIT = {"]
    for k, v in fit.items():
        lines.append(f"    {s(k)}: {s(v)},")
    lines += ["}", "# per-iteration overhead (fixed s, s per sequence in the iteration)",
              "HOST_OVERHEAD = {"]
    for be, (f, p) in host.items():
        lines.append(f'    "{be}": ({f * 1e3:.4g}e-3, {p * 1e6:.4g}e-6),')
    lines += ["}", "# mean front-end latency per request, s", "FRONTEND_S = {"]
    for be, v in frontend.items():
        lines.append(f'    "{be}": {v:.4g},')
    per_be, pooled = _handover_values(handover, pooled)
    lines += ["}", "# disaggregated hand-over beyond the transfer, s per request, per backend "
              "(fitted on its", "# disaggregated training rows); HANDOVER_POOLED_S: fitted on "
              "every backend's, for the others", "HANDOVER_S = {"]
    for be, v in per_be.items():
        lines.append(f'    "{be}": {v:.4g},')
    lines += ["}", f"HANDOVER_POOLED_S = {pooled:.4g}", "# END FITTED"]
    return "\n".join(lines)


_BLOCK = re.compile(r"^# BEGIN FITTED.*?^# END FITTED$", re.S | re.M)


def write_fitted(host: dict, frontend: dict, handover, fit: dict,
                 path: Path | None = None, handover_pooled: float | None = None) -> Path:
    """Rewrite the FITTED block of this file (or `path`) with the given values and provenance
    (`fit`: data, rows, date, commit). `handover`: {backend: s} with `handover_pooled` (the
    fit over every backend's rows, for the others), or one number for all backends (stored as
    the pooled value). Values are stored to 4 significant digits."""
    path = Path(path) if path is not None else Path(__file__)
    text = path.read_text()
    _handover_values(handover, handover_pooled)         # check before touching the file
    new, n = _BLOCK.subn(lambda m: _fitted_block(host, frontend, handover, fit,
                                                 handover_pooled), text)
    if n != 1:
        raise RuntimeError(f"{path}: no single FITTED block")
    path.write_text(new)
    return path
