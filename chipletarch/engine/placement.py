"""Compile a design point (an Architecture and how its package is cut into devices) into the
flat arrays `simulate` needs: one kernel machine per device, the memory stacks each device
interleaves over, how much of each byte a device moves crosses each die-to-die link, and the
bandwidth/latency of each collective scope.

Design decisions (docs/SIMULATE.md has the long form):

* **Device.** A device is one rank of the workload `Mapping`. A package of D compute dies holds
  `devices_per_package` devices (default 1: the whole package is one device, as B200 and MI300X
  present one GPU); the compute dies, in instance order, are cut into that many equal contiguous
  groups (b200 with 2 devices: gpu0 | gpu1; mi300x with 4: xcd0,1 | xcd2,3 | ...).
* **Kernel machine.** A device is timed by the kernel engineer's models (`_core.engine`) as one
  machine whose cores, caches and memory bandwidth are the sums over its dies. Figures the
  schema has are read from it; figures it does not have (shared-memory carve-out, register file,
  SRAM fill rate, L2 bandwidth when unpublished, the efficiency parameters) follow the H100 fit in
  `params.py` as a method, which is what the calibration brief asks for B200. An explicitly set
  field of the architecture's `efficiency:` block overrides the fitted value.
* **Memory.** Each memory stack belongs to the device whose dies reach it in the fewest hops
  (ties: the device with fewer stacks so far, then the lower index), so one device per package
  interleaves over every stack. A package without memory stacks (Simba) keeps the model in its
  compute dies' on-chip SRAM: every compute die is then a "stack" of its SRAM + cache bytes,
  reached by the other dies over the D2D links (`_sram_bandwidth`). Addresses interleave evenly: every die of the device sends the
  same share of its bytes to every stack of the device. The device's memory bandwidth is
  therefore `n_stacks x` the slowest stack's bandwidth (even interleave is paced by the slowest).
* **Remote traffic.** Die d's share to stack s follows `graph.memory_path(d, s)`; every
  die-to-die link on that path carries it, in the direction of the transfer (reads flow
  stack -> die, writes die -> stack). `read_factor[j]` / `write_factor[j]` are the bytes crossing
  directed link j per byte that each device reads / writes, all devices running the op at once
  (the busiest rank's op table stands for all of them).
* **Collectives.** scope 0 rings over groups of consecutive devices of the package (the
  collective's group size) along `graph.die_path` (bottleneck bandwidth and summed latency of
  the worst neighbour pair; every group rings at once); scope 1 / 2 use the
  package's scale-up / scale-out port, shared evenly by the devices of the package. Unpublished
  port latency falls back to the fitted per-step latency `params.H100['link_latency_s']`.

`compile_design(arch, devices_per_package)` is cached per architecture object (identity, since
architectures are frozen but unhashable), so a sweep that reuses an Architecture compiles once.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..errors import InfeasibleError, SpecError
from . import params as _params
from .machine import IDX, NSLOTS

# Register file per core: not in the schema. 256 KiB is Hopper/Blackwell SM (HARDWARE.md §1, S2)
# and also a CDNA 3 CU (4 SIMD x 128 KiB VGPR is 512 KiB; we keep the smaller figure, which only
# restricts the largest accumulator tiles). Used by the GEMM tile search (accumulators <= half).
RF_BYTES_PER_CORE = 256.0 * 1024
# Share of the per-core SRAM usable as software-managed shared memory: Hopper exposes 228 KiB of its
# 256 KiB unified L1/shared block (HARDWARE.md §1, S2); applied to every die as the method.
SMEM_SHARE = 228.0 / 256.0
# H100 references for scaling the fitted per-die figures to other dies
_H100_CORES, _H100_CLOCK, _H100_SRAM_BPC, _H100_MACS_16 = 132.0, 1.83e9, 128.0, 2048.0
# H100's fitted L2 bandwidth over its cores' aggregate SRAM fill rate (smem_bw x SMs x clock):
# the rule for a die whose shared-cache bandwidth is not published (see device_machine)
L2_PER_FILL = _params.H100["l2_bw"] / (_params.H100["smem_bw"] * _H100_CORES * _H100_CLOCK)

_MACS_16 = ("bf16", "fp16")
_MACS_8 = ("fp8_e4m3", "fp8_e5m2", "int8", "fp8_block", "mxfp8_e4m3", "mxfp8_e5m2", "mxint8")
_MACS_6 = ("mxfp6_e3m2", "mxfp6_e2m3")
_MACS_4 = ("mxfp4_e2m1", "nvfp4", "int4")
_NATIVE_BLOCK = ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4_e2m1", "nvfp4")

SCOPE_NAMES = ("d2d", "scale_up", "scale_out")


@dataclass(frozen=True)
class Placement:
    """A compiled design point. Arrays are read-only; all bandwidths in bytes/s per direction."""

    arch_name: str
    devices_per_package: int
    device_dies: tuple            # tuple of tuples: die instances of each device
    machine: np.ndarray           # float64[NSLOTS]: the kernel machine of one device
    peak_flops: dict              # format -> dense FLOP/s of one device (2 x MACs)
    vector_flops: float           # FP32 vector FLOP/s of one device
    stacks: tuple                 # every stack of the package, graph order
    stack_device: np.ndarray      # int64[n_stacks]: device owning each stack
    stack_bw: np.ndarray          # float64[n_stacks]: peak bandwidth of each stack
    stack_share: np.ndarray       # float64[n_stacks]: share of its device's bytes each stack serves
    links: tuple                  # names of the package's die-to-die links
    link_ends: tuple              # (u, v) per link; direction 0 is u -> v, 1 is v -> u
    link_bw: np.ndarray           # float64[n_links]: per direction
    read_factor: np.ndarray       # float64[2 n_links]: bytes on (link, dir) per byte each device reads
    write_factor: np.ndarray      # float64[2 n_links]: same per byte each device writes
    read_factor_by_device: np.ndarray   # float64[n_dev, 2 n_links]: the same per device (the
    write_factor_by_device: np.ndarray  # first k rows when only k devices of the package run)
    ring_factor: np.ndarray       # float64[2 n_links]: bytes on (link, dir) per byte each device
                                  # sends to its ring neighbour in a scope-0 collective
    rings: dict                   # group size -> (bandwidth, latency, ring factor) of scope-0
                                  # rings over groups of that many consecutive devices
    remote_share: float           # share of a device's memory bytes that cross >= 1 D2D link
    memory_kind: str              # "dram" (memory stacks) or "sram" (no stacks: the compute dies'
                                  # on-chip SRAM holds the model; `stacks` are then die names)
    stack_capacity: np.ndarray    # float64[n_stacks]: bytes each stack holds
    scope_bw: np.ndarray          # float64[3]: collective bandwidth per device for scope 0/1/2
    scope_latency: np.ndarray     # float64[3]: per-step latency for scope 0/1/2
    scope_label: tuple            # what each scope runs over (link kind / port label)

    @property
    def n_devices(self) -> int:
        return self.devices_per_package

    @property
    def hbm_bw(self) -> float:
        return float(self.machine[IDX["hbm_bw"]])

    def link_dir_bw(self) -> np.ndarray:
        """float64[2 n_links]: bandwidth of each (link, direction) pair."""
        return np.repeat(self.link_bw, 2)


_CACHE: "OrderedDict[tuple, tuple]" = OrderedDict()
_CACHE_SIZE = 64


def compile_design(arch, devices_per_package: int = 1) -> Placement:
    """Compile `arch` cut into `devices_per_package` devices (cached by architecture identity)."""
    key = (id(arch), int(devices_per_package))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is arch:
        _CACHE.move_to_end(key)
        return hit[1]
    pl = _compile(arch, int(devices_per_package))
    _CACHE[key] = (arch, pl)        # holding arch keeps its id from being reused while cached
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return pl


def _efficiency_overrides(arch) -> dict:
    """Slots set explicitly by the architecture's efficiency block (fields left at their ideal
    defaults are not overrides: the fitted method applies)."""
    eff = getattr(arch, "efficiency", None)
    if eff is None:
        return {}
    given = eff.model_fields_set
    out = {}
    if "matrix_efficiency" in given:
        out.update(eff_mat_16=eff.matrix_efficiency, eff_mat_8=eff.matrix_efficiency,
                   eff_mat_attn=eff.matrix_efficiency)
    if "vector_efficiency" in given:
        out["eff_sfu"] = eff.vector_efficiency
    if "memory_efficiency" in given:
        out.update(eff_mem=eff.memory_efficiency, attn_dec_eff_mem=eff.memory_efficiency,
                   eff_stream=eff.memory_efficiency)
    if "link_efficiency" in given:
        out["eff_link"] = eff.link_efficiency
    if "kernel_launch_overhead_us" in given:
        out["launch_s"] = eff.kernel_launch_overhead_us * 1e-6
    return out


def _first_rate(macs: dict, names) -> float:
    for n in names:
        if macs.get(n):
            return float(macs[n])
    return 0.0


def device_machine(arch, dies, stack_bws, stack_caps, devices_per_package=1) -> np.ndarray:
    """float64[NSLOTS] kernel machine of a device made of `dies` (die instance names of `arch`)
    interleaving evenly over stacks of bandwidths `stack_bws`."""
    defs = dict(arch.compute_die_instances())
    ds = [defs[d] for d in dies]
    d0 = ds[0]
    for d in ds[1:]:
        if d.name != d0.name:
            raise SpecError(f"{arch.name}: a device mixes compute dies '{d0.name}' and "
                            f"'{d.name}'; heterogeneous devices are not modelled")
    macs = d0.core.macs_per_cycle
    cores = float(sum(d.cores for d in ds))
    clock = d0.clock_ghz * 1e9
    m16 = _first_rate(macs, _MACS_16)
    m8 = _first_rate(macs, _MACS_8)
    if m16 <= 0:
        # the kernel models need a 16-bit rate for their softmax/rescale paths: a die without one
        # is timed at half its 8-bit rate, the usual ratio (documented in SIMULATE.md)
        m16 = m8 / 2.0 if m8 else _first_rate(macs, ("tf32", "fp32")) * 2.0
    if m16 <= 0:
        raise SpecError(f"{arch.name}: compute die '{d0.name}' lists no matrix rate the engine "
                        f"can use (bf16/fp16/fp8/int8/tf32)")
    sys = d0.core.systolic
    fit = _params.H100
    # a die that lists no vector unit (Simba's PEs are MAC lanes plus a post-processing unit)
    # runs norms / softmax / elementwise work on its MAC lanes: one FMA (2 FLOPs) per MAC per
    # cycle at the 16-bit rate; the SFU then defaults to 1/16 of that
    vec = float(d0.core.vector_flops_per_cycle or 2.0 * m16)
    cache = float(sum(d.cache_bytes for d in ds))
    cache_bw = float(sum(d.cache_bandwidth_bytes_per_s or 0.0 for d in ds))
    su = getattr(arch, "scale_up", None)
    if d0.core.sram_kib:
        smem = float(d0.core.sram_kib) * 1024.0 * SMEM_SHARE
    else:
        # no per-core SRAM (Gaudi-style MMEs fed from a die-level SRAM): each core stages its
        # tiles in its share of the die cache
        smem = cache / cores if cache > 0 else 0.0
    if smem <= 0:
        raise SpecError(f"{arch.name}: compute die '{d0.name}' has neither per-core SRAM nor a "
                        f"cache to stage GEMM tiles in")
    if d0.core.sram_bytes_per_cycle:
        # fitted L2 -> SRAM fill per core, scaled by the die's published SRAM port width
        smem_bw = fit["smem_bw"] * float(d0.core.sram_bytes_per_cycle) / _H100_SRAM_BPC
    elif cache_bw > 0:
        # the die cache feeds the cores directly: one core alone may draw all of it; the
        # kernel's L2-bandwidth term (l2_bw = the same cache bandwidth) bounds them together
        smem_bw = cache_bw / clock
    else:
        smem_bw = fit["smem_bw"]
    # Shared cache / global buffer bandwidth. Published (cache_bytes_per_cycle or
    # cache_bandwidth_gb_s): used as given. Unpublished: a shared cache is provisioned to refill its
    # cores' SRAM, so it follows the cores' aggregate SRAM fill rate (smem_bw x cores x clock) times
    # the H100 ratio of its fitted L2 bandwidth to that aggregate (20.0 / 19.47 TB/s = 1.027). For
    # a GPU die with Hopper's 128 B/clk SRAM port this equals the earlier cores x clock scaling; a
    # die with a wider SRAM port (systolic buffers) gets a proportionally faster cache instead of a
    # GPU-sized one. No cache level at all (TPU-like): memory streams straight into the SRAM, so the
    # "L2" term is the aggregate fill rate itself.
    fill_aggregate = smem_bw * cores * clock
    if cache_bw > 0:
        l2_bw = cache_bw                        # published
    elif cache > 0:
        l2_bw = fill_aggregate * L2_PER_FILL
    else:
        l2_bw = fill_aggregate
    # Accumulator storage per core. Hopper keeps the fp32 accumulators of a CTA tile in half its
    # 256 KiB register file (128 KiB per 2,048 16-bit MACs/clk). A core with a faster matrix
    # engine needs proportionally larger tiles to keep operand bytes per MAC within its SRAM fill
    # rate, and Blackwell provides them in a separate 256 KiB tensor memory (4,096 MACs/clk per
    # SM): the register-file figure the tile search reads scales with the 16-bit MAC rate over
    # Hopper's, never below 256 KiB (HARDWARE.md §3; the tile stays <= 256 x 256 per CTA).
    rf_gpu = RF_BYTES_PER_CORE * max(1.0, m16 / _H100_MACS_16)
    slots = dict(
        cores=cores, clock_hz=clock, macs_16=m16, macs_8=m8 or m16,
        macs_6=_first_rate(macs, _MACS_6), macs_4=_first_rate(macs, _MACS_4),
        macs_32=_first_rate(macs, ("tf32", "fp32")) or m16 / 2.0,
        vec_flops=vec,
        sfu_ops=float(d0.core.sfu_ops_per_cycle or vec / 16.0),
        smem_bytes=smem,
        smem_bw=smem_bw,
        # a systolic array keeps its whole rows x cols fp32 accumulator tile (the tile search
        # allows accumulators up to half the register file)
        rf_bytes=max(RF_BYTES_PER_CORE, 2.0 * 4.0 * sys.rows * sys.cols) if sys else rf_gpu,
        # a die without an on-die cache still stages tiles: one SRAM's worth per core
        l2_bytes=cache if cache > 0 else cores * float(d0.core.sram_kib) * 1024.0,
        l2_bw=l2_bw,
        hbm_bw=float(len(stack_bws) * min(stack_bws)) if len(stack_bws) else 0.0,
        hbm_bytes=float(sum(stack_caps)),
        tile_m_min=float(sys.rows) if sys else 64.0,
        tile_n_min=float(sys.cols) if sys else 16.0,
        sys_rows=float(sys.rows) if sys else 0.0,
        sys_cols=float(sys.cols) if sys else 0.0,
        native_block_scale=1.0 if any(macs.get(f) for f in _NATIVE_BLOCK) else 0.0,
        link_bw=(su.bandwidth_gb_s * 1e9 / devices_per_package) if su is not None else 0.0,
    )
    for k, v in fit.items():
        if k in IDX and k not in slots and k not in ("l2_bw", "smem_bw"):
            slots[k] = float(v)
    slots.update(_efficiency_overrides(arch))
    arr = np.zeros(NSLOTS, dtype=np.float64)
    for k, v in slots.items():
        if k in IDX:
            arr[IDX[k]] = v
    if arr[IDX["hbm_bw"]] <= 0:
        raise InfeasibleError(f"{arch.name}: a device of dies {list(dies)} reaches no memory stack")
    from .machine import Machine
    Machine.from_array(arr, name=arch.name)      # the kernel's own range checks, once per compile
    arr.setflags(write=False)
    return arr


def _split_dies(arch, n_dev):
    dies = [d for d, _ in arch.compute_die_instances()]
    if not dies:
        raise SpecError(f"{arch.name}: no compute dies")
    if n_dev < 1 or len(dies) % n_dev:
        raise InfeasibleError(
            f"{arch.name}: {len(dies)} compute dies cannot be cut into {n_dev} equal devices; "
            f"devices_per_package must divide {len(dies)}")
    per = len(dies) // n_dev
    return [tuple(dies[i * per:(i + 1) * per]) for i in range(n_dev)]


def _sram_bandwidth(d) -> float:
    """Read bandwidth of a compute die's on-chip SRAM when it holds the model (no DRAM): the
    published cache bandwidth; else cores x SRAM bytes/cycle x clock; else one operand byte per
    MAC per cycle at the die's widest 8-bit rate (the SRAM feeds the MACs at their rate, so it
    never binds before compute)."""
    if d.cache_bandwidth_bytes_per_s:
        return float(d.cache_bandwidth_bytes_per_s)
    clock = d.clock_ghz * 1e9
    if d.core.sram_bytes_per_cycle:
        return float(d.cores * d.core.sram_bytes_per_cycle * clock)
    macs = max(d.core.macs_per_cycle.values())
    return float(d.cores * macs * clock)


def _ring(g, groups, size, index, n_links):
    """Scope-0 ring of `size` consecutive devices (the package's devices cut into n / size such
    groups, all running the collective at once, as TP groups do): (bottleneck bandwidth of the
    worst neighbour pair, its latency, bytes on each (link, direction) per byte each device
    sends to its neighbour)."""
    from ..arch.graph import die_path

    bw, lat = np.inf, 0.0
    fac = np.zeros(2 * n_links)
    for start in range(0, len(groups), size):
        members = groups[start:start + size]
        for i in range(size):
            p = die_path(g, members[i][0], members[(i + 1) % size][0])
            bw = min(bw, p.bandwidth_bytes_per_s)
            lat = max(lat, p.latency_s)
            for (a, b) in p.edges:
                li, direction = index[(a, b)]
                fac[2 * li + direction] += 1.0
    fac.setflags(write=False)
    return float(bw), float(lat), fac


def _compile(arch, n_dev: int) -> Placement:
    from ..arch.graph import die_path, memory_nodes, memory_path

    g = arch.to_graph()
    groups = _split_dies(arch, n_dev)
    stacks = tuple(memory_nodes(g))
    sram_mode = not stacks
    if sram_mode:
        # no DRAM (Simba): the model lives in the compute dies' on-chip SRAM, spread evenly;
        # each die is a "stack" and a die reaches the others' SRAM over the D2D links
        stacks = tuple(d for grp in groups for d in grp)
        route = lambda d, s: die_path(g, d, s)       # noqa: E731
    else:
        route = lambda d, s: memory_path(g, d, s)    # noqa: E731
    # --- stack ownership: nearest device (hops, then fewest stacks so far, then index)
    paths = {}
    owner = np.zeros(len(stacks), dtype=np.int64)
    count = [0] * n_dev
    for si, s in enumerate(stacks):
        best = None
        for gi, grp in enumerate(groups):
            for d in grp:
                p = route(d, s)
                paths[(d, s)] = p
            hops = min(len(paths[(d, s)].edges) for d in grp)
            lat = min(paths[(d, s)].latency_s for d in grp)
            key = (hops, lat, count[gi], gi)
            if best is None or key < best[0]:
                best = (key, gi)
        owner[si] = best[1]
        count[best[1]] += 1
    if min(count) == 0:
        raise InfeasibleError(f"{arch.name}: {n_dev} devices per package but only "
                              f"{len(stacks)} memory stacks; a device would own none")
    if sram_mode:
        defs = dict(arch.compute_die_instances())
        stack_bw = np.array([_sram_bandwidth(defs[s]) for s in stacks], dtype=np.float64)
        stack_cap = np.array([defs[s].sram_bytes + defs[s].cache_bytes for s in stacks],
                             dtype=np.float64)
    else:
        stack_bw = np.array([g.nodes[s]["bandwidth_bytes_per_s"] for s in stacks],
                            dtype=np.float64)
        stack_cap = np.array([g.nodes[s]["capacity_bytes"] for s in stacks], dtype=np.float64)
    share = np.array([1.0 / count[owner[i]] for i in range(len(stacks))], dtype=np.float64)

    # --- die-to-die links and the share of traffic each (link, direction) carries
    links, ends, lbw = [], [], []
    index = {}
    for u, v, a in g.edges(data=True):
        if a["type"] == "link":
            index[(u, v)] = (len(links), 0)
            index[(v, u)] = (len(links), 1)
            links.append(a["name"])
            ends.append((u, v))
            lbw.append(a["bandwidth_bytes_per_s"])
    rf_dev = np.zeros((n_dev, 2 * len(links)))     # per owning device
    wf_dev = np.zeros((n_dev, 2 * len(links)))
    remote = 0.0
    for si, s in enumerate(stacks):
        grp = groups[owner[si]]
        # every device moves the same bytes (the busiest rank's table stands for all): per byte
        # one device moves, its share to stack s is share[si], split evenly over its dies
        w = share[si] / len(grp)
        for d in grp:
            p = paths[(d, s)]
            crossed = False
            for (a, b) in p.edges:              # path order die -> ... -> stack
                if (a, b) not in index:
                    continue                    # the memory edge (the stack itself)
                li, direction = index[(a, b)]
                wf_dev[owner[si], 2 * li + direction] += w     # writes flow die -> stack
                rf_dev[owner[si], 2 * li + (1 - direction)] += w   # reads flow stack -> die
                crossed = True
            if crossed and owner[si] == 0:
                remote += share[si] / len(grp)

    rf, wf = rf_dev.sum(axis=0), wf_dev.sum(axis=0)

    # --- collective scopes
    eff_lat = _params.H100["link_latency_s"]
    sbw = np.zeros(3)
    slat = np.zeros(3)
    label = ["", "", ""]
    rings = {}
    for size in range(2, n_dev + 1):
        if n_dev % size == 0:
            rings[size] = _ring(g, groups, size, index, len(links))
    if n_dev > 1:
        sbw[0], slat[0], ring = rings[n_dev]
        kinds = sorted({g.edges[e]["kind"] for i in range(n_dev)
                        for e in die_path(g, groups[i][0], groups[(i + 1) % n_dev][0]).edges})
        label[0] = "+".join(kinds)
    else:
        ring = np.zeros(2 * len(links))
    for si, key in ((1, "scale_up"), (2, "scale_out")):
        port = getattr(arch, key, None)
        if port is None and key == "scale_up":
            port = getattr(arch, "scale_out", None)   # no scale-up fabric: traffic leaves by the host port
        if port is None:
            continue
        sbw[si] = port.bandwidth_gb_s * 1e9 / n_dev
        slat[si] = port.latency_ns * 1e-9 if port.latency_ns is not None else eff_lat
        label[si] = port.kind
    machine = device_machine(arch, groups[0], stack_bw[owner == 0], stack_cap[owner == 0], n_dev)
    d0 = dict(arch.compute_die_instances())[groups[0][0]]
    per_dev = len(groups[0])
    peaks = {f: per_dev * d0.peak_flops(f) for f in d0.core.macs_per_cycle}
    vec = per_dev * d0.vector_flops
    for arr in (stack_bw, stack_cap, share, rf, wf, rf_dev, wf_dev, owner):
        arr.setflags(write=False)
    lb = np.array(lbw, dtype=np.float64)
    lb.setflags(write=False)
    sbw.setflags(write=False)
    slat.setflags(write=False)
    return Placement(arch_name=arch.name, devices_per_package=n_dev, device_dies=tuple(groups),
                     machine=machine, peak_flops=peaks, vector_flops=float(vec), stacks=stacks,
                     stack_device=owner, stack_bw=stack_bw, stack_share=share, links=tuple(links),
                     link_ends=tuple(ends), link_bw=lb, read_factor=rf, write_factor=wf,
                     read_factor_by_device=rf_dev, write_factor_by_device=wf_dev,
                     ring_factor=ring, rings=rings,
                     remote_share=float(remote), memory_kind="sram" if sram_mode else "dram",
                     stack_capacity=stack_cap, scope_bw=sbw, scope_latency=slat,
                     scope_label=tuple(label))


def compile_machine(arch, devices_per_package: int = 1):
    """The kernel `Machine` of one device of `arch` (default: the whole package as one device).

    Lets the kernel-level API (`gemm_time`, `attention_time`) be called with an Architecture."""
    from .machine import Machine
    if isinstance(arch, str):
        from .simulate import _resolve_arch
        arch = _resolve_arch(arch)
    pl = compile_design(arch, devices_per_package)
    return Machine.from_array(pl.machine.copy(), name=arch.name)


__all__ = ["Placement", "compile_design", "compile_machine", "device_machine", "SCOPE_NAMES"]
