"""Random valid specs survive to_yaml -> load unchanged; evolve() re-validates; catalog refs round-trip."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chipletarch.arch import Architecture, architecture_from_yaml, load_architecture
from chipletarch.arch.catalog import LINK_STANDARDS, PROCESS_NODES, lookup_process
from chipletarch.errors import SpecError

FORMATS = ["fp32", "tf32", "bf16", "fp16", "fp8_e4m3", "fp8_e5m2", "mxfp8_e4m3", "mxfp6_e3m2", "mxfp4_e2m1",
           "mxint8", "int8", "int4", "nvfp4"]
pos = st.floats(min_value=1e-3, max_value=1e5, allow_nan=False, allow_infinity=False)
frac = st.floats(min_value=1e-3, max_value=1.0)


@st.composite
def core(draw):
    c = {"macs_per_cycle": draw(st.dictionaries(st.sampled_from(FORMATS), pos, min_size=1, max_size=4))}
    for k in ("vector_flops_per_cycle", "sfu_ops_per_cycle", "sram_kib", "sram_bytes_per_cycle"):
        if draw(st.booleans()):
            c[k] = draw(pos)
    if draw(st.booleans()):
        c["systolic"] = {"rows": draw(st.integers(1, 256)), "cols": draw(st.integers(1, 256)),
                         "dataflow": draw(st.sampled_from(["weight-stationary", "output-stationary"]))}
    return c


@st.composite
def die(draw, k):
    kind = draw(st.sampled_from(["compute", "compute", "io", "sram", "memory-controller"])) if k else "compute"
    d = {"name": f"d{k}x", "kind": kind, "count": draw(st.integers(1, 3)), "memory_interfaces": 8}
    if draw(st.booleans()):
        d["process"] = draw(st.sampled_from(sorted(p.name for p in PROCESS_NODES.values())))
    elif draw(st.booleans()):
        d["process"] = {"name": "N3P", "wafer_price_usd": draw(pos)}
    if draw(st.booleans()):
        d["area_mm2"] = draw(st.floats(min_value=1, max_value=858))
    if draw(st.booleans()):
        d["cache_mib"] = draw(pos)
        d["cache_bandwidth_gb_s"] = draw(pos)
    if kind == "compute":
        d.update(clock_ghz=draw(st.floats(0.1, 5.0)), cores=draw(st.integers(1, 300)), core=draw(core()))
    return d


def link_params(draw):
    kind = draw(st.sampled_from(["ucie-standard", "ucie-advanced", "ucie-3d", "infinity-fabric", "custom"]))
    p = {"kind": kind, "bandwidth_gb_s": draw(pos)}
    if kind in ("custom", "infinity-fabric") or draw(st.booleans()):
        p["latency_ns"] = draw(st.floats(0, 100))
    if kind == "custom" or draw(st.booleans()):
        p["energy_pj_per_bit"] = draw(pos)
    return p


@st.composite
def architecture(draw):
    dies = [draw(die(k)) for k in range(draw(st.integers(1, 3)))]
    insts = [d["name"] if d["count"] == 1 else f"{d['name']}{i}" for d in dies for i in range(d["count"])]
    techs = ["organic-substrate", "bridge", "3d-hybrid-bonding", "silicon-interposer"]
    if len(insts) == 1:
        techs.append("monolithic")
    a = {"name": draw(st.text("abcdefgh-0123", min_size=1, max_size=12)),
         "technology": draw(st.sampled_from(techs)), "dies": dies}
    if draw(st.booleans()):
        # any printable text (control characters are refused by the schema, see test below)
        a["description"] = draw(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40))
    if draw(st.booleans()):
        a["tdp_w"] = draw(pos)
    if len(insts) > 1:
        if draw(st.booleans()):
            a["links"] = [{**link_params(draw), "endpoints": [x, y]} for x, y in zip(insts, insts[1:])]
        else:
            kinds = ["ring", "all-to-all", "star"] + (["mesh"] if len(insts) % 2 == 0 else [])
            kind = draw(st.sampled_from(kinds))
            t = {"kind": kind, "dies": insts, "link": link_params(draw)}
            if kind == "star":
                t["hub"] = insts[0]
            if kind == "mesh":
                t["rows"] = 2
            a["topology"] = [t]
    stacks = []
    for j in range(draw(st.integers(0, 2))):
        s = {"name": f"m{j}x", "count": draw(st.integers(1, 3)),
             "generation": draw(st.sampled_from(["hbm2e", "hbm3", "hbm3e", "hbm4", "gddr7", "lpddr5x"])),
             "capacity_gb": draw(pos), "bandwidth_gb_s": draw(pos), "attach": draw(st.sampled_from(insts))}
        if draw(st.booleans()):
            s["energy_pj_per_bit"] = draw(pos)
        stacks.append(s)
    if stacks:
        a["memory"] = stacks
    if draw(st.booleans()):
        a["scale_up"] = {"kind": "nvlink", "bandwidth_gb_s": draw(pos), "domain_size": draw(st.integers(1, 72))}
    if draw(st.booleans()):
        a["efficiency"] = {"matrix_efficiency": draw(frac), "kernel_launch_overhead_us": draw(st.floats(0, 50))}
    return a


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architecture())
def test_yaml_round_trip(spec):
    a = Architecture.from_dict(spec)
    text = a.to_yaml()
    b = architecture_from_yaml(text, "roundtrip.yaml")
    assert b == a
    assert b.to_yaml() == text
    # derived figures agree too
    assert b.memory_capacity_bytes == a.memory_capacity_bytes
    for f in a.supported_formats():
        assert b.peak_flops(f) == a.peak_flops(f)


def test_evolve_returns_validated_copy():
    a = load_architecture("h100-sxm")
    b = a.evolve(tdp_w=500, memory=[a.memory[0].evolve(count=6, inactive_count=0, capacity_gb=24)])
    assert (a.tdp_w, b.tdp_w) == (700, 500)
    assert b.memory_capacity_bytes == 144e9 and a.memory_capacity_bytes == 80e9
    assert a.replace(name="x").name == "x"
    with pytest.raises(SpecError, match="cores: Input should be greater than 0"):
        a.dies[0].evolve(cores=0)
    with pytest.raises(SpecError, match="no field"):
        a.evolve(colour="red")
    with pytest.raises(SpecError, match="hosts 8 memory stacks but has memory_interfaces: 6"):
        a.evolve(memory=[a.memory[0].evolve(count=7)])   # 7 active + the inactive one
    with pytest.raises(Exception):  # frozen
        a.tdp_w = 1


def test_catalog_refs():
    from chipletarch.arch import ComputeDie
    d = ComputeDie(name="x", clock_ghz=1, cores=1, core={"macs_per_cycle": {"bf16": 1}}, process="n5")
    assert d.process == lookup_process("N5") and d.process.wafer_price_usd == 16988.0  # COST_MODEL §3b [C11]
    d2 = d.evolve(process={"name": "N5", "defect_density_per_cm2": 0.07})
    assert d2.process.defect_density_per_cm2 == 0.07 and d2.process.wafer_price_usd == 16988.0
    assert d2.model_dump(mode="json")["process"] == {"name": "N5", "defect_density_per_cm2": 0.07}
    with pytest.raises(SpecError, match="process.colour"):
        d.evolve(process={"name": "N5", "colour": 1})
    assert {"ucie-standard", "ucie-advanced", "ucie-3d", "nv-hbi", "infinity-fabric", "custom"} == set(LINK_STANDARDS)


def test_control_characters_refused():
    a = load_architecture("h100-sxm")
    with pytest.raises(SpecError, match="description: String should match pattern"):
        a.evolve(description="bad\x85text")
    assert a.evolve(description="two\nlines\tok").description == "two\nlines\tok"


def test_inactive_stacks_take_memory_sites_but_not_capacity():
    # H100 SXM: 6 HBM sites on the die, 5 stacks enabled + 1 built but not enabled
    a = load_architecture("h100-sxm")
    m = a.memory[0]
    assert (m.count, m.inactive_count, m.built_count) == (5, 1, 6)
    assert a.memory_capacity_bytes == 80e9                    # usable capacity: active stacks only
    assert sum(1 for _, d in a.to_graph().nodes(data=True) if d.get("kind") == "memory") == 5
    # a seventh stack (6 active + the inactive one) does not fit the die's 6 memory interfaces
    with pytest.raises(SpecError, match="hosts 7 memory stacks but has memory_interfaces: 6"):
        a.evolve(memory=[m.evolve(count=6)])
    with pytest.raises(SpecError, match="inactive_count"):
        a.evolve(memory=[m.evolve(inactive_count=-1)])
