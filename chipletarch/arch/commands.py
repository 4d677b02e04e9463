"""`chipletarch list | validate | show | schema`: the architecture commands of the CLI.

`list` prints the bundled designs with their one-line description; `validate FILE...` checks files
and exits 1 if any is invalid (every error printed as file:line: path: message); `show ARCH` prints
dies, areas, peak TFLOPS per format, memory and links (and draws the package with --png/--svg);
`schema` prints the JSON Schema of the YAML format for editors.
"""
from __future__ import annotations

import json
import sys

from ..errors import ChipletarchError, SpecError
from .loader import list_architectures, load_architecture


def add_commands(subparsers) -> None:
    p = subparsers.add_parser("list", help="list the bundled reference architectures")
    p.set_defaults(func=cmd_list)

    p = subparsers.add_parser("validate", help="check architecture YAML files (exit 1 if any is invalid)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cmd_validate)

    p = subparsers.add_parser("show", help="summarise an architecture: dies, peak TFLOPS, memory, links")
    p.add_argument("arch", metavar="ARCH", help="bundled name (see `chipletarch list`) or YAML path")
    p.add_argument("--png", metavar="PATH", help="also draw the package to a PNG file")
    p.add_argument("--svg", metavar="PATH", help="also draw the package to an SVG file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of tables")
    p.set_defaults(func=cmd_show)

    p = subparsers.add_parser("schema", help="print the JSON Schema of architecture YAML files")
    p.set_defaults(func=cmd_schema)


def cmd_list(args) -> int:
    names = list_architectures()
    width = max((len(n) for n in names), default=0)
    for name in names:
        try:
            desc = load_architecture(name).description
        except ChipletarchError as exc:  # a broken bundled file must not hide the others
            desc = f"(invalid: {str(exc).splitlines()[0]})"
        print(f"{name:<{width}}  {desc}")
    return 0


def cmd_validate(args) -> int:
    bad = 0
    for f in args.files:
        try:
            a = load_architecture(f)
        except ChipletarchError as exc:
            bad += 1
            print(str(exc), file=sys.stderr)
            continue
        n_dies, n_mem, n_links = len(a.die_instances()), sum(s.count for s in a.memory), len(a.all_links())
        print(f"{f}: ok ({a.name}: {_count(n_dies, 'die instance')}, {_count(n_mem, 'memory stack')}, "
              f"{_count(n_links, 'link')})")
    if bad:
        print(f"{bad} of {len(args.files)} file(s) invalid", file=sys.stderr)
    return 1 if bad else 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))] + [fmt.format(*r) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def _num(x, spec: str = "g") -> str:
    return "-" if x is None else format(x, spec)


def render_show(a) -> str:
    """The text `chipletarch show` prints for an architecture."""
    from .schema import ComputeDie

    out = [f"{a.name}: {a.description}".rstrip(": "),
           f"technology {a.technology.name}"
           + (f", interposer {a.interposer_area_mm2:g} mm^2" if a.interposer_area_mm2 else "")
           + (f", TDP {a.tdp_w:g} W" if a.tdp_w else ""), ""]
    rows = []
    for d in a.dies:
        c = isinstance(d, ComputeDie)
        rows.append([d.name + (f" x{d.count}" if d.count > 1 else ""), d.kind,
                     d.process.name if d.process else "-", _num(d.area_mm2), _num(d.clock_ghz),
                     str(d.cores) if c else "-", _num(d.core.sram_kib) if c else "-", _num(d.cache_mib),
                     str(d.memory_interfaces)])
    out += [_table(["die", "kind", "process", "area mm2", "clock GHz", "cores", "SRAM KiB/core",
                    "cache MiB", "mem if"], rows), ""]
    fmts = a.supported_formats()
    if fmts:
        rows = [[f, f"{a.peak_flops(f) / 1e12:,.1f}"] for f in fmts]
        if a.peak_vector_flops:
            rows.append(["vector units", f"{a.peak_vector_flops / 1e12:,.1f}"])
        out += [_table(["format", "peak TFLOPS (dense, package)"], rows), ""]
    if a.memory:
        rows = [[s.name + (f" x{s.count}" if s.count > 1 else ""), s.generation.name, _num(s.capacity_gb),
                 _num(s.bandwidth_gb_s), _num(s.energy_pj_per_bit),
                 ", ".join(dict.fromkeys(die for _, st, die in a.memory_instances() if st is s))]
                for s in a.memory]
        out += [_table(["memory", "generation", "GB each", "GB/s each", "pJ/bit", "attached to"], rows),
                f"total {a.memory_capacity_bytes / 1e9:,.1f} GB, {a.memory_bandwidth_bytes_per_s / 1e12:,.2f} TB/s",
                ""]
    links = a.all_links()
    if links:
        rows = [[f"{l.endpoints[0]} - {l.endpoints[1]}", l.kind, _num(l.bandwidth_gb_s), _num(l.latency_ns),
                 _num(l.energy_pj_per_bit)] for l in links]
        out += [_table(["link", "kind", "GB/s each way", "latency ns", "pJ/bit"], rows), ""]
    ports = [(k, getattr(a, k)) for k in ("scale_up", "scale_out") if getattr(a, k) is not None]
    if ports:
        rows = [[k.replace("_", "-"), p.kind, _num(p.bandwidth_gb_s), str(p.domain_size), _num(p.latency_ns),
                 _num(p.energy_pj_per_bit)] for k, p in ports]
        out += [_table(["port", "kind", "GB/s each way", "domain", "latency ns", "pJ/bit"], rows), ""]
    return "\n".join(out).rstrip() + "\n"


def summary(a) -> dict:
    """The figures `show` prints, as plain data (SI units: FLOP/s, bytes, bytes/s, seconds)."""
    return {
        "name": a.name, "description": a.description, "technology": a.technology.name,
        "tdp_w": a.tdp_w, "interposer_area_mm2": a.interposer_area_mm2,
        "dies": [{"name": d.name, "kind": d.kind, "count": d.count, "instances": d.instances,
                  "process": d.process.name if d.process else None, "area_mm2": d.area_mm2,
                  "clock_ghz": d.clock_ghz, "cores": getattr(d, "cores", 0)} for d in a.dies],
        "peak_flops": {f: a.peak_flops(f) for f in a.supported_formats()},
        "peak_vector_flops": a.peak_vector_flops,
        "memory_capacity_bytes": a.memory_capacity_bytes,
        "memory_bandwidth_bytes_per_s": a.memory_bandwidth_bytes_per_s,
        "memory": [{"stack": inst, "generation": s.generation.name, "die": die,
                    "capacity_bytes": s.capacity_gb * 1e9, "bandwidth_bytes_per_s": s.bandwidth_gb_s * 1e9}
                   for inst, s, die in a.memory_instances()],
        "links": [{"endpoints": l.endpoints, "kind": l.kind, "bandwidth_bytes_per_s": l.bandwidth_gb_s * 1e9,
                   "latency_s": l.latency_ns * 1e-9, "energy_pj_per_bit": l.energy_pj_per_bit}
                  for l in a.all_links()],
        "ports": {k: {"kind": p.kind, "bandwidth_bytes_per_s": p.bandwidth_gb_s * 1e9,
                      "domain_size": p.domain_size, "dies": a.port_dies(p)}
                  for k in ("scale_up", "scale_out") if (p := getattr(a, k)) is not None},
    }


def cmd_show(args) -> int:
    a = load_architecture(args.arch)
    if args.json:
        print(json.dumps(summary(a), indent=2))
    else:
        sys.stdout.write(render_show(a))
    for path in (args.png, args.svg):
        if path:
            try:
                from .drawing import draw_package
            except ImportError as exc:
                raise SpecError(f"cannot draw: chipletarch.arch.drawing is unavailable ({exc})") from None
            draw_package(a, path)
            print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


def cmd_schema(args) -> int:
    from .schema import Architecture

    print(json.dumps(Architecture.model_json_schema(), indent=2))
    return 0
