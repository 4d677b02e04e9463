"""docs/YAML_REFERENCE.md stays true: its generated tables match the schema, its example is valid."""
import re
from pathlib import Path

import pytest

from chipletarch.arch import architecture_from_yaml
from chipletarch.arch.reference_doc import BEGIN, END, render

DOC = Path(__file__).resolve().parents[1] / "docs" / "YAML_REFERENCE.md"


@pytest.mark.skipif(not DOC.is_file(), reason="docs/ not shipped with this checkout")
def test_generated_tables_up_to_date():
    text = DOC.read_text(encoding="utf-8")
    block = BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END
    assert block == render(), "run: python -m chipletarch.arch.reference_doc"


@pytest.mark.skipif(not DOC.is_file(), reason="docs/ not shipped with this checkout")
def test_example_is_valid():
    example = re.search(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    a = architecture_from_yaml(example, "YAML_REFERENCE.md example")
    assert [i for i, _ in a.compute_die_instances()] == ["xcd0", "xcd1", "xcd2", "xcd3"]
    # 4 dies x 38 cores x 2048 FP8 MACs x 2.1 GHz x 2
    assert a.peak_flops("fp8_e4m3") == pytest.approx(4 * 38 * 2048 * 2.1e9 * 2)
    g = a.to_graph()
    assert g.nodes["hbm4"]["die"] == "iod1" and g.nodes["hbm3"]["die"] == "iod0"


@pytest.mark.skipif(not DOC.is_file(), reason="docs/ not shipped with this checkout")
def test_python_example_runs(tmp_path, monkeypatch):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(compile(code, "YAML_REFERENCE.md", "exec"), ns)
    # 4 chiplets x 32 cores x 8192 MXFP4 MACs x 2 GHz x 2
    assert ns["pkg"].peak_flops("mxfp4") == pytest.approx(4 * 32 * 8192 * 2e9 * 2)
    assert ns["bigger"].peak_flops("bf16") == pytest.approx(4 * 40 * 2048 * 2e9 * 2)
    assert ns["half"] == 2 * 1024e9
    assert len(ns["edges"]) == 3 and ns["bw"] == 1024e9          # 2 links + the stack edge
    assert ns["pj_per_bit"] == pytest.approx(2 * 0.3 + 3.5)     # UCIe-A x2 + HBM4 default
    assert architecture_from_yaml((tmp_path / "quad.yaml").read_text()) == ns["pkg"]
