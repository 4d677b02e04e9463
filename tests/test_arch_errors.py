"""Bad input: every kind of mistake is reported with file, line, field path and what was expected."""
import textwrap

import pytest

from chipletarch.arch import ComputeDie, Core, load_architecture
from chipletarch.cli import main
from chipletarch.errors import SpecError

# Line numbers below refer to this text (line 1 = "name: t").
BASE = textwrap.dedent("""\
    name: t
    technology: silicon-interposer
    interposer_area_mm2: 1500
    dies:
      - name: c
        count: 2
        process: N5
        area_mm2: 400
        clock_ghz: 1.5
        cores: 64
        memory_interfaces: 2
        core:
          macs_per_cycle: {bf16: 1024}
    memory:
      - name: hbm
        count: 4
        generation: hbm3e
        capacity_gb: 24
        bandwidth_gb_s: 800
        attach: c
    links:
      - kind: ucie-advanced
        endpoints: [c0, c1]
        bandwidth_gb_s: 1024
    """)


def load_text(tmp_path, text, name="arch.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return load_architecture(p), p


def error_of(tmp_path, text, name="arch.yaml"):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(SpecError) as exc:
        load_architecture(p)
    return str(exc.value), str(p)


def test_base_is_valid(tmp_path):
    a, _ = load_text(tmp_path, BASE)
    assert [i for i, _ in a.compute_die_instances()] == ["c0", "c1"]
    assert a.memory_capacity_bytes == 4 * 24e9
    assert a.all_links()[0].energy_pj_per_bit == 0.3        # catalog: UCIe-A >16 GT/s (ENERGY.md §4a)


def test_unknown_key_with_suggestion(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("area_mm2: 400", "area_mm: 400"))
    assert f"{f}:8: dies[0].area_mm: unknown key 'area_mm' — did you mean 'area_mm2'?" in msg


def test_unknown_top_level_key(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("interposer_area_mm2: 1500", "interposer_area: 1500"))
    assert f"{f}:3: interposer_area: unknown key 'interposer_area' — did you mean 'interposer_area_mm2'?" in msg


def test_unknown_key_in_nested_core(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("macs_per_cycle:", "macs_per_cycl:"))
    assert f"{f}:13: dies[0].core.macs_per_cycl: unknown key 'macs_per_cycl' — did you mean 'macs_per_cycle'?" in msg


def test_string_with_unit_rejected(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("bandwidth_gb_s: 800", 'bandwidth_gb_s: "3.35 TB/s"'))
    assert f"{f}:19: memory[0].bandwidth_gb_s: expected a plain number in decimal GB/s" in msg
    assert "'3.35 TB/s'" in msg


@pytest.mark.parametrize("old,new,line,path", [
    ("bandwidth_gb_s: 800", "bandwidth_gb_s: 0", 19, "memory[0].bandwidth_gb_s"),
    ("area_mm2: 400", "area_mm2: -5", 8, "dies[0].area_mm2"),
    ("clock_ghz: 1.5", "clock_ghz: 0", 9, "dies[0].clock_ghz"),
    ("bandwidth_gb_s: 1024", "bandwidth_gb_s: -1", 24, "links[0].bandwidth_gb_s"),
])
def test_non_positive(tmp_path, old, new, line, path):
    msg, f = error_of(tmp_path, BASE.replace(old, new))
    assert f"{f}:{line}: {path}: Input should be greater than 0" in msg


def test_missing_required_key(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("    cores: 64\n", ""))
    assert f"{f}:5: dies[0].cores: required key 'cores' is missing" in msg


def test_link_to_unknown_die(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("endpoints: [c0, c1]", "endpoints: [c0, c7]"))
    assert f"{f}:23: links[0].endpoints[1]: unknown die 'c7'" in msg


def test_memory_on_die_without_interface(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("memory_interfaces: 2", "memory_interfaces: 0"))
    assert f"{f}:20: memory[0].attach: die 'c0' has no memory interface" in msg


def test_too_many_stacks_for_interfaces(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("memory_interfaces: 2", "memory_interfaces: 1"))
    assert "die 'c0' hosts 2 memory stacks but has memory_interfaces: 1" in msg and f"{f}:14: memory:" in msg


def test_die_over_reticle(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("area_mm2: 400", "area_mm2: 900"))
    assert f"{f}:8: dies[0].area_mm2: 900 mm^2 exceeds the reticle limit" in msg and "858" in msg


def test_wafer_scale_allows_big_die(tmp_path):
    text = (BASE.replace("technology: silicon-interposer", "technology: wafer-scale")
            .replace("interposer_area_mm2: 1500\n", "").replace("area_mm2: 400", "area_mm2: 20000"))
    a, _ = load_text(tmp_path, text)
    assert a.dies[0].area_mm2 == 20000


def test_interposer_over_limit(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("interposer_area_mm2: 1500", "interposer_area_mm2: 3000"))
    assert f"{f}:3: interposer_area_mm2: 3000 mm^2 exceeds the silicon-interposer interposer limit of 2700" in msg


def test_interposer_smaller_than_dies(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("interposer_area_mm2: 1500", "interposer_area_mm2: 700"))
    assert f"{f}:3: interposer_area_mm2: 700 mm^2 is smaller than the dies on it (800 mm^2" in msg
    # a 3D-stacked die adds no footprint: 2 x 400 stacked -> 0 mm^2 on the interposer
    a, _ = load_text(tmp_path, BASE.replace("interposer_area_mm2: 1500", "interposer_area_mm2: 700")
                     .replace("    count: 2\n    process", "    count: 2\n    stacked: true\n    process"))
    assert a.footprint_die_area_mm2 == 0 and a.total_die_area_mm2 == 800


def test_interposer_limit_override(tmp_path):
    text = BASE.replace("technology: silicon-interposer",
                        "technology: {name: silicon-interposer, max_interposer_area_mm2: 3500}")
    text = text.replace("interposer_area_mm2: 1500", "interposer_area_mm2: 3000")
    a, _ = load_text(tmp_path, text)
    assert a.technology.max_interposer_area_mm2 == 3500
    assert "max_interposer_area_mm2: 3500" in a.to_yaml()


def test_disconnected(tmp_path):
    text = BASE.split("links:")[0]
    msg, f = error_of(tmp_path, text)
    assert "package is disconnected: c1 not reachable from c0" in msg


def test_unknown_catalog_names(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("process: N5", "process: N55"))
    assert f"{f}:7: dies[0].process: unknown process node 'N55' — did you mean" in msg
    msg, f = error_of(tmp_path, BASE.replace("kind: ucie-advanced", "kind: ucie-advance"))
    assert f"{f}:22: links[0]: unknown link kind 'ucie-advance' — did you mean 'ucie-advanced'?" in msg
    msg, f = error_of(tmp_path, BASE.replace("generation: hbm3e", "generation: hbm5"))
    assert f"{f}:17: memory[0].generation: unknown memory generation 'hbm5'" in msg


def test_unpublished_link_energy_must_be_given(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("kind: ucie-advanced", "kind: nv-hbi"))
    assert f"{f}:22: links[0]: link kind 'nv-hbi' has no catalog latency_ns" in msg


def test_unknown_die_kind(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("  - name: c\n", "  - name: c\n    kind: gpu\n"))
    assert f"{f}:6: dies[0].kind: die kind must be one of compute, io, sram, memory-controller (got 'gpu')" in msg


def test_unknown_format(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("{bf16: 1024}", "{bf61: 1024}"))
    assert f"{f}:13: dies[0].core.macs_per_cycle: unknown format 'bf61'" in msg


def test_yaml_syntax_and_duplicates(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("cores: 64", "cores: [64"))
    assert msg.startswith(f"{f}:") and "YAML syntax error" in msg
    msg, f = error_of(tmp_path, BASE.replace("cores: 64", "cores: 64\n    cores: 32"))
    assert f"{f}:11: dies[0].cores: duplicate key 'cores'" in msg
    msg, f = error_of(tmp_path, "- just\n- a list\n")
    assert "expected a mapping at the top level" in msg


def test_all_errors_reported_together(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("area_mm2: 400", "area_mm: 400").replace("clock_ghz: 1.5", "clock_ghz: 0"))
    assert f"{f}:8:" in msg and f"{f}:9:" in msg


def test_monolithic_one_die(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("technology: silicon-interposer", "technology: monolithic")
                      .replace("interposer_area_mm2: 1500\n", ""))
    assert f"{f}:2: technology: a monolithic package has exactly one die instance, found 2" in msg


def test_python_api_errors_name_the_field():
    with pytest.raises(SpecError, match=r"core\.macs_per_cycle\.bf16: Input should be greater than 0"):
        ComputeDie(name="x", clock_ghz=1, cores=1, core={"macs_per_cycle": {"bf16": 0}})
    with pytest.raises(SpecError, match="sram_kib: expected a plain number in KiB"):
        Core(sram_kib="256 KB")


def test_cli_validate_exit_codes(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(BASE)
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE.replace("area_mm2: 400", "area_mm: 400"))
    assert main(["validate", str(good)]) == 0
    assert "ok (t: 2 die instances, 4 memory stacks, 1 link)" in capsys.readouterr().out
    assert main(["validate", str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:8: dies[0].area_mm: unknown key 'area_mm' — did you mean 'area_mm2'?" in err
    assert "1 of 2 file(s) invalid" in err
    assert main(["show", str(bad)]) == 1
    assert main(["show", "h100-sx"]) == 1
    assert "did you mean 'h100-sxm'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["validate"])
    assert e.value.code == 2


def test_ranged_names(tmp_path):
    text = BASE.replace("  - name: c\n    count: 2\n", "  - name: c[0..1]\n")
    a, _ = load_text(tmp_path, text)
    assert (a.dies[0].name, a.dies[0].count) == ("c", 2)
    msg, f = error_of(tmp_path, BASE.replace("  - name: c\n    count: 2\n", "  - name: c[1..2]\n"))
    assert f"{f}:5: dies[0]: a ranged name must be base[0..n-1] with n >= 2, got 'c[1..2]'" in msg
    msg, f = error_of(tmp_path, BASE.replace("  - name: c\n", "  - name: c[0..2]\n"))
    assert f"{f}:5: dies[0]: name 'c[0..2]' gives 3 instances but count is 2" in msg


def test_mesh_shape_error(tmp_path):
    text = BASE.split("links:")[0] + "topology:\n  - {kind: mesh, rows: 3, dies: c, link: {kind: ucie-standard, bandwidth_gb_s: 64}}\n"
    msg, f = error_of(tmp_path, text)
    assert f"{f}:22: topology[0]: a mesh needs 'rows' dividing the 2 dies" in msg


def test_yaml11_scientific_notation_is_a_number(tmp_path):
    # PyYAML reads `1e2` (no dot) as a string; it is a plain number, not a unit, so it is accepted
    a, _ = load_text(tmp_path, BASE.replace("capacity_gb: 24", "capacity_gb: 1e2").replace("cores: 64", "cores: 6.4e1"))
    assert a.memory[0].capacity_gb == 100.0 and a.dies[0].cores == 64
    msg, f = error_of(tmp_path, BASE.replace("capacity_gb: 24", "capacity_gb: 24GB"))
    assert f"{f}:18: memory[0].capacity_gb: expected a plain number in decimal GB" in msg
    msg, f = error_of(tmp_path, BASE.replace("capacity_gb: 24", "capacity_gb: true"))
    assert f"{f}:18: memory[0].capacity_gb: expected a plain number" in msg


def test_typo_inside_catalog_override(tmp_path):
    msg, f = error_of(tmp_path, BASE.replace("technology: silicon-interposer",
                                             "technology: {name: silicon-interposer, max_interposer_area: 3000}"))
    assert f"{f}:2: technology.max_interposer_area: unknown key 'max_interposer_area' — did you mean " \
           "'max_interposer_area_mm2'?" in msg
