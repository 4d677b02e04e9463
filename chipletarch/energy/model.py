"""Energy of a simulated design point: `energy_of(result, arch)` -> `EnergyReport`.

The model (docs/ENERGY_MODEL.md has the derivations and sources) is ENERGY.md §5 convention 1:

    E = Σ_ops (MACs × pJ/MAC(format, node) + vector FLOPs × pJ/FLOP
              + SRAM bits × pJ/bit + L2 bits × pJ/bit)                  core and cache dynamic
      + Σ_stacks bits × pJ/bit(generation) + Σ_links bits × pJ/bit(kind)  memory and die-to-die
      + Σ_ports bits × pJ/bit                                            scale-up / scale-out
      + (f_static × TDP + HBM background + D2D PHY standby) × time       static, per package

Scope. The engine's `Result` describes one device (the busiest rank) per op and one package per
resource (stacks, links, ports). A deployment of `world = tp × pp × dp` ranks on packages of
`devices_per_package` ranks uses `packages = ceil(world / devices_per_package)` packages; with
pp > 1 the op table holds every stage's rows and each stage runs on `world / pp` ranks. So:

* per-device dynamic energy of the whole table × `world / pp` = dynamic energy of the deployment;
* per-package resource energy × `world / (pp × devices_per_package)` = the same for stacks/links/ports;
* static power × `packages` × `latency_s` (every package is powered for the whole step).

All figures in an `EnergyReport` are for the whole deployment and one forward pass / step of the
Result's phase (J), except `average_power_w`, which is per package (what TDP limits).
J/token = total / `Result.tokens_per_step`. Per-op energies add up to the components (tested).

Pricing lives in two linear functions, the only energy formulas on the engine's counts:
`op_energy_pj` (matrix, vector, SRAM, L2 pJ per operator row on one device) and
`resource_energy_pj` (pJ of bytes per memory stack, D2D link and port). `energy_of` calls them on
a Result; the sweep (`chipletarch.explore`) calls them on `engine.evaluate_rows`' per-row counts
(`resource_rows=True`) and sums per point, so the two cannot drift apart. Which bytes reach which
stack, link or port is the engine's routing, not this module's.
"""
from __future__ import annotations

import json
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..errors import SpecError
from ..formats import FORMATS
from . import coefficients as C

__all__ = ["COMPONENTS", "DYNAMIC_COMPONENTS", "STATIC_COMPONENTS", "EnergyCoefficients",
           "EnergyReport", "coefficients_of", "energy_of", "full_load_power", "gemm_energy",
           "op_energy_pj", "resource_energy_pj"]

# Components in report order. Dynamic ones scale with work, static ones with time.
DYNAMIC_COMPONENTS = ("matrix", "vector", "sram", "l2", "hbm", "d2d", "network")
STATIC_COMPONENTS = ("static", "hbm_background", "d2d_standby")
COMPONENTS = DYNAMIC_COMPONENTS + STATIC_COMPONENTS
COMPONENT_MEANING = {
    "matrix": "matrix-engine MACs x pJ/MAC(format, node)",
    "vector": "vector / special-function FLOPs x pJ/FLOP",
    "sram": "core-local SRAM bits x pJ/bit",
    "l2": "shared cache (L2 / global buffer) bits x pJ/bit",
    "hbm": "memory-stack bits x pJ/bit (generation)",
    "d2d": "die-to-die link bits x pJ/bit (link kind)",
    "network": "scale-up + scale-out port bits x pJ/bit",
    "static": "package logic static power (f_static x TDP) x time",
    "hbm_background": "memory background power (share of peak access power) x time",
    "d2d_standby": "die-to-die PHY standby power (share of peak link power) x time",
}

_MATRIX_KINDS = ("GEMM", "GROUPED_GEMM", "ATTN_PREFILL", "ATTN_DECODE")  # as engine.simulate


@dataclass(frozen=True)
class EnergyCoefficients:
    """Every coefficient the model uses for one architecture at one clock scale (SI-ish units:
    pJ per MAC / FLOP / bit, W). `sources` says where each came from; `notes` what was assumed."""

    arch: str
    clock_scale: float
    logic_energy_scale: float
    mac_pj: dict                  # format -> pJ per MAC (node- and DVFS-scaled)
    vector_pj_per_flop: float
    sram_pj_per_bit: float
    cache_pj_per_bit: float
    stack_pj_per_bit: dict        # stack instance -> pJ/bit
    stack_peak_w: dict            # stack instance -> peak access power (bandwidth x pJ/bit), W
    link_pj_per_bit: dict         # link name (graph edge name) -> pJ/bit
    link_peak_w: dict             # link name -> peak power, both directions at full bandwidth, W
    port_pj_per_bit: dict         # scale_up / scale_out -> pJ/bit (the port that carries the scope)
    tdp_w: float | None
    static_w: float | None        # package logic static power, W (None: unknown, no TDP)
    hbm_background_w: float
    link_standby_w: float
    sources: dict = field(default_factory=dict)
    notes: tuple = ()

    @property
    def static_total_w(self) -> float:
        """All static power of one package, W (logic static unknown counts as 0)."""
        return (self.static_w or 0.0) + self.hbm_background_w + self.link_standby_w

    def to_dict(self) -> dict:
        def plain(v):
            if isinstance(v, tuple):
                return list(v)
            if isinstance(v, MappingProxyType):
                return dict(v)
            return v
        return {k: plain(v) for k, v in self.__dict__.items()}


def _logic_scale(arch) -> tuple[float, list[str]]:
    """Node energy scale of the compute dies (override > catalog); SpecError when unknown."""
    spec = getattr(arch, "energy", None)
    if spec is not None and spec.logic_energy_scale is not None:
        return float(spec.logic_energy_scale), ["logic_energy_scale from the architecture's energy: block"]
    scales = {}
    for inst, d in arch.compute_die_instances():
        if d.process is None:
            raise SpecError(f"{arch.name}: compute die '{d.name}' has no process node, so the energy model "
                            f"cannot scale the 45 nm Horowitz energies; give the die a process or set "
                            f"energy: {{logic_energy_scale: ...}} (45 nm / 0.9 V = 1)")
        scales[d.name] = d.process.logic_energy_scale
    vals = sorted(set(scales.values()))
    notes = []
    if len(vals) > 1:
        notes.append(f"compute dies on different nodes ({scales}); their mean logic scale is used")
    return float(sum(vals) / len(vals)), notes


_CACHE: "OrderedDict[tuple, tuple]" = OrderedDict()
_CACHE_SIZE = 64


def coefficients_of(arch, clock_scale: float = 1.0) -> EnergyCoefficients:
    """Resolve every energy coefficient of `arch` (catalog + ENERGY.md defaults + `energy:` block).

    `clock_scale` = compute-die clock / nominal (DVFS, `coefficients.dvfs_energy_scale`): it scales
    the core-domain energies (MACs, vector, SRAM) only; caches, memory, links, ports and static
    power are taken as on their own clock/voltage domains and unchanged (docs/ENERGY_MODEL.md).

    Cached per architecture object (architectures are frozen) and clock scale, as the engine's
    placement is, so that a sweep pricing many Results of one design resolves them once.
    """
    key = (id(arch), float(clock_scale))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is arch:
        _CACHE.move_to_end(key)
        return hit[1]
    co = _coefficients(arch, clock_scale)
    _CACHE[key] = (arch, co)          # holding arch keeps its id from being reused while cached
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return co


def _coefficients(arch, clock_scale: float) -> EnergyCoefficients:
    spec = getattr(arch, "energy", None)
    dv = C.dvfs_energy_scale(clock_scale)
    scale, notes = _logic_scale(arch)
    sources = dict(C.COEFFICIENT_SOURCES)

    every = 1
    if spec is not None and spec.accumulate_every is not None:
        every = int(spec.accumulate_every)
        sources["mac"] += f"; accumulate_every {every} (dot-product tree) from the energy: block"
    mac = {f: C.mac_energy_pj(f, scale, clock_scale, every) for f in FORMATS}
    if spec is not None and spec.mac_energy_pj:
        for f, v in spec.mac_energy_pj.items():
            mac[f] = float(v) * dv
        sources["mac"] += f"; overridden in the energy: block for {', '.join(spec.mac_energy_pj)}"
    vec = C.vector_energy_pj_per_flop(scale, clock_scale)
    if spec is not None and spec.vector_pj_per_flop is not None:
        vec, sources["vector"] = spec.vector_pj_per_flop * dv, "energy: block (vector_pj_per_flop)"
    sram = C.sram_pj_per_bit(scale, clock_scale)
    if spec is not None and spec.sram_pj_per_bit is not None:
        sram, sources["sram"] = spec.sram_pj_per_bit * dv, "energy: block (sram_pj_per_bit)"
    cache = C.CACHE_PJ_PER_BIT
    if spec is not None and spec.cache_pj_per_bit is not None:
        cache, sources["cache"] = float(spec.cache_pj_per_bit), "energy: block (cache_pj_per_bit)"

    # memory stacks, links, ports: from the package graph, the one source of topology truth
    g = arch.to_graph()
    stack_pj, stack_w = {}, {}
    for n, a in g.nodes(data=True):
        if a["type"] == "memory":
            stack_pj[n] = float(a["energy_pj_per_bit"])
            stack_w[n] = a["bandwidth_bytes_per_s"] * 8 * a["energy_pj_per_bit"] * 1e-12
    link_pj, link_w = {}, {}
    for u, v, a in g.edges(data=True):
        if a["type"] == "link":
            link_pj[a["name"]] = float(a["energy_pj_per_bit"])
            link_w[a["name"]] = 2 * a["bandwidth_bytes_per_s"] * 8 * a["energy_pj_per_bit"] * 1e-12
    default_port = C.PORT_PJ_PER_BIT_DEFAULT
    if spec is not None and spec.port_pj_per_bit is not None:
        default_port = float(spec.port_pj_per_bit)
    port_pj = {}
    for key in ("scale_up", "scale_out"):
        # the engine sends scale-up traffic over the scale-out port when there is no scale-up port
        port = getattr(arch, key, None) or (getattr(arch, "scale_out", None) if key == "scale_up" else None)
        if port is None:
            continue
        if port.energy_pj_per_bit is not None:
            port_pj[key] = float(port.energy_pj_per_bit)
        else:
            port_pj[key] = default_port
            notes.append(f"{key} port '{port.kind}' has no published pJ/bit; {default_port:g} pJ/bit used "
                         + ("(energy: block port_pj_per_bit)" if spec is not None and spec.port_pj_per_bit
                            is not None else "(ENERGY.md §4b 112G PAM4 SerDes [E14], E)"))

    # static power of one package
    tdp = float(arch.tdp_w) if arch.tdp_w is not None else None
    f_static = C.STATIC_FRACTION
    if spec is not None and spec.static_fraction is not None:
        f_static = float(spec.static_fraction)
        sources["static"] = f"energy: block static_fraction {f_static:g} x TDP"
    if spec is not None and spec.static_w is not None:
        static_w = float(spec.static_w)
        sources["static"] = f"energy: block static_w {static_w:g} W"
    elif tdp is not None:
        static_w = f_static * tdp
    else:
        static_w = None
        notes.append("no tdp_w and no energy.static_w: logic static power unknown, counted as 0 "
                     "(the energy is a lower bound)")
    hbm_frac = C.HBM_BACKGROUND_FRACTION
    if spec is not None and spec.hbm_background_fraction is not None:
        hbm_frac = float(spec.hbm_background_fraction)
    link_frac = C.LINK_STANDBY_FRACTION
    if spec is not None and spec.link_standby_fraction is not None:
        link_frac = float(spec.link_standby_fraction)
    ro = MappingProxyType  # read-only views: the object is cached and shared
    return EnergyCoefficients(
        arch=arch.name, clock_scale=float(clock_scale), logic_energy_scale=scale, mac_pj=ro(mac),
        vector_pj_per_flop=vec, sram_pj_per_bit=sram, cache_pj_per_bit=cache,
        stack_pj_per_bit=ro(stack_pj), stack_peak_w=ro(stack_w), link_pj_per_bit=ro(link_pj),
        link_peak_w=ro(link_w), port_pj_per_bit=ro(port_pj), tdp_w=tdp, static_w=static_w,
        hbm_background_w=hbm_frac * sum(stack_w.values()),
        link_standby_w=link_frac * sum(link_w.values()),
        sources=ro(sources), notes=tuple(notes))


# ------------------------------------------------------------------------------------------------
@dataclass
class EnergyReport:
    """Energy of one simulated step (one forward pass of the Result's phase) of a deployment.

    `components` / `per_op` are joules for the whole deployment (all packages); `per_op[c]` is an
    array over the Result's op rows (all executions of the row: × repeat). `average_power_w` is per
    package. See the module docstring for the scaling from the engine's per-device counts.
    """

    arch: str
    model: str
    phase: str
    batch: int
    seq_len: int
    context_len: int
    precision: str
    mapping: dict
    clock_scale: float
    latency_s: float
    tokens_per_step: int
    packages: int
    ranks: int
    components: dict
    per_op: dict
    network_by_port: dict
    average_power_w: float
    peak_op_power_w: float
    peak_op: str
    tdp_w: float | None
    coefficients: EnergyCoefficients
    notes: list = field(default_factory=list)
    result: object = None                     # the engine Result this report was computed from
    nominal: "EnergyReport | None" = None     # set by simulate_with_energy when it throttled

    # ---------------------------------------------------------------- totals
    @property
    def total_j(self) -> float:
        return float(sum(self.components.values()))

    @property
    def dynamic_j(self) -> float:
        return float(sum(self.components[c] for c in DYNAMIC_COMPONENTS))

    @property
    def static_j(self) -> float:
        return float(sum(self.components[c] for c in STATIC_COMPONENTS))

    @property
    def j_per_token(self) -> float:
        return self.total_j / self.tokens_per_step if self.tokens_per_step else math.nan

    @property
    def tokens_per_joule(self) -> float:
        return self.tokens_per_step / self.total_j if self.total_j > 0 else math.nan

    @property
    def tdp_exceeded(self) -> bool | None:
        """Average package power above TDP (None when the package has no TDP)."""
        return None if self.tdp_w is None else bool(self.average_power_w > self.tdp_w * (1 + 1e-9))

    @property
    def power_to_tdp(self) -> float | None:
        return None if self.tdp_w is None else self.average_power_w / self.tdp_w

    @property
    def throttled(self) -> bool:
        return self.clock_scale < 1.0

    def by_class(self) -> dict:
        """Joules by op_class, largest first."""
        cls = self.per_op["op_class"]
        tot = self.per_op["total_j"]
        out = {c: float(tot[cls == c].sum()) for c in dict.fromkeys(cls.tolist())}
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def share(self) -> dict:
        """Share of the total by component."""
        t = self.total_j
        return {c: (v / t if t > 0 else 0.0) for c, v in self.components.items()}

    # ---------------------------------------------------------------- serialisation
    def to_dict(self, ops: bool = True) -> dict:
        """JSON-ready dict (J, W, s); `ops=False` leaves the per-operator rows out."""
        d = dict(arch=self.arch, model=self.model, phase=self.phase, batch=self.batch,
                 seq_len=self.seq_len, context_len=self.context_len, precision=self.precision,
                 mapping=self.mapping, clock_scale=self.clock_scale, throttled=self.throttled,
                 latency_s=self.latency_s, tokens_per_step=self.tokens_per_step,
                 packages=self.packages, ranks=self.ranks, total_j=self.total_j,
                 dynamic_j=self.dynamic_j, static_j=self.static_j, j_per_token=self.j_per_token,
                 tokens_per_joule=self.tokens_per_joule, components=dict(self.components),
                 share=self.share(), network_by_port=dict(self.network_by_port),
                 by_class=self.by_class(), average_power_w=self.average_power_w,
                 peak_op_power_w=self.peak_op_power_w, peak_op=self.peak_op, tdp_w=self.tdp_w,
                 tdp_exceeded=self.tdp_exceeded, power_to_tdp=self.power_to_tdp,
                 coefficients=self.coefficients.to_dict(), notes=list(self.notes))
        if ops:
            cols = list(self.per_op)
            d["ops"] = [{c: _plain(self.per_op[c][i]) for c in cols} for i in range(len(self.per_op["name"]))]
        if self.nominal is not None:
            d["nominal"] = self.nominal.to_dict(ops=False)
        return d

    def to_json(self, indent: int | None = 2, ops: bool = True) -> str:
        return json.dumps(self.to_dict(ops=ops), indent=indent)

    # ---------------------------------------------------------------- text
    def summary(self, top: int = 12) -> str:
        """Text report: headline, components, op classes, the `top` most energetic operators."""
        m = self.mapping
        lines = [f"{self.arch} {self.model} {self.phase} batch={self.batch} seq_len={self.seq_len} "
                 f"context={self.context_len} {self.precision} | tp={m.get('tp')} pp={m.get('pp')} "
                 f"dp={m.get('dp')} ep={m.get('ep')} | {self.ranks} rank(s) on {self.packages} package(s)"]
        clk = f"clock x{self.clock_scale:.3f} (throttled to TDP)" if self.throttled else "nominal clock"
        lines.append(f"step {self.latency_s * 1e3:.3f} ms, {self.tokens_per_step} token(s), {clk}")
        lines.append(f"energy {self.total_j:.4g} J per step = {self.j_per_token:.4g} J/token "
                     f"({self.tokens_per_joule:.4g} tokens/J); dynamic {self.dynamic_j:.4g} J, "
                     f"static {self.static_j:.4g} J")
        if self.tdp_w is not None:
            flag = "EXCEEDS TDP" if self.tdp_exceeded else "within TDP"
            lines.append(f"average power {self.average_power_w:.1f} W per package vs TDP {self.tdp_w:.0f} W "
                         f"({self.power_to_tdp:.0%}, {flag}); busiest op {self.peak_op} at "
                         f"{self.peak_op_power_w:.1f} W")
        else:
            lines.append(f"average power {self.average_power_w:.1f} W per package (no TDP to compare)")
        if self.nominal is not None:
            n = self.nominal
            lines.append(f"unthrottled: {n.average_power_w:.1f} W, {n.latency_s * 1e3:.3f} ms, "
                         f"{n.j_per_token:.4g} J/token")
        lines.append("model: datapath composition (docs/ENERGY_MODEL.md), a floor for GPUs: about half of "
                     "measured H100 power at high load (docs/VALIDATION.md '## Energy')")
        lines.append("")
        lines.append(f"{'component':<16} {'J':>12} {'share':>7}  what")
        sh = self.share()
        for c in COMPONENTS:
            lines.append(f"{c:<16} {self.components[c]:>12.4g} {sh[c]:>7.1%}  {COMPONENT_MEANING[c]}")
        lines.append("")
        lines.append(f"{'op class':<16} {'J':>12} {'share':>7}")
        t = self.total_j or 1.0
        for c, v in self.by_class().items():
            lines.append(f"{c:<16} {v:>12.4g} {v / t:>7.1%}")
        if top:
            order = np.argsort(-self.per_op["total_j"])[:top]
            lines.append("")
            hdr = (f"{'operator':<28} {'kind':<14} {'rep':>4} {'J':>10} {'share':>6} {'matrix':>9} "
                   f"{'memory':>9} {'static':>9}")
            lines += [hdr, "-" * len(hdr)]
            o = self.per_op
            for i in order:
                mem = o["hbm"][i] + o["l2"][i] + o["sram"][i] + o["d2d"][i] + o["network"][i]
                st = o["static"][i] + o["hbm_background"][i] + o["d2d_standby"][i]
                lines.append(f"{str(o['name'][i])[:28]:<28} {o['kind'][i]:<14} {o['repeat'][i]:>4} "
                             f"{o['total_j'][i]:>10.4g} {o['total_j'][i] / t:>6.1%} {o['matrix'][i]:>9.3g} "
                             f"{mem:>9.3g} {st:>9.3g}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _plain(v):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    return v


# ------------------------------------------------------------------------------------------------
def energy_of(result, arch, *, clock_scale: float = 1.0) -> EnergyReport:
    """Energy of a `chipletarch.simulate` Result on `arch` (the Architecture it was simulated on,
    or its bundled name). `clock_scale` is the DVFS point the Result was simulated at relative to
    `arch`'s nominal clock (simulate_with_energy sets it when throttling; leave 1.0 otherwise)."""
    if isinstance(arch, str):
        from ..arch import load_architecture
        arch = load_architecture(arch)
    if getattr(result, "arch", arch.name) != arch.name:
        raise SpecError(f"energy_of: the Result is for '{result.arch}', the architecture is '{arch.name}'")
    co = coefficients_of(arch, clock_scale)
    o = result.ops
    n = len(o["name"])
    rep = np.asarray(o["repeat"], dtype=np.float64)
    m = result.mapping
    pp = int(m.get("pp", 1))
    ranks = int(m.get("tp", 1)) * pp * int(m.get("dp", 1))
    dpp = int(result.devices_per_package)
    packages = max(1, math.ceil(ranks / dpp))
    # per-device table -> deployment: each stage's rows run on ranks / pp devices
    dev_mult = ranks / pp
    # per-package resource counters -> deployment
    pkg_mult = ranks / (pp * dpp)
    notes = list(co.notes)

    per = {c: pj * rep * dev_mult * 1e-12 for c, pj in op_energy_pj(co, o).items()}

    # resources: exact totals from the per-stack / per-link / per-port counters, spread over the
    # ops in proportion to each op's bytes at that level
    # A package with no DRAM (Simba) keeps the model in the compute dies' on-chip SRAM: the engine
    # then lists those dies as its "stacks", and their bytes cost a large-SRAM access with its
    # on-die wires (the shared-cache pJ/bit, ENERGY.md §2), not a DRAM access.
    on_chip = [k for k in result.stacks if k not in co.stack_pj_per_bit]
    if on_chip:
        notes.append(f"no memory stacks: model bytes held in on-chip SRAM of {len(on_chip)} die(s), "
                     f"charged at the shared-cache {co.cache_pj_per_bit:g} pJ/bit")
    stack_pj, link_pj, port_pj = resource_energy_pj(
        co, {k: s["bytes"] for k, s in result.stacks.items()},
        {k: v["bytes"] for k, v in result.links.items()},
        {k: v["bytes"] for k, v in result.ports.items()})
    e_hbm = sum(stack_pj.values()) * 1e-12 * pkg_mult
    e_d2d = sum(link_pj.values()) * 1e-12 * pkg_mult
    net_port = {k: v * 1e-12 * pkg_mult for k, v in port_pj.items()}
    per["hbm"] = _spread(e_hbm, np.asarray(o["hbm_bytes"]) * rep, "hbm", notes)
    per["d2d"] = _spread(e_d2d, np.asarray(o["d2d_bytes"]) * rep, "d2d", notes)
    per["network"] = _spread(sum(net_port.values()), np.asarray(o["network_bytes"]) * rep, "network", notes)

    # static: every package powered for the whole step, charged to ops by their time
    lat = float(result.latency_s)
    t_op = np.asarray(o["total_time_s"], dtype=np.float64)
    for comp, w in (("static", co.static_w or 0.0), ("hbm_background", co.hbm_background_w),
                    ("d2d_standby", co.link_standby_w)):
        per[comp] = _spread(w * packages * lat, t_op, comp, notes)

    total = np.zeros(n)
    for c in COMPONENTS:
        total = total + per[c]
    components = {c: float(per[c].sum()) for c in COMPONENTS}
    avg_w = sum(components.values()) / (packages * lat) if lat > 0 else 0.0
    # busiest op: its energy over its own time, per package
    with np.errstate(divide="ignore", invalid="ignore"):
        op_w = np.where(t_op > 0, total / (t_op * packages), 0.0)
    k = int(np.argmax(op_w)) if n else 0
    if co.tdp_w is not None and avg_w > co.tdp_w:
        notes.append(f"average power {avg_w:.0f} W exceeds the package TDP of {co.tdp_w:.0f} W: the real part "
                     f"would throttle (simulate_with_energy(..., throttle_to_tdp=True) models it)")
    if co.static_w is None:
        notes.append("static power not counted (no TDP): J/token is a lower bound")
    notes.extend(f"engine: {x}" for x in getattr(result, "notes", []))
    per_op = {"name": np.asarray(o["name"], dtype=object), "op_class": np.asarray(o["op_class"], dtype=object),
              "kind": np.asarray(o["kind"], dtype=object), "repeat": np.asarray(o["repeat"]),
              "total_time_s": t_op, **per, "total_j": total}
    return EnergyReport(
        arch=result.arch, model=result.model, phase=result.phase, batch=result.batch,
        seq_len=result.seq_len, context_len=result.context_len, precision=result.precision,
        mapping=dict(m), clock_scale=float(clock_scale), latency_s=lat,
        tokens_per_step=int(result.tokens_per_step), packages=packages, ranks=ranks,
        components=components, per_op=per_op, network_by_port=net_port, average_power_w=avg_w,
        peak_op_power_w=float(op_w[k]) if n else 0.0, peak_op=str(o["name"][k]) if n else "",
        tdp_w=co.tdp_w, coefficients=co, notes=notes, result=result)


def op_energy_pj(co: EnergyCoefficients, ops: dict) -> dict:
    """pJ of one execution of each operator row on one device, by per-op component: the one
    place these terms are priced (energy_of on a Result's ops; the sweep on `evaluate_rows`'
    ops of its deduplicated rows). `ops` has the `Result.ops` columns `kind` (names), `flops`,
    `compute_fmt` (names), `sram_bytes`, `l2_bytes`. Returns {matrix, vector, sram, l2} ->
    float64[N]:

    * matrix: MACs (flops / 2) of GEMM, grouped-GEMM and attention rows x pJ/MAC of the row's
      compute format; vector: flops of every other row x pJ/FLOP;
    * sram / l2: the row's SRAM / L2 traffic bytes x 8 x pJ/bit.
    """
    flops = np.asarray(ops["flops"], dtype=np.float64)
    matrix = np.isin(ops["kind"], _MATRIX_KINDS)
    fmt = ops["compute_fmt"]
    mac_pj = np.array([co.mac_pj[f] for f in fmt], dtype=np.float64) if len(flops) else np.zeros(0)
    return {"matrix": np.where(matrix, flops / 2.0, 0.0) * mac_pj,
            "vector": np.where(matrix, 0.0, flops) * co.vector_pj_per_flop,
            "sram": np.asarray(ops["sram_bytes"]) * 8 * co.sram_pj_per_bit,
            "l2": np.asarray(ops["l2_bytes"]) * 8 * co.cache_pj_per_bit}


def resource_energy_pj(co: EnergyCoefficients, stacks: dict, links: dict, ports: dict) -> tuple:
    """pJ of the bytes moved over the package's memory stacks, die-to-die links and off-package
    ports: the one place these terms are priced.

    `stacks` / `links` / `ports` map the engine's resource names (the keys of `Result.stacks`,
    `.links`, `.ports`) to bytes: a float (energy_of: a Result's per-resource sums) or an array
    (the sweep: `engine.evaluate_rows(..., resource_rows=True)["resource_rows"]`, bytes per
    operator row). How bytes reach a resource (interleave shares, running devices, D2D read /
    write / ring routes, port bytes of every running device) is the engine's; the pJ per byte
    is this function's. Returns three dicts name -> pJ (same shapes as the bytes):

    * a stack: bytes x 8 x its `energy_pj_per_bit`. A package with no DRAM (Simba) keeps the
      model in its compute dies' on-chip SRAM and the engine lists those dies as its "stacks":
      their bytes cost a large-SRAM access with its on-die wires (the shared-cache pJ/bit,
      ENERGY.md §2), not a DRAM access;
    * a link: bytes (both directions) x 8 x the link's pJ/bit;
    * a port: bytes x 8 x the port's pJ/bit (`coefficients_of` maps scale_up to the scale-out
      port when there is no scale-up port); bytes over a port the package lacks: SpecError.
    """
    st = {k: b * 8 * co.stack_pj_per_bit.get(k, co.cache_pj_per_bit) for k, b in stacks.items()}
    ln = {k: b * 8 * co.link_pj_per_bit[k] for k, b in links.items()}
    pt = {}
    for k, b in ports.items():
        if k in co.port_pj_per_bit:
            pt[k] = b * 8 * co.port_pj_per_bit[k]
        elif np.any(np.asarray(b) > 0):
            raise SpecError(f"{co.arch}: the Result moves bytes over {k} but the package has no such port")
        else:
            pt[k] = b * 0.0
    return st, ln, pt


def _spread(total: float, weight: np.ndarray, what: str, notes: list) -> np.ndarray:
    """Split `total` over ops in proportion to `weight` (so Σ = total exactly)."""
    w = np.asarray(weight, dtype=np.float64)
    s = float(w.sum())
    if s > 0:
        return total * (w / s)
    if total > 0:
        notes.append(f"{what}: {total:.3g} J with no per-op counts to charge it to; spread evenly")
        return np.full(len(w), total / max(len(w), 1))
    return np.zeros(len(w))


# ------------------------------------------------------------------------------------------------
def full_load_power(arch, fmt: str | None = None) -> dict:
    """Power of one package with every matrix engine busy in `fmt` (default: the native format
    whose MAC power peak x pJ/MAC is largest, the worst case), MACs only plus static power; no data
    movement. The cross-check of ENERGY.md §1's datasheet bounds: our MAC + static power against
    TDP, and our pJ/FLOP against TDP / dense peak (an upper bound on the real figure).
    """
    if isinstance(arch, str):
        from ..arch import load_architecture
        arch = load_architecture(arch)
    co = coefficients_of(arch)
    if fmt is None:
        fmts = arch.supported_formats()
        fmt = max(fmts, key=lambda f: arch.peak_flops(f) * co.mac_pj[f])  # the power-worst case
    from ..formats import get_format
    fmt = get_format(fmt).name
    peak = arch.peak_flops(fmt)
    mac_w = peak / 2.0 * co.mac_pj[fmt] * 1e-12
    static_w = co.static_total_w
    tdp = co.tdp_w
    return dict(arch=arch.name, format=fmt, peak_flops=peak, mac_pj=co.mac_pj[fmt],
                model_pj_per_flop_mac=co.mac_pj[fmt] / 2.0, mac_w=mac_w, static_w=static_w,
                total_w=mac_w + static_w, tdp_w=tdp,
                ratio_to_tdp=(mac_w + static_w) / tdp if tdp else None,
                datasheet_pj_per_flop=tdp / peak * 1e12 if tdp else None)


def gemm_energy(arch, m: int, n: int, k: int, fmt: str = "bf16") -> dict:
    """Energy of one C[m,n] = A[m,k] B[k,n] GEMM on the whole package as one device, J and pJ/FLOP.

    Time from the engine's kernel model (`chipletarch.engine.gemm_time`). Bytes are compulsory:
    A and B read once in `fmt`, C written once in `fmt` when it is 16 bits or wider, else in bf16
    (narrow-format GEMMs write BF16 outputs); each byte crosses memory, the shared cache and the
    core SRAM once (die-to-die crossings of a multi-die package's remote share are left out here;
    `energy_of` counts them from the Result). Static power of the package runs for the kernel's
    time. This is the
    "full GEMM load" point of docs/VALIDATION.md "## Energy".
    """
    from ..engine import gemm_time
    from ..formats import get_format, tensor_bytes
    if isinstance(arch, str):
        from ..arch import load_architecture
        arch = load_architecture(arch)
    f = get_format(fmt)
    co = coefficients_of(arch)
    t = gemm_time(arch, m, n, k, f.name)
    out_fmt = f.name if f.element_bits >= 16 else "bf16"
    nbytes = tensor_bytes(m * k, f.name) + tensor_bytes(k * n, f.name) + tensor_bytes(m * n, out_fmt)
    # memory bytes interleave over the stacks in proportion to their bandwidth (the engine's even
    # interleave over equal stacks): the pJ/bit is the bandwidth-weighted mean, and a stack's
    # bandwidth is proportional to peak_w / pJ-per-bit
    bw = {s: co.stack_peak_w[s] / co.stack_pj_per_bit[s] for s in co.stack_pj_per_bit}
    hbm_pj = sum(co.stack_peak_w.values()) / sum(bw.values()) if bw else 0.0
    macs = float(m) * n * k
    comp = {c: 0.0 for c in COMPONENTS}
    comp["matrix"] = macs * co.mac_pj[f.name] * 1e-12
    comp["sram"] = nbytes * 8 * co.sram_pj_per_bit * 1e-12
    comp["l2"] = nbytes * 8 * co.cache_pj_per_bit * 1e-12
    comp["hbm"] = nbytes * 8 * hbm_pj * 1e-12
    comp["static"] = (co.static_w or 0.0) * t
    comp["hbm_background"] = co.hbm_background_w * t
    comp["d2d_standby"] = co.link_standby_w * t
    total = sum(comp.values())
    flops = 2.0 * macs
    return dict(arch=arch.name, m=m, n=n, k=k, format=f.name, time_s=t, tflops=flops / t / 1e12,
                components=comp, total_j=total, power_w=total / t, tdp_w=co.tdp_w,
                pj_per_flop=total / flops * 1e12,
                pj_per_flop_dynamic=sum(comp[c] for c in DYNAMIC_COMPONENTS) / flops * 1e12,
                pj_per_flop_mac=comp["matrix"] / flops * 1e12,
                static_known=co.static_w is not None)
