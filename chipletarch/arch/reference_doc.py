"""Generate the field tables of docs/YAML_REFERENCE.md from the pydantic schema and the catalog.

The hand-written part of that file explains conventions; the tables between the
`<!-- BEGIN GENERATED -->` / `<!-- END GENERATED -->` markers come from here, so they cannot drift
from the code (a test compares them). Regenerate with `python -m chipletarch.arch.reference_doc`.
"""
from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel

from . import catalog
from .efficiency import Efficiency
from .energy_spec import EnergySpec
from .schema import Architecture, ComputeDie, Core, IODie, Link, MemoryStack, Port, Redundancy, Systolic, Topology
from .units import unit_of

BEGIN, END = "<!-- BEGIN GENERATED -->", "<!-- END GENERATED -->"

_SECTIONS = [
    ("Architecture (top level; `Package` is the same class)", Architecture),
    ("ComputeDie (`dies[]` with `kind: compute`, the default)", ComputeDie),
    ("IODie / SramDie / MemoryControllerDie (`kind: io | sram | memory-controller`)", IODie),
    ("Core (`dies[].core`)", Core),
    ("Systolic (`dies[].core.systolic`)", Systolic),
    ("Redundancy (`dies[].redundancy`; read by the cost model only, docs/COST.md §2)", Redundancy),
    ("MemoryStack (`memory[]`)", MemoryStack),
    ("Link (`links[]`)", Link),
    ("Topology (`topology[]`; `link` takes the Link keys except `endpoints`, `name`)", Topology),
    ("Port (`scale_up`, `scale_out`)", Port),
    ("Efficiency (`efficiency`)", Efficiency),
    ("EnergySpec (`energy`; the energy model's overrides, docs/ENERGY_MODEL.md)", EnergySpec),
]


def _schema_type(prop: dict) -> str:
    """Readable type of a JSON-Schema property (as pydantic writes it)."""
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop or "oneOf" in prop:
        parts = [p for p in prop.get("anyOf", prop.get("oneOf")) if p.get("type") != "null"]
        inner = " or ".join(dict.fromkeys(_schema_type(p) for p in parts))
        return inner
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    t = prop.get("type")
    if t == "array":
        n = prop.get("minItems")
        size = f"{n} " if n is not None and n == prop.get("maxItems") else ""
        return f"list of {size}{_schema_type(prop.get('items', {}))}"
    if t == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"map: format name -> {_schema_type(prop['additionalProperties'])}"
    return {"number": "number", "integer": "integer", "string": "string", "boolean": "bool"}.get(t, str(t))


def _constraints(prop: dict) -> str:
    out = []
    for p in [prop] + prop.get("anyOf", []) + [prop.get("additionalProperties") or {}]:
        for key, sym in (("exclusiveMinimum", ">"), ("minimum", ">="), ("exclusiveMaximum", "<"), ("maximum", "<=")):
            if isinstance(p, dict) and key in p:
                out.append(f"{sym} {p[key]:g}")
        if isinstance(p, dict) and "pattern" in p:
            out.append("identifier" if p["pattern"].startswith("^[A-Za-z_]") else "no control characters")
    return ", ".join(dict.fromkeys(out))


def _model_table(model: type[BaseModel]) -> str:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    rows = ["| key | type | unit | required / default | constraint | meaning |", "|---|---|---|---|---|---|"]
    for name, prop in schema["properties"].items():
        if model is IODie and name == "kind":
            continue
        if name in required:
            req = "required"
        elif "default" in prop:
            d = prop["default"]
            req = "optional" if d is None else f"default `{d}`" if d != "" else "default empty"
        else:
            req = "default: empty" if prop.get("type") in ("array", "object") else "default: all defaults"
        unit = unit_of(name)
        unit = "" if unit == "a plain number" else unit
        desc = (prop.get("description") or "").replace("|", "\\|")
        rows.append(f"| `{name}` | {_schema_type(prop)} | {unit} | {req} | {_constraints(prop)} | {desc} |")
    return "\n".join(rows)


def _catalog_tables() -> str:
    out = ["### Catalog: process nodes (`process:`)", "",
           "| name | nm | wafer $ | D0 /cm^2 | alpha | design NRE $ | logic energy vs 45 nm |",
           "|---|---|---|---|---|---|---|"]
    for p in catalog.PROCESS_NODES.values():
        nre = f"{p.design_nre_usd:.4g}" if p.design_nre_usd else "n/p"
        out.append(f"| {p.name} | {p.feature_nm:g} | {p.wafer_price_usd:,.0f} | {p.defect_density_per_cm2:g} | "
                   f"{p.cluster_alpha:g} | {nre} | {p.logic_energy_scale:.3f} |")
    out += ["", "### Catalog: memory generations (`generation:`)", "",
            "| name | family | interface bits | pJ/bit | $/GB |", "|---|---|---|---|---|"]
    for m in catalog.MEMORY_GENERATIONS.values():
        out.append(f"| {m.name} | {m.family} | {m.interface_bits or 'n/p'} | {m.energy_pj_per_bit:g} | "
                   f"{m.price_usd_per_gb if m.price_usd_per_gb is not None else 'n/p'} |")
    out += ["", "### Catalog: link standards (link `kind:`)", "",
            "| name | pJ/bit | latency ns | module GB/s per direction | reach mm |", "|---|---|---|---|---|"]
    for s in catalog.LINK_STANDARDS.values():
        f = lambda v: "n/p" if v is None else f"{v:g}"  # noqa: E731
        out.append(f"| {s.name} | {f(s.energy_pj_per_bit)} | {f(s.latency_ns)} | {f(s.module_bandwidth_gb_s)} | "
                   f"{f(s.reach_mm)} |")
    out += ["", "### Catalog: package technologies (`technology:`)", "",
            "| name | interposer | max interposer mm^2 | max die mm^2 | interposer wafer $ | bond yield/die |",
            "|---|---|---|---|---|---|"]
    for t in catalog.PACKAGE_TECHNOLOGIES.values():
        out.append(f"| {t.name} | {'yes' if t.has_interposer else 'no'} | "
                   f"{('n/p' if t.has_interposer else '-') if t.max_interposer_area_mm2 is None else f'{t.max_interposer_area_mm2:,.0f}'} | "
                   f"{t.max_die_area_mm2:,.0f} | "
                   f"{'-' if t.interposer_wafer_price_usd is None else f'{t.interposer_wafer_price_usd:,.0f}'} | "
                   f"{t.bond_yield_per_die:g} |")
    out += ["", "Sources of every catalog value: the `source` field of each entry in "
                "`chipletarch/arch/catalog.py` (section and key of the shared reference sheets). n/p = not "
                "published in the reference sheets; the YAML must then give the value."]
    return "\n".join(out)


def render() -> str:
    """The generated block (between the markers) of docs/YAML_REFERENCE.md."""
    parts = [BEGIN, ""]
    for title, model in _SECTIONS:
        parts += [f"### {title}", "", _model_table(model), ""]
    parts += [_catalog_tables(), "", END]
    return "\n".join(parts)


def update(path: Path) -> bool:
    """Rewrite the generated block of `path`; True if the file changed."""
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + render() + tail
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs" / "YAML_REFERENCE.md"
    print(f"{target}: {'updated' if update(target) else 'up to date'}")
