"""The report config: what it accepts, and errors that name the key and its line."""
import textwrap

import pytest

from chipletarch.errors import SpecError
from chipletarch.report import config_from_dict, load_report_config
from chipletarch.report.evaluate import precision_accuracy, risk_band


def _write(tmp_path, text):
    p = tmp_path / "r.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_example_config_loads():
    from pathlib import Path
    cfg = load_report_config(Path(__file__).resolve().parents[1] / "examples" / "report.yaml")
    assert cfg.designs == ("h100-sxm", "b200", "ucie4-hbm4")
    assert [w.label for w in cfg.workloads] == ["70b-fp8", "8b-mxfp4"]
    w = cfg.workloads[1]
    assert (w.precision, w.batch, w.mapping) == ("mxfp4", 32, {"tp": 1})
    assert w.decode_context == 1024 + 512 // 2
    assert cfg.serving.workload == "8b-mxfp4" and cfg.serving.traffic == "chat"
    assert cfg.economics == {"utilisation": 0.6}


def test_unknown_key_names_line_and_suggestion(tmp_path):
    p = _write(tmp_path, """\
        designs: [h100-sxm]
        workloads:
          - model: llama3.1-8b
            batchsize: 4
        """)
    with pytest.raises(SpecError) as exc:
        load_report_config(p)
    msg = str(exc.value)
    assert f"{p}:4:" in msg and "workloads[0].batchsize" in msg and "did you mean 'batch'" in msg


@pytest.mark.parametrize("d, needle", [
    ({"designs": ["h100-sxm"]}, "designs and workloads go together"),
    ({"designs": ["h100-sxm"], "workloads": [{"precision": "fp8"}]}, "needs 'model'"),
    ({"designs": ["a"], "workloads": [{"model": "m", "batch": 0}]}, "positive integer"),
    ({"designs": ["a"], "workloads": [{"model": "m", "mapping": {"tq": 2}}]}, "allowed: tp, pp"),
    ({"designs": ["a"], "workloads": [{"model": "m"}], "economics": {"pue_x": 1}},
     "did you mean 'pue'"),
    ({"designs": ["a"], "workloads": [{"model": "m"}], "roofline": ["decoding"]},
     "prefill or decode"),
    ({"designs": ["a"], "workloads": [{"model": "m", "name": "x"}],
      "serving": {"workload": "y", "traffic": "chat"}}, "no workload labelled 'y'"),
    ({"designs": ["a"], "workloads": [{"model": "m"}], "serving": {"isl": 100}},
     "both 'isl' and 'osl'"),
    ({"designs": ["a"], "workloads": [{"model": "m"}, {"model": "m"}]}, "distinct 'name'"),
    ({}, "needs 'designs' and 'workloads'"),
])
def test_invalid_configs(d, needle):
    with pytest.raises(SpecError, match=None) as exc:
        config_from_dict(d)
    assert needle in str(exc.value)


def test_sqlite_store_is_a_sweep_only_config(tmp_path):
    import sqlite3
    p = tmp_path / "s.sqlite"
    sqlite3.connect(p).execute("CREATE TABLE t (x)").connection.commit()
    cfg = load_report_config(p)
    assert cfg.sweep.store == str(p) and not cfg.designs and not cfg.workloads


def test_accuracy_rows_follow_the_precision_preset():
    rows = {r["role"]: r for r in precision_accuracy("w4a16")}
    assert rows["weights"]["format"] == "mxfp4_e2m1" and rows["activations"]["format"] == "bf16"
    # bf16 keeps ~8 bits of mantissa (~55 dB); MXFP4 loses most of a block next to an outlier
    assert rows["activations"]["gaussian_db"] > 50 and rows["activations"]["band"] == "low"
    assert rows["weights"]["worst_db"] < 10 and rows["weights"]["band"] == "high"
    assert rows["weights"]["worst_sample"].endswith("+outlier")
    assert risk_band(30) == "low" and risk_band(20) == "moderate" and risk_band(3) == "high"


def test_yaml_1_1_exponent_strings_are_numbers(tmp_path):
    # PyYAML reads 1.0e6 (no sign after e) as a string; the config takes it as the number meant
    p = _write(tmp_path, """\
        designs: [h100-sxm]
        workloads: [{model: llama3.1-8b}]
        volume: 1.0e6
        economics: {utilisation: 0.5, energy_usd_per_kwh: 1.2e-1}
        """)
    cfg = load_report_config(p)
    assert cfg.volume == 1e6 and cfg.economics == {"utilisation": 0.5, "energy_usd_per_kwh": 0.12}
    with pytest.raises(SpecError, match=r"economics\.pue: expected a number, got 'high'"):
        config_from_dict({"designs": ["a"], "workloads": [{"model": "m"}],
                          "economics": {"pue": "high"}})
