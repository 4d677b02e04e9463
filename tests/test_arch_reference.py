"""Reference designs reproduce their published figures (HARDWARE.md §1, §2), and the CLI works on them."""
import pytest

from chipletarch.arch import list_architectures, load_architecture
from chipletarch.cli import main


def rel(a, b):
    return abs(a - b) / b


@pytest.mark.parametrize("name,bf16_tf,fp8_tf,cap_gb,bw_tb_s", [
    ("h100-sxm", 989.4, 1978.9, 80.0, 3.35),    # HARDWARE.md §1 (S4, S5)
    ("h200-sxm", 989.4, 1978.9, 141.0, 4.8),    # HARDWARE.md §2 (S10, S11)
])
def test_published_figures(name, bf16_tf, fp8_tf, cap_gb, bw_tb_s):
    a = load_architecture(name)
    assert rel(a.peak_flops("bf16"), bf16_tf * 1e12) < 0.005
    assert rel(a.peak_flops("fp16"), bf16_tf * 1e12) < 0.005
    assert rel(a.peak_flops("fp8"), fp8_tf * 1e12) < 0.005       # alias fp8 -> fp8_e4m3
    assert rel(a.peak_flops("int8"), fp8_tf * 1e12) < 0.005      # INT8 1978.9 TOPS dense
    assert rel(a.peak_flops("tf32"), 494.7e12) < 0.005
    assert rel(a.memory_capacity_bytes, cap_gb * 1e9) < 0.005
    assert rel(a.memory_bandwidth_bytes_per_s, bw_tb_s * 1e12) < 0.005
    assert a.tdp_w == 700
    assert a.scale_up.bandwidth_gb_s * 2 == 900                 # NVLink 4, 900 GB/s bidir
    (inst, die), = a.compute_die_instances()
    assert inst == "gh100" and die.cores == 132 and die.area_mm2 == 814


def test_h100_per_sm_rates_closed_form():
    # 2 x 132 SM x 2048 MAC x 1.83 GHz, by hand: 989,429,760,000,000 FLOP/s
    a = load_architecture("h100-sxm")
    assert a.peak_flops("bf16") == pytest.approx(2 * 132 * 2048 * 1.83e9, rel=1e-12)
    assert a.peak_flops("bf16") == pytest.approx(989.42976e12, rel=1e-12)


def test_unsupported_format_is_an_error():
    from chipletarch.errors import InfeasibleError
    a = load_architecture("h100-sxm")
    with pytest.raises(InfeasibleError, match="mxfp4_e2m1.*supported: tf32"):
        a.peak_flops("mxfp4")      # HARDWARE.md §1: FP4/MX not supported on H100


def test_bundled_list_and_round_trip():
    names = list_architectures()
    assert {"h100-sxm", "h200-sxm"} <= set(names)
    for n in names:
        a = load_architecture(n)
        from chipletarch.arch import architecture_from_yaml
        assert architecture_from_yaml(a.to_yaml()) == a


def test_cli_show_list_schema(capsys):
    assert main(["show", "h100-sxm"]) == 0
    out = capsys.readouterr().out
    assert "989.4" in out and "1,978.9" in out and "80.0 GB, 3.35 TB/s" in out
    assert main(["list"]) == 0
    assert "h200-sxm" in capsys.readouterr().out
    assert main(["schema"]) == 0
    import json
    schema = json.loads(capsys.readouterr().out)
    assert "dies" in schema["properties"] and schema["additionalProperties"] is False


def test_json_schema_accepts_bundled_designs_and_rejects_typos():
    # `chipletarch schema` is for editors: bundled files must satisfy it, typos must not
    jsonschema = pytest.importorskip("jsonschema")
    import yaml
    from chipletarch._paths import architectures_dir
    from chipletarch.arch import Architecture
    schema = Architecture.model_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted(architectures_dir().glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    data = yaml.safe_load((architectures_dir() / "h100-sxm.yaml").read_text())
    data["dies"][0]["area_mm"] = data["dies"][0].pop("area_mm2")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_cli_show_json(capsys):
    import json
    assert main(["show", "h200-sxm", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["peak_flops"]["bf16"] == pytest.approx(2 * 132 * 2048 * 1.83e9)
    assert data["memory_capacity_bytes"] == pytest.approx(141e9)
    assert data["memory_bandwidth_bytes_per_s"] == pytest.approx(4.8e12)
    assert [m["die"] for m in data["memory"]] == ["gh100"] * 6
    assert data["ports"]["scale_up"]["bandwidth_bytes_per_s"] == 450e9
    # 132 SM x 128 FP32 lanes x 2 x 1.83 GHz = 61.8 TFLOPS (published 66.9 at the 1.98 GHz boost)
    assert data["peak_vector_flops"] == pytest.approx(132 * 256 * 1.83e9)
