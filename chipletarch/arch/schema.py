"""Architecture schema: validated, immutable pydantic v2 objects describing one chiplet package.

One unit convention everywhere: the unit is a suffix of the field name and values are plain
numbers (`area_mm2`, `clock_ghz`, `bandwidth_gb_s` = decimal GB/s in EACH direction,
`capacity_gb` = decimal GB, `sram_kib`, `cache_mib`, `latency_ns`, `energy_pj_per_bit`, `tdp_w`).
A string such as "3.35 TB/s" is rejected with a message naming the expected unit.

Objects are frozen; derive variants with `evolve(**changes)` (alias `replace`), which re-runs every
check. Invalid Python input raises `chipletarch.errors.SpecError` naming the field path; the YAML
loader (loader.py) adds file and line numbers. Semantic checks (references, memory interfaces,
reticle and interposer limits, connectivity) run on the whole `Architecture` and report every
problem with its field path (`SemanticErrors`).

Top-level object: `Architecture`; `Package` is the same class (the issue's Python API name).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, PlainSerializer, Tag,
                      ValidationError, field_validator, model_validator)
from pydantic_core import PydanticCustomError

from ..errors import InfeasibleError, SpecError
from . import catalog
from .catalog import MemoryGeneration, PackageTechnology, ProcessNode
from .efficiency import Efficiency
from .energy_spec import EnergySpec
from .names import expand_pattern, instance_names, resolve
from .units import NonNeg, NonNegInt, PosInt, PosNum  # the one unit convention (units.py)

__all__ = [
    "Architecture", "Package", "Die", "ComputeDie", "Redundancy", "IODie", "SramDie", "MemoryControllerDie", "Core",
    "Systolic", "MemoryStack", "Link", "LinkParams", "Topology", "Port", "Efficiency", "SemanticErrors",
    "canonical_format", "format_error_path",
]

# Free text: printable, plus tab and newline. C0/C1 control characters and the Unicode line/paragraph
# separators are refused: YAML treats several of them as line breaks, so they would not round-trip.
Text = Annotated[str, Field(pattern=r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]*$")]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$", min_length=1)]
Refs = Union[str, list[str]]


# ----------------------------------------------------------------------------------------------
# Number formats: canonical names from chipletarch.formats (aliases accepted).

def canonical_format(name: str) -> str:
    """Canonical format name (`fp8` -> `fp8_e4m3`); raises SpecError for an unknown name."""
    from ..formats import get_format  # formats imports nothing from arch; import here keeps arch light
    return get_format(name).name


# ----------------------------------------------------------------------------------------------
# Catalog references: a name, or a mapping {name: ..., field: override, ...}.

def _catalog_ref(lookup, model):
    def before(value: Any) -> Any:
        if isinstance(value, model):
            return value
        if isinstance(value, str):
            return lookup(value).model_dump()
        if isinstance(value, dict):
            if "name" not in value:
                raise PydanticCustomError("catalog_ref", "a mapping here needs 'name' (the catalog entry to start from)")
            base = lookup(value["name"])
            # the catalog's source text does not describe a user's override; say so
            src = value.get("source", f"{base.source} Overridden in the architecture file: "
                                      f"{', '.join(k for k in value if k != 'name')}.")
            return {**base.model_dump(), **value, "name": base.name, "source": src}
        raise PydanticCustomError("catalog_ref", "expected a catalog name or a mapping with 'name'")

    def ser(value: BaseModel) -> Any:
        # a catalog entry as its name; an overridden one as name + changed fields (+ source when it is
        # not the text `before` would regenerate), so that loading the output gives an equal object
        base = lookup(value.name)
        if value == base:
            return value.name
        diff = {k: v for k, v in value.model_dump().items()
                if k not in ("name", "source") and getattr(base, k) != v}
        out = {"name": value.name, **diff}
        if value.source != f"{base.source} Overridden in the architecture file: {', '.join(diff)}.":
            out["source"] = value.source
        return out

    return [BeforeValidator(before, json_schema_input_type=Union[str, dict[str, Any]]),
            PlainSerializer(ser, return_type=Any)]


ProcessRef = Annotated[(ProcessNode, *_catalog_ref(catalog.lookup_process, ProcessNode))]
MemoryRef = Annotated[(MemoryGeneration, *_catalog_ref(catalog.lookup_memory, MemoryGeneration))]
TechnologyRef = Annotated[(PackageTechnology, *_catalog_ref(catalog.lookup_technology, PackageTechnology))]


# ----------------------------------------------------------------------------------------------
# Base class: frozen, no unknown keys, SpecError on bad Python input, evolve().

def format_error_path(loc: tuple) -> str:
    """('dies', 0, 'compute', 'area_mm2') -> 'dies[0].area_mm2' (union tags dropped)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _UNION_TAGS:
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _errors_text(exc: ValidationError, title: str) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        ctx_err = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_err, SemanticErrors):
            lines.extend(f"{format_error_path(loc)}: {msg}" for loc, msg in ctx_err.issues)
        else:
            lines.append(f"{format_error_path(err['loc'])}: {_clean_msg(err)}")
    return f"invalid {title}:\n  " + "\n  ".join(lines)


def _clean_msg(err: dict) -> str:
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg


class _SpecMeta(type(BaseModel)):
    # Python construction (`ComputeDie(...)`) raises SpecError like the loader does. This wraps the
    # metaclass call, not `__init__`: pydantic calls an overridden `__init__` during nested
    # validation too, which would nest error messages instead of reporting full field paths.
    def __call__(cls, *args: Any, **kwargs: Any):
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            raise SpecError(_errors_text(exc, cls.__name__)) from None


class _Spec(BaseModel, metaclass=_SpecMeta):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=False)

    @classmethod
    def from_dict(cls, data: Any):
        """Validate a plain mapping (as parsed from YAML/JSON); SpecError on bad input."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SpecError(_errors_text(exc, cls.__name__)) from None

    def evolve(self, **changes: Any):
        """A validated copy with `changes` applied (every check runs again)."""
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise SpecError(f"{type(self).__name__} has no field(s) {', '.join(sorted(unknown))}")
        return type(self).from_dict({**{k: getattr(self, k) for k in type(self).model_fields}, **changes})

    replace = evolve


# ----------------------------------------------------------------------------------------------
# Dies

class Systolic(_Spec):
    """A systolic matrix engine: rows x cols processing elements, one MAC each per cycle (native format)."""

    rows: PosInt = Field(description="PE rows")
    cols: PosInt = Field(description="PE columns")
    dataflow: Literal["weight-stationary", "output-stationary"] = Field(
        "weight-stationary", description="what stays in the PEs (fill/drain cycles depend on it)")


class Core(_Spec):
    """One core (SM, CU, tile, TensorCore): its matrix engine, vector and special-function units, local SRAM."""

    macs_per_cycle: dict[str, PosNum] = Field(
        default_factory=dict, description="dense matrix-engine MACs per clock per core, by number format")
    vector_flops_per_cycle: NonNeg = Field(0.0, description="vector-unit FLOPs per clock per core (FMA = 2)")
    sfu_ops_per_cycle: NonNeg = Field(0.0, description="special-function (exp, rsqrt) results per clock per core")
    sram_kib: NonNeg = Field(0.0, description="local SRAM (L1 / shared memory / scratchpad) per core, KiB")
    sram_bytes_per_cycle: NonNeg = Field(0.0, description="local SRAM bandwidth per core, bytes per clock")
    systolic: Optional[Systolic] = Field(None, description="set for a systolic-array matrix engine")

    @field_validator("macs_per_cycle", mode="before")
    @classmethod
    def _canonical_formats(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out: dict[Any, Any] = {}
        for key, v in value.items():
            name = canonical_format(str(key))
            if name in out:
                raise ValueError(f"format '{key}' is listed twice (both name '{name}')")
            out[name] = v
        return out


def _expand_range_name(data: Any) -> Any:
    """`name: xcd[0..7]` is shorthand for `name: xcd, count: 8` (the range must start at 0)."""
    if isinstance(data, dict) and isinstance(data.get("name"), str) and "[" in data["name"]:
        try:
            names = expand_pattern(data["name"])
        except ValueError as exc:
            raise PydanticCustomError("instance_range", "{msg}", {"msg": str(exc)})
        base = data["name"].split("[", 1)[0]
        if names != instance_names(base, len(names)) or len(names) < 2:
            raise PydanticCustomError("instance_range", "a ranged name must be base[0..n-1] with n >= 2, got {n}",
                                      {"n": repr(data["name"])})
        if data.get("count", len(names)) != len(names):
            raise PydanticCustomError("instance_range", "name {n} gives {k} instances but count is {c}",
                                      {"n": repr(data["name"]), "k": len(names), "c": data["count"]})
        data = {**data, "name": base, "count": len(names)}
    return data


class Redundancy(_Spec):
    """Replicated blocks a die can ship without (harvesting): `units` are built, `required_units`
    must work (H100 SXM: 66 of 72 TPCs = 132 of 144 SMs). Only the cost model reads it (die yield,
    docs/COST.md §2); the performance models use the die's enabled `cores`."""

    units: PosInt = Field(description="identical repairable blocks built on the die (SMs, TPCs, CUs)")
    required_units: PosInt = Field(description="blocks that must work for the die to be sold")
    area_fraction: float = Field(gt=0, le=1, description="share of the die area inside those blocks, "
                                                         "(0, 1]; the rest must be defect-free")

    @model_validator(mode="after")
    def _required_le_units(self):
        if self.required_units > self.units:
            raise ValueError(f"required_units ({self.required_units}) exceeds units ({self.units})")
        return self


class _DieBase(_Spec):
    name: Name = Field(description="definition name; instances are name0..name{count-1} when count > 1")
    count: PosInt = Field(1, description="number of identical instances")
    description: Text = Field("", description="free text")
    process: Optional[ProcessRef] = Field(None, description="catalog process node (N5, 4N, N3P, ...) or overrides")
    area_mm2: Optional[PosNum] = Field(None, description="die area, mm^2")
    clock_ghz: Optional[PosNum] = Field(None, description="clock, GHz")
    memory_interfaces: NonNegInt = Field(0, description="how many memory stacks this die instance can host")
    stacked: bool = Field(False, description="3D-stacked on another die (e.g. an XCD on an IOD): adds no "
                                             "interposer footprint; its host is the die it links to")
    cache_mib: NonNeg = Field(0.0, description="shared cache / global buffer on the die, MiB")
    redundancy: Optional[Redundancy] = Field(None, description="repairable blocks for the die-yield "
                                                                "model (cost only); None = every block must work")
    cache_bytes_per_cycle: Optional[NonNeg] = Field(None, description="cache bandwidth, bytes per die clock")
    cache_bandwidth_gb_s: Optional[NonNeg] = Field(None, description="cache bandwidth, decimal GB/s (alternative)")

    @model_validator(mode="before")
    @classmethod
    def _ranged_name(cls, data: Any) -> Any:
        return _expand_range_name(data)

    @model_validator(mode="after")
    def _one_cache_bandwidth(self):
        if self.cache_bytes_per_cycle is not None and self.cache_bandwidth_gb_s is not None:
            raise ValueError("give either cache_bytes_per_cycle or cache_bandwidth_gb_s, not both")
        if self.cache_bytes_per_cycle is not None and self.clock_ghz is None:
            raise ValueError("cache_bytes_per_cycle needs clock_ghz on the die (or use cache_bandwidth_gb_s)")
        return self

    @property
    def instances(self) -> list[str]:
        return instance_names(self.name, self.count)

    @property
    def cache_bytes(self) -> float:
        return self.cache_mib * 2**20

    @property
    def cache_bandwidth_bytes_per_s(self) -> float:
        """Cache bandwidth of one instance in bytes/s (0 when not given)."""
        if self.cache_bandwidth_gb_s is not None:
            return self.cache_bandwidth_gb_s * 1e9
        if self.cache_bytes_per_cycle is not None:
            return self.cache_bytes_per_cycle * self.clock_ghz * 1e9
        return 0.0


class ComputeDie(_DieBase):
    """A die with cores that execute matrix and vector work (GPU die, XCD, TPU TensorCore die, chiplet)."""

    kind: Literal["compute"] = "compute"
    clock_ghz: PosNum = Field(description="clock at which the per-cycle rates below are delivered, GHz")
    cores: PosInt = Field(description="active cores (SMs, CUs, tiles) per die instance")
    core: Core = Field(description="one core's matrix engine, vector/SFU rates and local SRAM")

    @model_validator(mode="after")
    def _has_compute(self):
        if not self.core.macs_per_cycle and self.core.vector_flops_per_cycle == 0:
            raise ValueError("a compute die needs core.macs_per_cycle or core.vector_flops_per_cycle")
        return self

    def supports(self, fmt: str) -> bool:
        return canonical_format(fmt) in self.core.macs_per_cycle

    def peak_flops(self, fmt: str) -> float:
        """Dense matrix FLOP/s of ONE instance in `fmt` (2 x MACs); 0.0 if the die does not list it."""
        return 2.0 * self.cores * self.core.macs_per_cycle.get(canonical_format(fmt), 0.0) * self.clock_ghz * 1e9

    @property
    def vector_flops(self) -> float:
        return self.cores * self.core.vector_flops_per_cycle * self.clock_ghz * 1e9

    @property
    def sram_bytes(self) -> float:
        """Local SRAM of all cores of one instance, bytes."""
        return self.cores * self.core.sram_kib * 1024


class IODie(_DieBase):
    """An I/O die: memory controllers, fabric, often a last-level cache (MI300X IOD)."""

    kind: Literal["io"] = "io"


class SramDie(_DieBase):
    """A die that is mostly SRAM (a cache or buffer chiplet)."""

    kind: Literal["sram"] = "sram"


class MemoryControllerDie(_DieBase):
    """A die that only bridges to memory stacks."""

    kind: Literal["memory-controller"] = "memory-controller"


def _die_kind(value: Any) -> str:
    if isinstance(value, dict):
        return value.get("kind", "compute")
    return getattr(value, "kind", "compute")


_UNION_TAGS = {"compute", "io", "sram", "memory-controller"}
Die = Annotated[
    Union[Annotated[ComputeDie, Tag("compute")], Annotated[IODie, Tag("io")], Annotated[SramDie, Tag("sram")],
          Annotated[MemoryControllerDie, Tag("memory-controller")]],
    Discriminator(_die_kind, custom_error_type="die_kind",
                  custom_error_message="die kind must be one of compute, io, sram, memory-controller"),
]


# ----------------------------------------------------------------------------------------------
# Memory, links, topologies, ports

class MemoryStack(_Spec):
    """A DRAM stack (HBM) or device (LPDDR/GDDR); `count` identical ones, each attached to a die instance."""

    name: Name = Field("hbm", description="definition name; instances name0.. when count > 1")
    count: PosInt = Field(1, description="number of identical stacks")
    inactive_count: NonNegInt = Field(
        0, description="further stacks of this kind built and attached but not enabled (H100 SXM: 6 "
                       "sites, 5 active): priced by the cost model (stack, attach, interposer "
                       "footprint); capacity, bandwidth and the graph use `count` only")
    generation: MemoryRef = Field(description="hbm2e | hbm3 | hbm3e | hbm4 | gddr6 | gddr7 | lpddr5 | lpddr5x")
    capacity_gb: PosNum = Field(description="usable capacity per stack, decimal GB")
    physical_capacity_gb: Optional[PosNum] = Field(
        None, description="capacity built per stack, decimal GB, when more than usable (priced by the "
                          "cost model); None = capacity_gb")
    bandwidth_gb_s: PosNum = Field(description="peak bandwidth per stack, decimal GB/s")
    stack_height: Optional[PosInt] = Field(
        None, description="DRAM dies per stack (8 = 8-Hi, 12 = 12-Hi), priced by the cost model "
                          "(taller stacks lose more to TSV/stacking yield); None = 8")
    # Optional only in the schema: filled from the generation's catalog entry when left out.
    energy_pj_per_bit: Optional[PosNum] = Field(None, description="access energy, pJ/bit (default: the "
                                                                  "generation's catalog value)")
    attach: Refs = Field(description="die instance(s): one for all stacks, one per stack, or equal blocks")

    @model_validator(mode="before")
    @classmethod
    def _energy_default(cls, data: Any) -> Any:
        data = _expand_range_name(data)
        if isinstance(data, dict) and data.get("energy_pj_per_bit") is None and "generation" in data:
            gen = data["generation"]
            try:
                if isinstance(gen, MemoryGeneration):
                    energy = gen.energy_pj_per_bit
                elif isinstance(gen, dict):
                    energy = gen.get("energy_pj_per_bit") or catalog.lookup_memory(gen.get("name", "")).energy_pj_per_bit
                else:
                    energy = catalog.lookup_memory(str(gen)).energy_pj_per_bit
            except SpecError:
                return data  # the generation field reports the unknown name
            data = {**data, "energy_pj_per_bit": energy}
        return data

    @model_validator(mode="after")
    def _physical_at_least_usable(self):
        if self.physical_capacity_gb is not None and self.physical_capacity_gb < self.capacity_gb:
            raise ValueError(f"physical_capacity_gb ({self.physical_capacity_gb:g}) is below the usable "
                             f"capacity_gb ({self.capacity_gb:g})")
        return self

    @property
    def instances(self) -> list[str]:
        return instance_names(self.name, self.count)

    @property
    def built_count(self) -> int:
        """Stacks the cost model prices and places on the carrier: active + inactive."""
        return self.count + self.inactive_count

    @property
    def priced_capacity_gb(self) -> float:
        """Capacity the cost model prices per stack: what is built (physical), not what is exposed."""
        return self.physical_capacity_gb if self.physical_capacity_gb is not None else self.capacity_gb


class LinkParams(_Spec):
    """Link properties without endpoints (a topology's template). Missing latency/energy come from the catalog."""

    kind: str = Field(description="ucie-standard | ucie-advanced | ucie-3d | nv-hbi | infinity-fabric | custom")
    bandwidth_gb_s: PosNum = Field(description="bandwidth in EACH direction, decimal GB/s")
    # Optional only in the schema: the validator below fills them from the catalog or fails.
    latency_ns: Optional[NonNeg] = Field(None, description="one-way latency, ns (default: the link standard's)")
    energy_pj_per_bit: Optional[PosNum] = Field(None, description="energy per bit moved, pJ (default: the "
                                                                  "link standard's)")

    @model_validator(mode="before")
    @classmethod
    def _catalog_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "kind" not in data:
            return data
        std = catalog.lookup_link(str(data["kind"]))  # SpecError (a ValueError) names close matches
        data = {**data, "kind": std.name}
        for key in ("latency_ns", "energy_pj_per_bit"):
            if data.get(key) is None:
                default = getattr(std, key)
                if default is None:
                    raise ValueError(f"link kind '{std.name}' has no catalog {key} ({std.source}); give {key}")
                data[key] = default
        return data


class Link(LinkParams):
    """A die-to-die link between two die instances."""

    endpoints: Annotated[list[str], Field(min_length=2, max_length=2)] = Field(
        description="two die instance names (or one-instance references)")
    name: Optional[str] = Field(None, description="label for reports")


class Topology(_Spec):
    """A pattern that expands to links: all-to-all, ring, 2-D mesh (row-major), or star to a hub."""

    kind: Literal["all-to-all", "ring", "mesh", "star"] = Field(description="pattern")
    dies: Refs = Field(description="die instances taking part, in order (mesh: row-major)")
    rows: Optional[PosInt] = Field(None, description="mesh rows (cols = len(dies) / rows)")
    hub: Optional[str] = Field(None, description="star centre die instance (e.g. an I/O die)")
    link: LinkParams = Field(description="kind, bandwidth_gb_s, latency_ns, energy_pj_per_bit of every link")

    def pairs(self, names: list[str], hub: Optional[str] = None) -> list[tuple[str, str]]:
        """Endpoint pairs for resolved instance names (raises ValueError on a bad shape)."""
        n = len(names)
        if self.kind == "star":
            if hub is None:
                raise ValueError("a star topology needs 'hub'")
            return [(hub, d) for d in names if d != hub]
        if n < 2:
            raise ValueError(f"a {self.kind} topology needs at least 2 dies, got {n}")
        if self.kind == "all-to-all":
            return [(names[i], names[j]) for i in range(n) for j in range(i + 1, n)]
        if self.kind == "ring":
            return [(names[i], names[(i + 1) % n]) for i in range(n if n > 2 else 1)]
        rows = self.rows
        if rows is None or n % rows:
            raise ValueError(f"a mesh needs 'rows' dividing the {n} dies")
        cols = n // rows
        out = []
        for r in range(rows):
            for c in range(cols):
                i = r * cols + c
                if c + 1 < cols:
                    out.append((names[i], names[i + 1]))
                if r + 1 < rows:
                    out.append((names[i], names[i + cols]))
        return out


class Port(_Spec):
    """An off-package port group: scale-up (NVLink, xGMI, ICI) or scale-out (Ethernet/IB NIC)."""

    kind: str = Field("custom", description="free label, e.g. nvlink4, infinity-fabric, ici, ethernet")
    bandwidth_gb_s: PosNum = Field(description="total over all links of the package, each direction, GB/s")
    latency_ns: Optional[NonNeg] = Field(None, description="one-way latency, ns (None: not published)")
    energy_pj_per_bit: Optional[PosNum] = Field(None, description="energy per bit, pJ (None: not published)")
    domain_size: PosInt = Field(1, description="packages reachable in one hop domain (NVLink 8 or 72)")
    attach: Optional[Refs] = Field(None, description="die instances hosting the port (default: all compute dies)")


# ----------------------------------------------------------------------------------------------
# Architecture

class SemanticErrors(ValueError):
    """Several whole-architecture problems, each with its field path (loc tuple) and message."""

    def __init__(self, issues: list[tuple[tuple, str]]):
        self.issues = issues
        super().__init__("; ".join(f"{format_error_path(loc)}: {msg}" for loc, msg in issues))


class Architecture(_Spec):
    """A chiplet package: dies, memory stacks, die-to-die links and off-package ports."""

    name: Text = Field(min_length=1, description="design name (bundled files: the file stem)")
    description: Text = Field("", description="one line for `chipletarch list`")
    technology: TechnologyRef = Field(description="monolithic | organic-substrate | silicon-interposer | bridge "
                                                  "| 3d-hybrid-bonding | wafer-scale (or a mapping with overrides)")
    interposer_area_mm2: Optional[PosNum] = Field(None, description="interposer / RDL / carrier area, mm^2")
    substrate_area_mm2: Optional[PosNum] = Field(None, description="package substrate area, mm^2")
    tdp_w: Optional[PosNum] = Field(None, description="package TDP / TBP, W")
    scale_up: Optional[Port] = Field(None, description="scale-up port group (NVLink, xGMI, ICI)")
    scale_out: Optional[Port] = Field(None, description="scale-out port group (NIC / host link)")
    dies: Annotated[list[Die], Field(min_length=1, description="die definitions (kind: compute | io | sram | "
                                                                   "memory-controller)")]
    memory: list[MemoryStack] = Field(default_factory=list, description="memory stack definitions")
    links: list[Link] = Field(default_factory=list, description="explicit die-to-die links")
    topology: list[Topology] = Field(default_factory=list, description="link patterns expanded into links")
    efficiency: Efficiency = Field(default_factory=Efficiency, description="engine calibration (efficiency.py)")
    energy: EnergySpec = Field(default_factory=EnergySpec, description="energy-model overrides "
                                                                   "(energy_spec.py, docs/ENERGY_MODEL.md)")

    # -- instances ------------------------------------------------------------------------------
    def die_instances(self) -> list[tuple[str, Any]]:
        """(instance name, die definition) for every die instance, in definition order."""
        return [(inst, d) for d in self.dies for inst in d.instances]

    def compute_die_instances(self) -> list[tuple[str, ComputeDie]]:
        """(instance name, ComputeDie) for every compute die instance."""
        return [(i, d) for i, d in self.die_instances() if isinstance(d, ComputeDie)]

    def _die_groups(self) -> dict[str, list[str]]:
        return {d.name: d.instances for d in self.dies}

    def resolve_dies(self, refs: Refs) -> list[str]:
        """Die instance names for references (`xcd`, `xcd3`, `xcd[0..3]`, lists); SpecError if unknown."""
        try:
            return resolve(refs, self._die_groups(), [i for i, _ in self.die_instances()])
        except KeyError as exc:
            raise SpecError(f"unknown die '{exc.args[0]}'") from None

    def memory_instances(self) -> list[tuple[str, MemoryStack, str]]:
        """(stack instance name, definition, attached die instance) for every memory stack."""
        out = []
        for stack in self.memory:
            dies = self.resolve_dies(stack.attach)
            for k, inst in enumerate(stack.instances):
                out.append((inst, stack, dies[_attach_index(k, stack.count, len(dies))]))
        return out

    def all_links(self) -> list[Link]:
        """Explicit links plus topology-generated ones, endpoints resolved to instance names."""
        out = []
        for link in self.links:
            a, b = (self.resolve_dies(e)[0] for e in link.endpoints)
            out.append(link.evolve(endpoints=[a, b]))
        for idx, t in enumerate(self.topology):
            names = self.resolve_dies(t.dies)
            hub = self.resolve_dies(t.hub)[0] if t.hub else None
            for a, b in t.pairs(names, hub):
                out.append(Link(**t.link.model_dump(), endpoints=[a, b], name=f"topology[{idx}]:{a}-{b}"))
        return out

    def port_dies(self, port: Port) -> list[str]:
        """Die instances hosting an off-package port (default: every compute die instance)."""
        if port.attach is None:
            return [i for i, _ in self.compute_die_instances()]
        return self.resolve_dies(port.attach)

    # -- figures --------------------------------------------------------------------------------
    def supported_formats(self) -> list[str]:
        """Formats listed by at least one compute die's matrix engine."""
        seen: dict[str, None] = {}
        for _, d in self.compute_die_instances():
            seen.update(dict.fromkeys(d.core.macs_per_cycle))
        return list(seen)

    def peak_flops(self, fmt: str) -> float:
        """Dense matrix FLOP/s of the whole package in `fmt` = 2 x sum(cores x MACs/cycle x clock).

        A die that does not list `fmt` contributes 0 (no implicit emulation or up-conversion: the
        engine decides whether to run an unsupported format at another format's rate). If no die
        lists it, raises InfeasibleError naming the formats the package does support.
        """
        fmt_c = canonical_format(fmt)
        if fmt_c not in self.supported_formats():
            raise InfeasibleError(f"{self.name}: no compute die has a matrix engine for '{fmt_c}' "
                                  f"(supported: {', '.join(self.supported_formats()) or 'none'})")
        return sum(d.peak_flops(fmt_c) for _, d in self.compute_die_instances())

    @property
    def peak_vector_flops(self) -> float:
        """Vector-unit FLOP/s of the whole package (sum over compute die instances)."""
        return sum(d.vector_flops for _, d in self.compute_die_instances())

    @property
    def memory_capacity_bytes(self) -> float:
        """Total DRAM capacity, bytes (decimal GB x 1e9)."""
        return sum(s.count * s.capacity_gb for s in self.memory) * 1e9

    @property
    def memory_bandwidth_bytes_per_s(self) -> float:
        """Total DRAM bandwidth, bytes/s."""
        return sum(s.count * s.bandwidth_gb_s for s in self.memory) * 1e9

    @property
    def total_die_area_mm2(self) -> float:
        """Silicon area of all die instances (stacked ones included), mm^2."""
        return sum((d.area_mm2 or 0.0) * d.count for d in self.dies)

    @property
    def footprint_die_area_mm2(self) -> float:
        """Area the dies occupy on the interposer/substrate: stacked dies excluded, mm^2."""
        return sum((d.area_mm2 or 0.0) * d.count for d in self.dies if not d.stacked)

    def to_graph(self):
        """networkx graph of the package (see chipletarch.arch.graph)."""
        from .graph import build_graph
        return build_graph(self)

    def to_dict(self) -> dict:
        """Plain data (defaults left out) that `Architecture.from_dict` turns back into an equal object."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        # die kinds are defaults of their classes but select the class on load: always write them
        data["dies"] = [{"kind": d.kind, **dd} for d, dd in zip(self.dies, data["dies"])]
        return data

    def to_yaml(self) -> str:
        """YAML text that `load_architecture` reads back into an equal object."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=100)

    # -- whole-package checks -------------------------------------------------------------------
    @model_validator(mode="after")
    def _semantics(self):
        issues = _semantic_issues(self)
        if issues:
            raise SemanticErrors(issues)
        return self


Package = Architecture


def _attach_index(k: int, count: int, n_dies: int) -> int:
    """Stack k of `count` -> index into the attach list: all to one, one-to-one, or equal blocks."""
    if n_dies == 1:
        return 0
    return k // (count // n_dies)


def _semantic_issues(a: Architecture) -> list[tuple[tuple, str]]:
    issues: list[tuple[tuple, str]] = []
    groups = a._die_groups()
    instances = [i for i, _ in a.die_instances()]
    by_inst = dict(a.die_instances())

    def res(refs, loc) -> Optional[list[str]]:
        try:
            return resolve(refs, groups, instances)
        except KeyError as exc:
            import difflib
            close = difflib.get_close_matches(str(exc.args[0]), instances + list(groups), n=1)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            issues.append((loc, f"unknown die '{exc.args[0]}'{hint}"))
            return None
        except ValueError as exc:
            issues.append((loc, str(exc)))
            return None

    # unique names
    seen: dict[str, tuple] = {}
    for i, d in enumerate(a.dies):
        for inst in d.instances:
            if inst in seen:
                issues.append((("dies", i, "name"), f"instance name '{inst}' is used twice"))
            seen[inst] = ("dies", i)
    for i, s in enumerate(a.memory):
        for inst in s.instances:
            if inst in seen:
                issues.append((("memory", i, "name"), f"instance name '{inst}' is used twice"))
            seen[inst] = ("memory", i)
    for reserved in ("scale_up", "scale_out"):
        if reserved in seen:
            issues.append((seen[reserved] + ("name",), f"'{reserved}' is reserved for the off-package port node"))
    if issues:
        return issues

    # size limits
    tech = a.technology
    for i, d in enumerate(a.dies):
        if d.area_mm2 is not None and d.area_mm2 > tech.max_die_area_mm2:
            why = ("the reticle limit (COST_MODEL.md §1)" if tech.max_die_area_mm2 == catalog.RETICLE_LIMIT_MM2
                   else f"the {tech.name} limit")
            issues.append((("dies", i, "area_mm2"),
                           f"{d.area_mm2:g} mm^2 exceeds {why} of {tech.max_die_area_mm2:g} mm^2"
                           + (" (only technology: wafer-scale allows larger dies)" if tech.name != "wafer-scale" else "")))
    if a.interposer_area_mm2 is not None:
        if not tech.has_interposer:
            issues.append((("interposer_area_mm2",), f"technology '{tech.name}' has no interposer"))
        elif tech.max_interposer_area_mm2 is not None and a.interposer_area_mm2 > tech.max_interposer_area_mm2:
            issues.append((("interposer_area_mm2",), f"{a.interposer_area_mm2:g} mm^2 exceeds the {tech.name} "
                                                     f"interposer limit of {tech.max_interposer_area_mm2:g} mm^2"))
        elif a.interposer_area_mm2 < a.footprint_die_area_mm2:
            issues.append((("interposer_area_mm2",), f"{a.interposer_area_mm2:g} mm^2 is smaller than the dies on "
                                                     f"it ({a.footprint_die_area_mm2:g} mm^2; 3D-stacked dies, "
                                                     "marked stacked: true, do not count)"))
    if tech.name == "monolithic" and len(instances) != 1:
        issues.append((("technology",), f"a monolithic package has exactly one die instance, found {len(instances)} "
                                        "(use organic-substrate, silicon-interposer, bridge, ...)"))

    # links
    pairs: dict[frozenset, tuple] = {}
    adjacency: dict[str, set] = {i: set() for i in instances}

    def add_pair(x: str, y: str, loc: tuple):
        if x == y:
            issues.append((loc, f"a link from '{x}' to itself"))
            return
        key = frozenset((x, y))
        if key in pairs:
            issues.append((loc, f"second link between '{x}' and '{y}' (first at {format_error_path(pairs[key])}); "
                                "give one link with the summed bandwidth"))
            return
        pairs[key] = loc
        adjacency[x].add(y)
        adjacency[y].add(x)

    for i, link in enumerate(a.links):
        ends = []
        for j, e in enumerate(link.endpoints):
            r = res(e, ("links", i, "endpoints", j))
            if r is not None and len(r) != 1:
                issues.append((("links", i, "endpoints", j), f"'{e}' names {len(r)} dies; a link joins exactly two"))
                r = None
            ends.append(r[0] if r else None)
        if None not in ends:
            add_pair(ends[0], ends[1], ("links", i))
    for i, t in enumerate(a.topology):
        names = res(t.dies, ("topology", i, "dies"))
        hub = None
        if t.hub is not None:
            h = res(t.hub, ("topology", i, "hub"))
            hub = h[0] if h and len(h) == 1 else None
            if h and len(h) != 1:
                issues.append((("topology", i, "hub"), f"hub '{t.hub}' names {len(h)} dies; give one"))
        if names is None:
            continue
        try:
            for x, y in t.pairs(names, hub):
                add_pair(x, y, ("topology", i))
        except ValueError as exc:
            issues.append((("topology", i), str(exc)))

    # memory attachment
    hosted: dict[str, int] = {}
    for i, s in enumerate(a.memory):
        dies = res(s.attach, ("memory", i, "attach"))
        if dies is None:
            continue
        n = len(dies)
        if not (n == 1 or n == s.count or (n < s.count and s.count % n == 0)):
            issues.append((("memory", i, "attach"), f"{s.count} stacks cannot be spread over {n} dies "
                                                    "(give one die, one per stack, or a divisor of count)"))
            continue
        for k in range(s.count):
            hosted[dies[_attach_index(k, s.count, n)]] = hosted.get(dies[_attach_index(k, s.count, n)], 0) + 1
        # stacks built but not enabled occupy memory sites too; spread like the active ones
        for k in range(s.inactive_count):
            d = dies[0] if n == 1 else dies[k % n]
            hosted[d] = hosted.get(d, 0) + 1
        for d in dict.fromkeys(dies):
            if by_inst[d].memory_interfaces == 0:
                issues.append((("memory", i, "attach"), f"die '{d}' has no memory interface "
                                                        "(set memory_interfaces on its definition)"))
    for inst, n in hosted.items():
        cap = by_inst[inst].memory_interfaces
        if 0 < cap < n:
            issues.append((("memory",), f"die '{inst}' hosts {n} memory stacks but has memory_interfaces: {cap}"))

    # ports
    for key in ("scale_up", "scale_out"):
        port = getattr(a, key)
        if port is None:
            continue
        if port.attach is not None:
            res(port.attach, (key, "attach"))
        elif not any(isinstance(d, ComputeDie) for d in a.dies):
            issues.append(((key,), "no compute die to host the port by default; give 'attach'"))

    # connectivity of the dies (memory stacks and ports hang off one die each, so dies decide it)
    if not issues and instances:
        comp, stack = {instances[0]}, [instances[0]]
        while stack:
            for y in adjacency[stack.pop()]:
                if y not in comp:
                    comp.add(y)
                    stack.append(y)
        cut_off = [i for i in instances if i not in comp]
        if cut_off:
            issues.append((("links",), f"package is disconnected: {', '.join(cut_off)} not reachable from "
                                       f"{instances[0]} over links"))
    return issues
