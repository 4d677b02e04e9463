"""Package graph: the one source of topology truth, and the queries the engine uses on it.

`build_graph(arch)` (= `Architecture.to_graph()`) returns an undirected `networkx.Graph`:

Nodes (attribute `type`):
- `die` — one per die instance: `kind` (compute/io/sram/memory-controller), `definition`, `area_mm2`,
  `clock_hz`, `cores`, `peak_flops` {format: FLOP/s dense}, `vector_flops`, `sram_bytes`,
  `cache_bytes`, `cache_bandwidth_bytes_per_s`, `memory_interfaces`, `stacked`, `process`.
- `memory` — one per stack instance: `generation`, `capacity_bytes`, `bandwidth_bytes_per_s`,
  `energy_pj_per_bit`, `die` (the instance it attaches to).
- `port` — `scale_up` / `scale_out`: `kind` (scale-up/scale-out), `label`, `bandwidth_bytes_per_s`
  (package total, each direction), `latency_s`, `energy_pj_per_bit`, `domain_size`.

Edges (attribute `type`), all with `bandwidth_bytes_per_s` (each direction), `latency_s`,
`energy_pj_per_bit`:
- `link` — a die-to-die link (`kind` = link standard, `name`).
- `memory` — die to its stack; bandwidth = the stack's, energy = the stack's DRAM access energy,
  latency 0 (DRAM access latency is not part of the spec).
- `port` — die to an off-package port; the port's bandwidth is split evenly over its host dies;
  unpublished latency/energy are 0 and flagged by `published=False` on the node.

Paths are routed over dies only (memory stacks and ports are end points, never transit) and are
minimum-hop; among equal-hop paths the widest (largest bottleneck), then the lowest latency, wins.
Per-path energy is the sum of pJ/bit of every edge, so a die-to-stack path includes the DRAM access.
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

import networkx as nx

from ..errors import SpecError

__all__ = ["build_graph", "MemoryPath", "memory_path", "die_path", "memory_paths", "local_memory",
           "remote_memory", "bisection_bandwidth", "die_nodes", "memory_nodes"]


def build_graph(arch) -> nx.Graph:
    """networkx graph of `arch` (see module docstring for node/edge attributes)."""
    from .schema import ComputeDie

    g = nx.Graph(name=arch.name, technology=arch.technology.name)
    for inst, d in arch.die_instances():
        compute = isinstance(d, ComputeDie)
        g.add_node(inst, type="die", kind=d.kind, definition=d.name, area_mm2=d.area_mm2,
                   clock_hz=d.clock_ghz * 1e9 if d.clock_ghz else None,
                   cores=d.cores if compute else 0,
                   peak_flops={f: d.peak_flops(f) for f in d.core.macs_per_cycle} if compute else {},
                   vector_flops=d.vector_flops if compute else 0.0,
                   sram_bytes=d.sram_bytes if compute else 0.0,
                   cache_bytes=d.cache_bytes, cache_bandwidth_bytes_per_s=d.cache_bandwidth_bytes_per_s,
                   memory_interfaces=d.memory_interfaces, stacked=d.stacked,
                   process=d.process.name if d.process else None)
    for inst, s, die in arch.memory_instances():
        g.add_node(inst, type="memory", kind="memory", generation=s.generation.name,
                   capacity_bytes=s.capacity_gb * 1e9, bandwidth_bytes_per_s=s.bandwidth_gb_s * 1e9,
                   energy_pj_per_bit=s.energy_pj_per_bit, die=die)
        g.add_edge(die, inst, type="memory", kind=s.generation.name, name=f"{die}-{inst}",
                   bandwidth_bytes_per_s=s.bandwidth_gb_s * 1e9, latency_s=0.0,
                   energy_pj_per_bit=s.energy_pj_per_bit)
    for link in arch.all_links():
        a, b = link.endpoints
        g.add_edge(a, b, type="link", kind=link.kind, name=link.name or f"{a}-{b}",
                   bandwidth_bytes_per_s=link.bandwidth_gb_s * 1e9, latency_s=link.latency_ns * 1e-9,
                   energy_pj_per_bit=link.energy_pj_per_bit)
    for key, role in (("scale_up", "scale-up"), ("scale_out", "scale-out")):
        port = getattr(arch, key)
        if port is None:
            continue
        hosts = arch.port_dies(port)
        lat = (port.latency_ns or 0.0) * 1e-9
        energy = port.energy_pj_per_bit or 0.0
        g.add_node(key, type="port", kind=role, label=port.kind,
                   bandwidth_bytes_per_s=port.bandwidth_gb_s * 1e9, latency_s=lat, energy_pj_per_bit=energy,
                   domain_size=port.domain_size,
                   published=port.latency_ns is not None and port.energy_pj_per_bit is not None)
        for h in hosts:
            g.add_edge(h, key, type="port", kind=port.kind, name=f"{h}-{key}",
                       bandwidth_bytes_per_s=port.bandwidth_gb_s * 1e9 / len(hosts), latency_s=lat,
                       energy_pj_per_bit=energy)
    return g


def die_nodes(g: nx.Graph) -> list[str]:
    return [n for n, t in g.nodes(data="type") if t == "die"]


def memory_nodes(g: nx.Graph) -> list[str]:
    return [n for n, t in g.nodes(data="type") if t == "memory"]


class MemoryPath(NamedTuple):
    """A route through the package: bottleneck bandwidth, summed latency and energy, and its edges.

    Unpacks as the 4-tuple of the docs/ARCHITECTURE.md contract: `bw, lat, pj, edges = memory_path(...)`.
    """

    bandwidth_bytes_per_s: float
    latency_s: float
    energy_pj_per_bit: float
    edges: list  # [(u, v), ...] in path order; g.edges[u, v] gives each edge's attributes

    @property
    def nodes(self) -> list:
        """Nodes along the path, source first (empty for the trivial path of a node to itself)."""
        return [self.edges[0][0]] + [v for _, v in self.edges] if self.edges else []


def _check(g: nx.Graph, node: str, want: str) -> None:
    if node not in g:
        raise SpecError(f"'{node}' is not a node of package '{g.graph.get('name')}'")
    if want and g.nodes[node]["type"] != want:
        raise SpecError(f"'{node}' is a {g.nodes[node]['type']} node, expected a {want}")


def _route(g: nx.Graph, src: str, dst: str) -> MemoryPath:
    if src == dst:
        return MemoryPath(float("inf"), 0.0, 0.0, [])
    allowed = {n for n, t in g.nodes(data="type") if t == "die"} | {src, dst}
    sub = g.subgraph(allowed)
    try:
        candidates = list(nx.all_shortest_paths(sub, src, dst))
    except nx.NetworkXNoPath:
        raise SpecError(f"no path from '{src}' to '{dst}' in package '{g.graph.get('name')}'") from None
    best = None
    for nodes in candidates:
        edges = list(zip(nodes, nodes[1:]))
        attrs = [g.edges[e] for e in edges]
        bw = min(a["bandwidth_bytes_per_s"] for a in attrs)
        lat = sum(a["latency_s"] for a in attrs)
        key = (-bw, lat)
        if best is None or key < best[0]:
            best = (key, MemoryPath(bw, lat, sum(a["energy_pj_per_bit"] for a in attrs), edges))
    return best[1]


def memory_path(g: nx.Graph, die: str, stack: str) -> MemoryPath:
    """Route from a die instance to a memory stack: (bottleneck B/s, latency s, pJ/bit, edges, nodes)."""
    _check(g, die, "die")
    _check(g, stack, "memory")
    return _route(g, die, stack)


def die_path(g: nx.Graph, a: str, b: str) -> MemoryPath:
    """Route between two die instances (or a die and a port) over die-to-die links."""
    _check(g, a, "")
    _check(g, b, "")
    return _route(g, a, b)


def memory_paths(g: nx.Graph, die: str) -> dict[str, MemoryPath]:
    """Route from `die` to every memory stack of the package."""
    return {s: memory_path(g, die, s) for s in memory_nodes(g)}


def local_memory(g: nx.Graph, die: str) -> list[str]:
    """Memory stacks attached directly to `die`."""
    _check(g, die, "die")
    return [n for n in g.neighbors(die) if g.nodes[n]["type"] == "memory"]


def remote_memory(g: nx.Graph, die: str) -> list[str]:
    """Memory stacks `die` reaches only over die-to-die links."""
    local = set(local_memory(g, die))
    return [s for s in memory_nodes(g) if s not in local]


def bisection_bandwidth(g: nx.Graph, group_a: Iterable[str], group_b: Iterable[str]) -> float:
    """Min-cut bandwidth (bytes/s, each direction) between two groups of die instances.

    Only die-to-die links count (memory and port edges end at leaves and cannot carry die-to-die
    traffic). Dies in neither group may sit on either side of the cut.
    """
    a, b = list(group_a), list(group_b)
    for n in a + b:
        _check(g, n, "die")
    if set(a) & set(b):
        raise SpecError(f"bisection groups overlap: {sorted(set(a) & set(b))}")
    if not a or not b:
        raise SpecError("bisection needs two non-empty die groups")
    flow = nx.DiGraph()
    for u, v, d in g.edges(data=True):
        if d["type"] == "link":
            flow.add_edge(u, v, capacity=d["bandwidth_bytes_per_s"])
            flow.add_edge(v, u, capacity=d["bandwidth_bytes_per_s"])
    src, snk = ("__bisection_source__",), ("__bisection_sink__",)
    for n in a:
        flow.add_edge(src, n)  # no capacity attribute = infinite
    for n in b:
        flow.add_edge(n, snk)
    value, _ = nx.minimum_cut(flow, src, snk)
    return float(value)
