"""Traffic profiles: input/output sequence-length distributions of a serving workload.

A profile (``workloads/traffic/*.yaml``) gives the input (ISL) and output (OSL) token counts of
requests as a distribution with a stated mean: ``fixed`` (every request the same) or
``lognormal`` with log-space standard deviation ``sigma``, truncated to [min, max] tokens.
The lognormal shape and the sigmas are modelling assumptions (request lengths in public serving
traces are right-skewed and roughly log-normal); each file says so next to the numbers. The
serving layer samples requests from here or uses the means.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .._paths import workloads_dir
from ..errors import SpecError

_DISTS = ("fixed", "lognormal")


@dataclass(frozen=True)
class LengthDist:
    """A token-count distribution: mean, kind, lognormal sigma, truncation bounds."""

    mean: float
    distribution: str = "fixed"
    sigma: float = 0.0
    min: int = 1
    max: int = 1 << 20

    @property
    def mu(self) -> float:
        """Log-space mean of the (untruncated) lognormal whose mean is `mean`:
        E[X] = exp(mu + sigma^2 / 2)  =>  mu = ln(mean) - sigma^2 / 2."""
        return math.log(self.mean) - self.sigma ** 2 / 2

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n integer lengths (int64), rounded and clipped to [min, max]."""
        if self.distribution == "fixed":
            return np.full(n, int(round(self.mean)), dtype=np.int64)
        x = rng.lognormal(self.mu, self.sigma, size=n)
        return np.clip(np.rint(x), self.min, self.max).astype(np.int64)


@dataclass(frozen=True)
class TrafficProfile:
    """Named request mix: input and output length distributions."""

    name: str
    description: str
    isl: LengthDist
    osl: LengthDist
    source: str = ""

    def sample(self, n: int, seed: int = 0) -> tuple:
        """(isl, osl) int64 arrays of n requests, reproducible for a seed."""
        rng = np.random.default_rng(seed)
        return self.isl.sample(n, rng), self.osl.sample(n, rng)


def _dist(raw, where: str) -> LengthDist:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = {"mean": raw}
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: expected a mapping with mean/distribution/sigma, got {raw!r}")
    unknown = set(raw) - {"mean", "distribution", "sigma", "min", "max"}
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {sorted(unknown)} (known: mean, distribution, "
                        f"sigma, min, max)")
    mean = raw.get("mean")
    if isinstance(mean, bool) or not isinstance(mean, (int, float)) or mean < 1:
        raise SpecError(f"{where}.mean: expected a number >= 1, got {mean!r}")
    kind = raw.get("distribution", "fixed")
    if kind not in _DISTS:
        raise SpecError(f"{where}.distribution: unknown {kind!r} (known: {', '.join(_DISTS)})")
    sigma = raw.get("sigma", 0.0)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or sigma < 0:
        raise SpecError(f"{where}.sigma: expected a number >= 0, got {sigma!r}")
    if kind == "lognormal" and sigma == 0:
        raise SpecError(f"{where}.sigma: lognormal needs sigma > 0")
    lo, hi = raw.get("min", 1), raw.get("max", 1 << 20)
    for nm, v in (("min", lo), ("max", hi)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise SpecError(f"{where}.{nm}: expected an integer >= 1, got {v!r}")
    if not lo <= mean <= hi:
        raise SpecError(f"{where}: mean {mean} outside [min {lo}, max {hi}]")
    return LengthDist(float(mean), kind, float(sigma), lo, hi)


def _traffic_dir() -> Path:
    return workloads_dir() / "traffic"


def list_traffic() -> list:
    """Names of the bundled traffic profiles.

    Files named `*_trace.yaml` in the same folder are time-varying traces for the serving
    study's elastic scaling (`chipletarch.serving.elastic.load_trace`), not steady profiles.
    """
    return sorted(p.stem for p in _traffic_dir().glob("*.yaml") if not p.stem.endswith("_trace"))


def load_traffic(name_or_path) -> TrafficProfile:
    """A bundled traffic profile by name (`list_traffic()`) or a YAML path."""
    p = Path(str(name_or_path))
    if p.suffix.lower() not in (".yaml", ".yml"):
        p = _traffic_dir() / f"{str(name_or_path).lower()}.yaml"
        if not p.exists():
            raise SpecError(f"unknown traffic profile '{name_or_path}' (bundled: "
                            f"{', '.join(list_traffic())}; or give a YAML path)")
    try:
        raw = yaml.safe_load(p.read_text())
    except OSError as exc:
        raise SpecError(f"{p}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{p}: invalid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{p}: expected a mapping")
    for key in ("isl", "osl"):
        if key not in raw:
            raise SpecError(f"{p}: field '{key}' is required")
    return TrafficProfile(name=str(raw.get("name", p.stem)),
                          description=str(raw.get("description", "")),
                          isl=_dist(raw["isl"], f"{p}: isl"), osl=_dist(raw["osl"], f"{p}: osl"),
                          source=str(raw.get("source", "")))
