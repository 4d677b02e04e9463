"""Sweep specifications: a base architecture, axes, derived fields, constraints and sampling.

A sweep spec (YAML in workloads/sweeps/, or `SweepSpec.from_dict` in Python) names a design space:

    name: split-study
    base: ucie4-hbm4                     # bundled architecture name or a YAML path
    workload: {model: llama3.1-70b, precision: fp8, batch: 64, input_len: 1024, output_len: 1024}
    axes:
      - {name: cores, path: "dies[0].cores", values: [16, 24, 32]}
      - {name: stacks, path: "memory[0].count", values: [4, 8]}
      - {name: batch, values: [1, 16, 128]}          # a workload axis (no path)
      - {name: clock, path: "dies[0].clock_ghz", low: 1.6, high: 2.4}   # continuous (random/lhs)
    derived:
      "dies[0].area_mm2": "base.dies[0].area_mm2 * cores / base.dies[0].cores"
    constraints:
      - {name: cost_cap, require: "package_cost_usd <= 30000", reason: "budget"}
    sampling: {method: grid}             # grid | random | lhs, with n and seed for the last two

Axes with a `path` set one field of the architecture (dotted path into its YAML form:
`dies[0].cores`, `memory[0].generation`, `topology[0].link.bandwidth_gb_s`, `technology`,
`scale_up.bandwidth_gb_s`); axes without a path are workload axes named from `WORKLOAD_KEYS`.
`derived` fields are computed per point from safe expressions (`chipletarch.explore.expr`: no
`eval` of raw strings) over the axis values, `base` (the base Architecture) and the workload
values; constraints are expressions that must hold, with the architecture quantities of
`chipletarch.explore.evaluate.ARCH_QUANTITIES` available too, and the metrics (a constraint on
a metric, e.g. `power_w <= tdp_w`, is checked after evaluation). Every bad key or value raises a
`SpecError` naming file, line and path (the architecture loader's YAML-with-lines machinery).

A top-level `serving:` block (keys of `chipletarch.explore.serving.SERVING_DEFAULTS`: mode,
framework, concurrency, chunk, prefill/decode mappings and batches, max_packages, SLOs) makes
each point one `chipletarch.serving.evaluate_config` call instead; those keys may then be axes
too (docs/SWEEPS.md, "Serving sweeps"). A spec without it is read exactly as before.

Point numbering is part of the results-store contract: point `i` of a spec is always the same
design (grid: mixed radix over the axes, architecture axes outermost so consecutive points share
an architecture; random / lhs: row `i` of the seeded sample), so a resumed sweep recomputes
nothing and a store can be checked against its spec.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from .._paths import workloads_dir
from ..errors import SpecError
from .expr import Expr, compile_expr

# Workload axis names and their defaults (the `workload:` block may set any of them).
WORKLOAD_DEFAULTS = {
    "model": None,            # bundled model name or config path (required)
    "precision": "bf16",      # precision preset (chipletarch.formats.get_precision)
    "tp": 1, "pp": 1, "ep": 1, "dp": 1, "attention_dp": 1,
    "devices_per_package": 1,  # ranks per package (compute dies cut into equal groups)
    "batch": 1,               # concurrent sequences of the whole deployment
    "input_len": 1024,        # prompt tokens (prefill seq_len)
    "output_len": 1024,       # generated tokens (decode steps)
    "traffic": None,          # traffic profile name: sets input_len / output_len to its means
}
WORKLOAD_KEYS = tuple(WORKLOAD_DEFAULTS)
_INT_KEYS = ("tp", "pp", "ep", "dp", "attention_dp", "devices_per_package", "batch",
             "input_len", "output_len")
_STR_KEYS = ("model", "precision", "traffic")

SAMPLING_METHODS = ("grid", "random", "lhs")
TOP_KEYS = ("name", "description", "base", "workload", "serving", "axes", "derived",
            "constraints", "sampling", "options")
AXIS_KEYS = ("name", "path", "values", "range", "low", "high", "log", "integer")
OPTION_DEFAULTS = {
    # usable share of package memory for the fit check (1.0 as simulate's default)
    "memory_utilization": 1.0,
    # decode step at which TPOT is taken: 'mid' = input_len + output_len/2 cached tokens (the
    # average step, decode time being close to linear in context), 'end' or 'start'
    "tpot_context": "mid",
    "chunk_size": 2048,       # points per chunk (one committed transaction in the store)
}
# a serving point is one evaluate_config call (~1-4 ms): smaller chunks commit and report
# progress more often
SERVING_CHUNK_SIZE = 256

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_TOKEN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|(\.)")


# ----------------------------------------------------------------------------- paths
def parse_path(path: str, where: str = "path") -> tuple:
    """'dies[0].core.sram_kib' -> ('dies', 0, 'core', 'sram_kib'); SpecError when malformed."""
    if not isinstance(path, str) or not path:
        raise SpecError(f"{where}: expected a dotted field path like 'dies[0].cores', got {path!r}")
    out: list = []
    pos = 0
    expect_name = True
    while pos < len(path):
        m = _TOKEN_RE.match(path, pos)
        if not m:
            raise SpecError(f"{where}: cannot parse field path {path!r} at character {pos + 1}")
        name, idx, dot = m.groups()
        if name is not None:
            if not expect_name:
                raise SpecError(f"{where}: field path {path!r}: missing '.' before '{name}'")
            out.append(name)
            expect_name = False
        elif idx is not None:
            if expect_name or not out:
                raise SpecError(f"{where}: field path {path!r}: index without a field")
            out.append(int(idx))
        else:
            if expect_name:
                raise SpecError(f"{where}: field path {path!r}: empty field name")
            expect_name = True
        pos = m.end()
    if expect_name:
        raise SpecError(f"{where}: field path {path!r} ends with '.'")
    return tuple(out)


def format_path(parts: tuple) -> str:
    s = ""
    for p in parts:
        s += f"[{p}]" if isinstance(p, int) else (("." if s else "") + p)
    return s


def _check_path_on(arch, parts: tuple, where: str) -> None:
    """The path must lead through existing objects/lists of `arch` to a field of a spec model
    (the leaf may be unset, e.g. interposer_area_mm2 left to the catalog)."""
    obj = arch
    for depth, p in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(p, int):
            if not isinstance(obj, (list, tuple)):
                raise SpecError(f"{where}: '{format_path(parts[:depth])}' is not a list")
            if p >= len(obj):
                raise SpecError(f"{where}: '{format_path(parts[:depth + 1])}': the base has only "
                                f"{len(obj)} element(s)")
            obj = obj[p]
            continue
        fields = getattr(type(obj), "model_fields", None)
        if isinstance(obj, dict):
            if not last and p not in obj:
                raise SpecError(f"{where}: '{format_path(parts[:depth + 1])}' is not in the base")
            obj = obj.get(p)
            continue
        if fields is None:
            raise SpecError(f"{where}: '{format_path(parts[:depth])}' has no fields")
        if p not in fields:
            close = difflib.get_close_matches(p, list(fields), n=1)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            raise SpecError(f"{where}: {type(obj).__name__} has no field '{p}'{hint}")
        obj = getattr(obj, p)
        if obj is None and not last:
            raise SpecError(f"{where}: '{format_path(parts[:depth + 1])}' is not set in the base")


def _check_path_in_yaml(raw, parts: tuple, where: str) -> None:
    """Values are written into the base YAML as written (so catalog defaults follow a swept
    generation or node): the containers along the path must be in that YAML."""
    if raw is None:
        return
    obj = raw
    for depth, p in enumerate(parts[:-1]):
        ok = (isinstance(p, int) and isinstance(obj, list) and p < len(obj)) or \
            (isinstance(p, str) and isinstance(obj, dict) and p in obj)
        if not ok:
            raise SpecError(f"{where}: '{format_path(parts[:depth + 1])}' is not written in the "
                            f"base YAML (a default or the catalog fills it); write it there to "
                            f"sweep '{format_path(parts)}'")
        obj = obj[p]


def set_path(data: dict, parts: tuple, value) -> None:
    """Set `value` at `parts` inside the plain dict/list form of an architecture."""
    obj = data
    for p in parts[:-1]:
        obj = obj[p]
    obj[parts[-1]] = value


# ----------------------------------------------------------------------------- axes
@dataclasses.dataclass(frozen=True)
class Axis:
    """One sweep dimension: discrete `values`, or continuous [low, high] (random / lhs only)."""

    name: str
    path: tuple | None            # architecture field path; None for a workload axis
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @property
    def is_arch(self) -> bool:
        return self.path is not None

    @property
    def discrete(self) -> bool:
        return self.values is not None

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map uniform [0, 1) samples to axis values (discrete: equal-width strata)."""
        if self.discrete:
            idx = np.minimum((u * len(self.values)).astype(np.int64), len(self.values) - 1)
            return idx
        if self.log:
            v = np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        else:
            v = self.low + u * (self.high - self.low)
        return np.rint(v) if self.integer else v

    def value(self, raw):
        """A stored sample (an index for discrete axes) -> the Python value."""
        if self.discrete:
            return self.values[int(raw)]
        return int(raw) if self.integer else float(raw)

    def to_dict(self) -> dict:
        d = {"name": self.name}
        if self.path is not None:
            d["path"] = format_path(self.path)
        if self.discrete:
            d["values"] = list(self.values)
        else:
            d.update(low=self.low, high=self.high, log=self.log, integer=self.integer)
        return d


# ----------------------------------------------------------------------------- spec
@dataclasses.dataclass(frozen=True)
class Constraint:
    """`require` must hold. A constraint that reads a metric (power_w, ttft_s, ...) is checked
    after the point is evaluated (`post`): a failing point keeps its metrics and is marked
    pruned with the reason; the others prune before any engine work."""
    name: str
    require: Expr
    reason: str = ""
    post: bool = False


@dataclasses.dataclass
class SweepSpec:
    """A validated sweep spec. Build with `load_sweep(path)` or `SweepSpec.from_dict(d)`."""

    name: str
    base_name: str
    base: Any                      # the base Architecture
    workload: dict                 # fixed workload values (WORKLOAD_DEFAULTS filled in)
    axes: tuple                    # Axis, architecture axes first (grid order)
    derived: tuple                 # (path tuple, Expr)
    constraints: tuple             # Constraint
    method: str = "grid"
    n: int | None = None
    seed: int = 0
    options: dict = dataclasses.field(default_factory=lambda: dict(OPTION_DEFAULTS))
    description: str = ""
    base_file: str | None = None   # the YAML the base was read from
    filename: str = "<dict>"
    base_dir: str | None = None
    source: dict = dataclasses.field(default_factory=dict)   # the dict it was built from
    # serving mode (a `serving:` block): the fixed serving keys (explore.serving.SERVING_KEYS,
    # defaults filled in); None = the batched one-batch-in-flight sweep
    serving: dict | None = None
    serving_batch: bool = False    # serving mode: `batch` given (concurrency = decode_batch)
    _samples: Any = dataclasses.field(default=None, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: dict, *, filename: str = "<dict>", root=None,
                  base_dir: Path | None = None) -> "SweepSpec":
        return _build(data, filename, root, base_dir)

    def __reduce__(self):
        # Expressions hold code objects, which do not pickle: worker processes (local pool,
        # Dask) rebuild the spec from the dict it was read from (same checks, same points).
        return (_rebuild, (self.source, self.filename, self.base_dir))

    # ------------------------------------------------------------------ size and points
    @functools.cached_property
    def arch_axes(self) -> tuple:
        return tuple(a for a in self.axes if a.is_arch)

    @functools.cached_property
    def workload_axes(self) -> tuple:
        return tuple(a for a in self.axes if not a.is_arch)

    def __len__(self) -> int:
        if self.method == "grid":
            return int(np.prod([len(a.values) for a in self.axes], dtype=np.int64)) \
                if self.axes else 1
        return int(self.n)

    def raw_columns(self, indices) -> np.ndarray:
        """int/float matrix [len(indices), n_axes] of raw samples (discrete axes: value index)."""
        idx = np.asarray(indices, dtype=np.int64)
        if len(idx) and (idx.min() < 0 or idx.max() >= len(self)):
            raise SpecError(f"point index out of range 0..{len(self) - 1}")
        out = np.empty((len(idx), len(self.axes)), dtype=np.float64)
        if self.method == "grid":
            rem = idx.copy()
            for j in range(len(self.axes) - 1, -1, -1):
                k = len(self.axes[j].values)
                rem, out[:, j] = np.divmod(rem, k)
            return out
        return self._sample_matrix()[idx]

    def _sample_matrix(self) -> np.ndarray:
        if self._samples is None:
            self._samples = _sample(self.axes, self.method, int(self.n), int(self.seed))
        return self._samples

    def points(self, indices) -> list:
        """Axis values of each point: a list of {axis name: value} dicts."""
        return self.values_from_raw(self.raw_columns(indices))

    def values_from_raw(self, raw) -> list:
        """`raw_columns` output -> list of {axis name: value} dicts."""
        cols = []
        for j, a in enumerate(self.axes):
            if a.discrete:
                cols.append([a.values[k] for k in raw[:, j].astype(np.int64).tolist()])
            elif a.integer:
                cols.append([int(v) for v in raw[:, j].tolist()])
            else:
                cols.append(raw[:, j].tolist())
        names = [a.name for a in self.axes]
        return [dict(zip(names, row)) for row in zip(*cols)] if cols else \
            [{} for _ in range(raw.shape[0])]

    def point(self, i: int) -> dict:
        return self.points([i])[0]

    # ------------------------------------------------------------------ identity
    def canonical(self) -> dict:
        """JSON-ready normal form: everything that decides the points and their results."""
        from ..workload import load_model, load_traffic
        models, traffic = set(), set()
        for a in self.axes:
            if a.name == "model":
                models.update(a.values)
            if a.name == "traffic":
                traffic.update(v for v in a.values if v is not None)
        if self.workload.get("model"):
            models.add(self.workload["model"])
        if self.workload.get("traffic"):
            traffic.add(self.workload["traffic"])
        out = {
            "name": self.name,
            "base": self.base.to_dict(),
            "workload": self.workload,
            "axes": [a.to_dict() for a in self.axes],
            "derived": [[format_path(p), e.text] for p, e in self.derived],
            "constraints": [[c.name, c.require.text, c.reason] for c in self.constraints],
            "sampling": {"method": self.method, "n": self.n, "seed": self.seed},
            "options": {k: v for k, v in self.options.items() if k != "chunk_size"},
            # model configs and traffic profiles as resolved now (a changed file changes the hash)
            "models": {m: repr(load_model(m).config) for m in sorted(models)},
            "traffic": {t: repr(load_traffic(t)) for t in sorted(traffic)},
        }
        if self.serving is not None:
            # only serving specs carry the key, so a spec without `serving:` hashes as before;
            # the framework costs as resolved now (a refit changes the hash)
            from ..serving import framework_costs
            fws = set()
            for a in self.axes:
                if a.name == "framework":
                    fws.update(a.values)
            if "framework" not in {a.name for a in self.axes}:
                fws.add(self.serving["framework"])
            out["serving"] = {"keys": self.serving, "batch_shorthand": self.serving_batch,
                              "frameworks": {f: repr(framework_costs(f)) for f in sorted(fws)}}
        return out

    def spec_hash(self) -> str:
        """sha256 of `canonical()`: equal hashes mean the same points with the same inputs."""
        blob = json.dumps(self.canonical(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()


# ----------------------------------------------------------------------------- loading
def load_sweep(path) -> SweepSpec:
    """Load a sweep YAML by path, or by name from workloads/sweeps/."""
    p = Path(path)
    if not p.is_file():
        bundled = sweeps_dir() / f"{path}.yaml"
        if not p.suffix and bundled.is_file():
            p = bundled
        else:
            names = list_sweeps()
            close = difflib.get_close_matches(str(path), names, n=1, cutoff=0.5)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            raise SpecError(f"no sweep file or bundled sweep '{path}'{hint}"
                            f" (bundled: {', '.join(names) or 'none'})")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{p}: cannot read: {exc}") from None
    return sweep_from_yaml(text, str(p), base_dir=p.parent)


def sweep_from_yaml(text: str, filename: str = "<string>", base_dir=None) -> SweepSpec:
    from ..arch.loader import _parse   # YAML with line numbers and duplicate-key errors
    root, data = _parse(text, filename)
    return _build(data, filename, root, Path(base_dir) if base_dir else None)


def sweeps_dir() -> Path:
    return workloads_dir() / "sweeps"


def list_sweeps() -> list:
    d = sweeps_dir()
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


class _Where:
    """Builds `file:line: path:` prefixes from the YAML node tree (when there is one)."""

    def __init__(self, filename, root):
        self.filename = filename
        self.root = root

    def __call__(self, *loc) -> str:
        from ..arch.loader import _line_of
        path = format_path(tuple(loc)) if loc else "(top)"
        if self.root is None:
            return f"{self.filename}: {path}"
        return f"{self.filename}:{_line_of(self.root, tuple(loc))}: {path}"


def _unknown(keys, allowed, where, loc):
    for k in keys:
        if k not in allowed:
            close = difflib.get_close_matches(str(k), allowed, n=1)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            raise SpecError(f"{where(*loc, k)}: unknown key '{k}'{hint} "
                            f"(allowed: {', '.join(allowed)})")


def _workload_value(key, v, where):
    if key in _INT_KEYS:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v or v < 1:
            raise SpecError(f"{where}: {key} must be a positive integer, got {v!r}")
        return int(v)
    if key in _STR_KEYS:
        if v is None and key == "traffic":
            return None
        if not isinstance(v, str) or not v:
            raise SpecError(f"{where}: {key} must be a name (string), got {v!r}")
        try:
            if key == "model":
                from ..workload import load_model
                load_model(v)
            elif key == "precision":
                from ..formats import get_precision
                get_precision(v)
            else:
                from ..workload import load_traffic
                load_traffic(v)
        except SpecError as exc:
            raise SpecError(f"{where}: {exc}") from None
        return v
    raise SpecError(f"{where}: unknown workload key {key!r}")


_SERVING_INT_KEYS = ("concurrency", "chunk", "prefill_tp", "prefill_ep", "prefill_attention_dp",
                     "prefill_batch", "decode_tp", "decode_ep", "decode_attention_dp",
                     "decode_batch", "max_packages")


def _input_value(key, v, where):
    """An axis value: a workload key's or a serving key's."""
    from .serving import SERVING_KEYS
    if key in SERVING_KEYS:
        return _serving_value(key, v, where)
    return _workload_value(key, v, where)


def _serving_value(key, v, where):
    from .serving import SERVING_MODES, SERVING_OPTIONAL
    if v is None and key in SERVING_OPTIONAL:
        if key == "framework":
            from ..serving import DEFAULT_FRAMEWORK
            return DEFAULT_FRAMEWORK
        return None
    if key in ("mode", "framework"):
        from ..serving import FRAMEWORKS
        choices, say = ((SERVING_MODES, " or ".join(SERVING_MODES)) if key == "mode" else
                        (FRAMEWORKS, "one of " + ", ".join(FRAMEWORKS)))
        if v not in choices:
            close = difflib.get_close_matches(str(v), choices, n=1)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            raise SpecError(f"{where}: {key} must be {say}, got {v!r}{hint}")
        return v
    if key in _SERVING_INT_KEYS:
        low = 2 if key == "chunk" else 1
        if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v or v < low:
            raise SpecError(f"{where}: {key} must be an integer >= {low}"
                            f"{' or null (default)' if key in SERVING_OPTIONAL else ''}, "
                            f"got {v!r}")
        return int(v)
    if key in ("ttft_slo_ms", "tpot_slo_ms"):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or v <= 0:
            raise SpecError(f"{where}: {key} must be a positive number of milliseconds or null "
                            f"(no target), got {v!r}")
        return float(v)
    raise SpecError(f"{where}: unknown serving key {key!r}")


def _number(v, where, what):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise SpecError(f"{where}: {what} must be a finite number, got {v!r}")
    return v


def _build(data, filename, root, base_dir) -> SweepSpec:
    from ..arch import load_architecture
    from ..arch.loader import architecture_path

    where = _Where(filename, root)
    if not isinstance(data, dict):
        raise SpecError(f"{where()}: a sweep spec is a mapping (name, base, axes, ...)")
    _unknown(data, TOP_KEYS, where, ())
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise SpecError(f"{where('name')}: a sweep needs a name (string)")
    base_ref = data.get("base")
    if not isinstance(base_ref, str):
        raise SpecError(f"{where('base')}: base must name an architecture or a YAML path")
    cand = (base_dir / base_ref) if base_dir is not None else None
    try:
        base_file = str(cand if cand is not None and cand.is_file()
                        else architecture_path(base_ref))
        base = load_architecture(base_file)
    except SpecError as exc:
        raise SpecError(f"{where('base')}: {exc}") from None

    try:
        import yaml
        with open(base_file, encoding="utf-8") as fh:
            base_yaml = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError):
        base_yaml = None

    wl_raw = data.get("workload") or {}
    if not isinstance(wl_raw, dict):
        raise SpecError(f"{where('workload')}: expected a mapping of workload keys")
    _unknown(wl_raw, WORKLOAD_KEYS, where, ("workload",))
    workload = dict(WORKLOAD_DEFAULTS)
    for k, v in wl_raw.items():
        workload[k] = _workload_value(k, v, where("workload", k))

    # serving mode: one evaluate_config call per point (explore/serving.py)
    from .serving import SERVING_DEFAULTS, SERVING_KEYS, SERVING_UNUSED_WORKLOAD
    serving = None
    sv_raw = {}
    if "serving" in data:
        sv_raw = data.get("serving") or {}
        if not isinstance(sv_raw, dict):
            raise SpecError(f"{where('serving')}: expected a mapping of serving keys "
                            f"({', '.join(SERVING_KEYS)}), or {{}} for the defaults")
        _unknown(sv_raw, SERVING_KEYS, where, ("serving",))
        serving = dict(SERVING_DEFAULTS)
        serving["framework"] = _serving_value("framework", None, where("serving"))
        for k, v in sv_raw.items():
            serving[k] = _serving_value(k, v, where("serving", k))
        for k in SERVING_UNUSED_WORKLOAD:
            if k in wl_raw:
                raise SpecError(f"{where('workload', k)}: '{k}' has no meaning in a serving "
                                f"sweep (a package is one device; instances are sized by tp, "
                                f"pools by rate matching)")

    axes_raw = data.get("axes") or []
    if not isinstance(axes_raw, list):
        raise SpecError(f"{where('axes')}: expected a list of axes")
    axes = []
    seen = set()
    axis_loc = {}
    for i, ax in enumerate(axes_raw):
        loc = ("axes", i)
        if not isinstance(ax, dict):
            raise SpecError(f"{where(*loc)}: an axis is a mapping (name, path, values, ...)")
        _unknown(ax, AXIS_KEYS, where, loc)
        path = ax.get("path")
        aname = ax.get("name")
        if path is None:
            if aname in SERVING_KEYS and serving is None:
                raise SpecError(f"{where(*loc, 'name')}: '{aname}' is a serving key: add a "
                                f"top-level `serving:` block (serving: {{}} for the defaults) "
                                f"to sweep serving configurations (docs/SWEEPS.md)")
            keys = WORKLOAD_KEYS + (SERVING_KEYS if serving is not None else ())
            if aname not in keys:
                close = difflib.get_close_matches(str(aname), keys, n=1)
                hint = f" — did you mean '{close[0]}'?" if close else ""
                what = "workload or serving key" if serving is not None else "workload key"
                raise SpecError(f"{where(*loc, 'name')}: an axis without a path must be a "
                                f"{what} ({', '.join(keys)}), got {aname!r}{hint}")
            if serving is not None and aname in SERVING_UNUSED_WORKLOAD:
                raise SpecError(f"{where(*loc, 'name')}: '{aname}' has no meaning in a serving "
                                f"sweep (a package is one device)")
            parts = None
        else:
            parts = parse_path(path, where(*loc, "path"))
            _check_path_on(base, parts, where(*loc, "path"))
            _check_path_in_yaml(base_yaml, parts, where(*loc, "path"))
            if aname is None:
                aname = format_path(parts).replace("[", "_").replace("]", "").replace(".", "_")
        if not isinstance(aname, str) or not _NAME_RE.match(aname):
            raise SpecError(f"{where(*loc, 'name')}: axis name must be an identifier "
                            f"(letters, digits, _), got {aname!r}")
        if aname in seen:
            raise SpecError(f"{where(*loc, 'name')}: axis '{aname}' is defined twice")
        if parts is not None and (aname in WORKLOAD_KEYS or aname in SERVING_KEYS):
            raise SpecError(f"{where(*loc, 'name')}: '{aname}' is a workload or serving key; "
                            f"give the architecture axis another name")
        seen.add(aname)
        axis_loc[aname] = i
        kinds = [k for k in ("values", "range", "low") if k in ax]
        if len(kinds) != 1 or ("low" in ax) != ("high" in ax):
            raise SpecError(f"{where(*loc)}: give exactly one of values: [...], range: "
                            f"{{start, stop, num|step}}, or low/high")
        log = bool(ax.get("log", False))
        integer = bool(ax.get("integer", False))
        if "values" in ax:
            vals = ax["values"]
            if not isinstance(vals, list) or not vals:
                raise SpecError(f"{where(*loc, 'values')}: expected a non-empty list")
            if parts is None:
                vals = [_input_value(aname, v, where(*loc, "values", j))
                        for j, v in enumerate(vals)]
            if len(set(map(repr, vals))) != len(vals):
                raise SpecError(f"{where(*loc, 'values')}: values repeat")
            axes.append(Axis(aname, parts, tuple(vals)))
        elif "range" in ax:
            r = ax["range"]
            if not isinstance(r, dict):
                raise SpecError(f"{where(*loc, 'range')}: expected {{start, stop, num|step}}")
            _unknown(r, ("start", "stop", "num", "step"), where, loc + ("range",))
            start = _number(r.get("start"), where(*loc, "range", "start"), "start")
            stop = _number(r.get("stop"), where(*loc, "range", "stop"), "stop")
            if ("num" in r) == ("step" in r):
                raise SpecError(f"{where(*loc, 'range')}: give num or step (one of them)")
            if "num" in r:
                num = r["num"]
                if isinstance(num, bool) or not isinstance(num, int) or num < 1:
                    raise SpecError(f"{where(*loc, 'range', 'num')}: num must be an integer >= 1")
                if log:
                    if start <= 0 or stop <= 0:
                        raise SpecError(f"{where(*loc, 'range')}: log ranges need start, stop > 0")
                    vals = np.geomspace(start, stop, num)
                else:
                    vals = np.linspace(start, stop, num)
            else:
                step = _number(r["step"], where(*loc, "range", "step"), "step")
                if step <= 0 or stop < start:
                    raise SpecError(f"{where(*loc, 'range')}: need step > 0 and stop >= start")
                vals = np.arange(start, stop + step * 1e-9, step)
            if integer or all(isinstance(x, int) for x in (start, stop, r.get("step", 0))) \
                    and "step" in r:
                vals = [int(round(v)) for v in vals]
                vals = list(dict.fromkeys(vals))
            else:
                vals = [round(float(v), 12) for v in vals]
            if parts is None:
                vals = [_input_value(aname, v, where(*loc, "range")) for v in vals]
            axes.append(Axis(aname, parts, tuple(vals)))
        else:
            lo = _number(ax["low"], where(*loc, "low"), "low")
            hi = _number(ax["high"], where(*loc, "high"), "high")
            if not lo < hi:
                raise SpecError(f"{where(*loc, 'low')}: need low < high")
            if log and lo <= 0:
                raise SpecError(f"{where(*loc, 'low')}: log axes need low > 0")
            if parts is None and aname in _STR_KEYS + ("mode", "framework"):
                raise SpecError(f"{where(*loc)}: '{aname}' takes values: [...], not low/high")
            if parts is None:
                integer = aname in _INT_KEYS + _SERVING_INT_KEYS or integer
            axes.append(Axis(aname, parts, None, float(lo), float(hi), log, integer))
    # architecture axes first: consecutive grid points then share an architecture
    axes = [a for a in axes if a.is_arch] + [a for a in axes if not a.is_arch]
    names = {a.name for a in axes}
    if workload.get("model") is None and "model" not in names:
        raise SpecError(f"{where('workload')}: no model: set workload.model or add a model axis")
    if "traffic" in names or workload.get("traffic"):
        clash = {"input_len", "output_len"} & (names | set(wl_raw))
        if clash:
            raise SpecError(f"{where('workload')}: traffic sets input_len/output_len; do not "
                            f"also give {', '.join(sorted(clash))}")
    serving_batch = False
    if serving is not None:
        serving_batch = "batch" in names or "batch" in wl_raw
        both = {"concurrency", "decode_batch"} & (names | set(sv_raw))
        if serving_batch and both:
            raise SpecError(f"{where('serving')}: in a serving sweep `batch` sets both "
                            f"concurrency (co-located) and decode_batch (disaggregated); give "
                            f"either batch or {', '.join(sorted(both))}, not both")

    derived = []
    d_raw = data.get("derived") or {}
    if not isinstance(d_raw, dict):
        raise SpecError(f"{where('derived')}: expected a mapping of field path -> expression")
    allowed = names | set(WORKLOAD_KEYS) | {"base"}
    if serving is not None:
        allowed |= set(SERVING_KEYS)
    for key, text in d_raw.items():
        parts = parse_path(key, where("derived", key))
        _check_path_on(base, parts, where("derived", key))
        _check_path_in_yaml(base_yaml, parts, where("derived", key))
        if any(a.path == parts for a in axes):
            raise SpecError(f"{where('derived', key)}: '{key}' is also an axis")
        e = compile_expr(str(text) if isinstance(text, (int, float)) else text,
                         where("derived", key))
        unknown = e.names - allowed
        if unknown:
            raise SpecError(f"{where('derived', key)}: unknown name(s) {', '.join(sorted(unknown))}"
                            f" (known: axis names, workload keys, base)")
        derived.append((parts, e))

    from .evaluate import ARCH_QUANTITIES, METRICS, TEXT_METRICS   # names constraints read
    constraints = []
    c_raw = data.get("constraints") or []
    if not isinstance(c_raw, list):
        raise SpecError(f"{where('constraints')}: expected a list of {{name, require, reason}}")
    metric_names = set(METRICS) | set(TEXT_METRICS)
    quantities = set(ARCH_QUANTITIES)
    if serving is not None:
        # a serving point's packages are a result (rate-matched pools), and it has no `world`
        from .serving import SERVING_METRICS, SERVING_TEXT_METRICS
        metric_names = set(SERVING_METRICS) | set(SERVING_TEXT_METRICS)
        quantities -= {"world", "packages"}
    c_allowed = allowed | quantities | {"arch"} | metric_names
    for i, c in enumerate(c_raw):
        loc = ("constraints", i)
        if not isinstance(c, dict):
            raise SpecError(f"{where(*loc)}: a constraint is a mapping {{name, require, reason}}")
        _unknown(c, ("name", "require", "reason"), where, loc)
        cname = c.get("name")
        if not isinstance(cname, str) or not _NAME_RE.match(cname):
            raise SpecError(f"{where(*loc, 'name')}: constraint name must be an identifier")
        if "require" not in c:
            raise SpecError(f"{where(*loc)}: constraint '{cname}' needs require: <expression>")
        e = compile_expr(c["require"], where(*loc, "require"))
        unknown = e.names - c_allowed
        if unknown:
            raise SpecError(f"{where(*loc, 'require')}: unknown name(s) "
                            f"{', '.join(sorted(unknown))} (known: axis names, workload keys, "
                            f"base, arch, {', '.join(sorted(quantities))}, and the metrics "
                            f"{', '.join(sorted(metric_names))})")
        constraints.append(Constraint(cname, e, str(c.get("reason", "")),
                                      post=bool(e.names & (metric_names - quantities))))

    s_raw = data.get("sampling") or {"method": "grid"}
    if not isinstance(s_raw, dict):
        raise SpecError(f"{where('sampling')}: expected {{method, n, seed}}")
    _unknown(s_raw, ("method", "n", "seed"), where, ("sampling",))
    method = s_raw.get("method", "grid")
    if method not in SAMPLING_METHODS:
        raise SpecError(f"{where('sampling', 'method')}: method must be one of "
                        f"{', '.join(SAMPLING_METHODS)}, got {method!r}")
    n = s_raw.get("n")
    seed = s_raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError(f"{where('sampling', 'seed')}: seed must be an integer >= 0")
    if method == "grid":
        if n is not None:
            raise SpecError(f"{where('sampling', 'n')}: a grid has no n (its size is the "
                            f"product of the axis lengths)")
        cont = [a.name for a in axes if not a.discrete]
        if cont:
            raise SpecError(f"{where('axes', axis_loc[cont[0]])}: grid sampling needs discrete "
                            f"axes; {', '.join(cont)} use low/high (use values/range, or "
                            f"sampling method random / lhs)")
    elif isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SpecError(f"{where('sampling', 'n')}: {method} sampling needs n (an integer >= 1)")

    o_raw = data.get("options") or {}
    if not isinstance(o_raw, dict):
        raise SpecError(f"{where('options')}: expected a mapping")
    _unknown(o_raw, tuple(OPTION_DEFAULTS), where, ("options",))
    options = dict(OPTION_DEFAULTS)
    if serving is not None:
        options["chunk_size"] = SERVING_CHUNK_SIZE
        for k in ("memory_utilization", "tpot_context"):
            if k in o_raw:
                raise SpecError(f"{where('options', k)}: not used by a serving sweep (the "
                                f"serving layer checks memory at 90 % of the package and takes "
                                f"TPOT at its own mean context)")
    options.update(o_raw)
    mu = options["memory_utilization"]
    if isinstance(mu, bool) or not isinstance(mu, (int, float)) or not 0 < mu <= 1:
        raise SpecError(f"{where('options', 'memory_utilization')}: must be in (0, 1]")
    if options["tpot_context"] not in ("mid", "end", "start"):
        raise SpecError(f"{where('options', 'tpot_context')}: must be mid, end or start")
    cs = options["chunk_size"]
    if isinstance(cs, bool) or not isinstance(cs, int) or cs < 1:
        raise SpecError(f"{where('options', 'chunk_size')}: must be an integer >= 1")

    spec = SweepSpec(name=name, base_name=base_ref, base=base, workload=workload,
                     axes=tuple(axes), derived=tuple(derived), constraints=tuple(constraints),
                     method=method, n=n, seed=seed, options=options,
                     description=str(data.get("description", "")), base_file=base_file,
                     filename=filename, base_dir=str(base_dir) if base_dir else None,
                     source=data, serving=serving, serving_batch=serving_batch)
    return spec


def _rebuild(source, filename, base_dir):
    return _build(source, filename, None, Path(base_dir) if base_dir else None)


# ----------------------------------------------------------------------------- sampling
def _sample(axes, method: str, n: int, seed: int) -> np.ndarray:
    """[n, n_axes] raw samples (value index for discrete axes) for random / lhs sampling.

    lhs: each axis's [0, 1) is cut into n equal strata, every stratum is used exactly once (a
    random permutation per axis, independent across axes) and the point sits uniformly inside
    its stratum; discrete axes map strata to values in equal shares."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, len(axes)), dtype=np.float64)
    for j, a in enumerate(axes):
        if method == "random":
            u = rng.random(n)
        else:
            u = (rng.permutation(n) + rng.random(n)) / n
        out[:, j] = a.from_unit(u)
    return out


__all__ = ["SweepSpec", "Axis", "Constraint", "load_sweep", "sweep_from_yaml", "list_sweeps",
           "sweeps_dir", "parse_path", "format_path", "set_path", "WORKLOAD_DEFAULTS",
           "WORKLOAD_KEYS", "SAMPLING_METHODS"]
