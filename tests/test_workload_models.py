"""Model library: bundled YAML files, Hugging Face config.json loading, parameter counts.

Published totals are typed in here from the publishers (model cards / papers, see each YAML's
chipletarch.published.source), not read back from the code.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import chipletarch
from chipletarch.errors import SpecError
from chipletarch.workload import list_models, load_model, model_from_config

DATA = Path(__file__).parent / "data" / "models"

# name -> (total B, active B, active counts the input embedding?, decimals of the published
# active figure). The tolerance is 1 %, widened only where the publisher rounded coarser than
# that: "37 B" (DeepSeek) is given to the unit, i.e. +-0.5 B.
PUBLISHED = {
    "llama3.1-8b": (8.03, 8.03, True),
    "llama3.1-70b": (70.6, 70.6, True),
    "llama3.1-405b": (405.9, 405.9, True),
    "mixtral-8x7b": (46.7, 12.9, True),
    "deepseek-v3": (671.0, 37.0, False),
    "deepseek-r1": (671.0, 37.0, False),
    "qwen3-32b": (32.8, 32.8, True),
    "qwen3-235b-a22b": (235.0, 22.0, True),
    "gpt-oss-120b": (116.8, 5.1, False),
    "gpt3-175b": (175.0, 175.0, True),
}


def _tol(published_b: float) -> float:
    """1 % or half a unit of the last published digit, whichever is larger (in B)."""
    s = repr(published_b)
    decimals = len(s.split(".")[1]) if "." in s and not s.endswith(".0") else 0
    return max(0.01 * published_b, 0.5 * 10 ** -decimals)


def test_bundle_lists_required_models():
    names = set(list_models())
    assert set(PUBLISHED) | {"tiny"} <= names
    assert chipletarch.list_models() == list_models()


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_param_counts_match_published(name):
    total, active, with_embed = PUBLISHED[name]
    m = load_model(name)
    assert m.param_count() / 1e9 == pytest.approx(total, rel=0.01)
    got = m.active_param_count() / 1e9
    assert abs(got - active) <= _tol(active), (name, got, active)
    # the model file records the publisher's convention
    assert m.active_param_count(include_embedding=with_embed) == m.active_param_count()


def test_deepseek_active_convention_is_documented_not_tuned():
    # 36.63 B without the embedding table, 37.55 B with it; "37 B" rounds the former.
    m = load_model("deepseek-v3")
    assert m.active_param_count(include_embedding=False) == 36_625_618_432
    assert m.active_param_count(include_embedding=True) == 36_625_618_432 + 129280 * 7168


def test_tiny_hand_count():
    m = load_model("tiny")
    per_layer = (64 * 64 + 2 * 64 * 32 + 64 * 64) + 3 * 64 * 128 + 2 * 64
    assert m.param_count() == 2 * 256 * 64 + 2 * per_layer + 64 == 106816


def test_llama8b_breakdown_by_hand():
    b = load_model("llama3.1-8b").param_breakdown()
    assert b["embed"] == b["lm_head"] == 128256 * 4096
    assert b["attn"] == 32 * (4096 * 4096 * 2 + 2 * 4096 * 1024)
    assert b["mlp"] == 32 * 3 * 4096 * 14336
    assert b["norms"] == (2 * 32 + 1) * 4096


def test_deepseek_structure():
    c = load_model("deepseek-v3").config
    assert c.mla and c.kv_lora_rank == 512 and c.q_lora_rank == 1536
    assert c.layer_moe[:3] == (False, False, False) and all(c.layer_moe[3:])
    assert c.num_experts == 256 and c.experts_per_tok == 8
    assert c.shared_intermediate_size == 2048
    assert c.native_formats["experts"] == "fp8_block" and c.native_formats["lm_head"] == "bf16"
    r1 = load_model("deepseek-r1")
    assert r1.param_count() == load_model("deepseek-v3").param_count()


def test_gpt_oss_structure():
    c = load_model("gpt-oss-120b").config
    assert c.attention_sinks
    assert c.layer_window == (128, 0) * 18
    assert c.native_formats["experts"] == "mxfp4_e2m1" and c.native_formats["attn"] == "bf16"
    assert c.experts_per_tok == 4 and c.num_experts == 128


def test_qwen3_qk_norm_and_gpt3_learned_positions():
    assert load_model("qwen3-32b").config.qk_norm
    assert not load_model("llama3.1-8b").config.qk_norm
    g = load_model("gpt3-175b")
    assert g.config.positions == "learned" and g.config.max_position_embeddings == 2048
    assert g.config.tie_word_embeddings and not g.config.gated_mlp
    assert g.param_breakdown()["positions"] == 2048 * 12288
    assert g.param_breakdown()["lm_head"] == 0


@pytest.mark.parametrize("path", sorted(DATA.glob("*_config.json")), ids=lambda p: p.stem)
def test_hf_config_json_loads_as_is(path):
    m = load_model(path)
    assert m.param_count() > 1e9
    assert m.name == path.stem[: -len("_config")]


def test_hf_json_equals_bundled_yaml():
    a = load_model(DATA / "meta-llama--Meta-Llama-3.1-70B_config.json")
    b = load_model("llama3.1-70b")
    assert a.param_count() == b.param_count()
    q = load_model(DATA / "Qwen--Qwen3-8B_config.json")
    assert q.param_count() / 1e9 == pytest.approx(8.2, rel=0.01)   # published 8.2 B


def test_multimodal_text_config_is_used():
    k = load_model(DATA / "moonshotai--Kimi-K2.5_config.json")
    assert k.config.num_experts == 384 and k.config.mla
    assert k.param_count() / 1e12 == pytest.approx(1.0, rel=0.05)   # "about 1 T"


def _cfg(**over):
    base = json.loads((DATA / "meta-llama--Meta-Llama-3.1-8B_config.json").read_text())
    base.update(over)
    return base


@pytest.mark.parametrize("over, field", [
    ({"hidden_size": "big"}, "hidden_size"),
    ({"hidden_size": -4}, "hidden_size"),
    ({"num_key_value_heads": 7}, "num_key_value_heads"),
    ({"hidden_act": "tanhshrink"}, "hidden_act"),
    ({"layer_types": ["full_attention"]}, "layer_types"),
    ({"tie_word_embeddings": "yes"}, "tie_word_embeddings"),
    ({"torch_dtype": "float64"}, "torch_dtype"),
])
def test_bad_config_names_field(tmp_path, over, field):
    p = tmp_path / "config.json"
    p.write_text(json.dumps(_cfg(**over)))
    with pytest.raises(SpecError) as e:
        load_model(p)
    assert field in str(e.value) and str(p) in str(e.value)


def test_error_gives_line_of_field(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("model_type: llama\nhidden_size: 64\nnum_hidden_layers: two\n"
                 "num_attention_heads: 4\nvocab_size: 100\nintermediate_size: 128\n")
    with pytest.raises(SpecError, match=r"m.yaml:3: field 'num_hidden_layers': expected an "
                                        r"integer, got 'two'"):
        load_model(p)
    j = tmp_path / "config.json"
    cfg = _cfg(num_key_value_heads=5)
    j.write_text(json.dumps(cfg, indent=2))
    line = 1 + next(i for i, ln in enumerate(j.read_text().splitlines())
                    if '"num_key_value_heads"' in ln)
    with pytest.raises(SpecError, match=rf"config.json:{line}: field 'num_key_value_heads'"):
        load_model(j)


def test_missing_field_and_bad_syntax(tmp_path):
    cfg = _cfg()
    del cfg["num_hidden_layers"]
    p = tmp_path / "m.yaml"
    import yaml
    p.write_text(yaml.safe_dump(cfg))
    with pytest.raises(SpecError, match="num_hidden_layers.*required"):
        load_model(p)
    bad = tmp_path / "bad.json"
    bad.write_text('{"hidden_size": 4096,,}')
    with pytest.raises(SpecError, match=r"bad.json:1:\d+: invalid JSON"):
        load_model(bad)


def test_unknown_model_suggests():
    with pytest.raises(SpecError, match="did you mean 'llama3.1-8b'"):
        load_model("llama3.1-8")


def test_model_from_dict_and_moe_topk_check():
    with pytest.raises(SpecError, match="num_experts_per_tok"):
        model_from_config(_cfg(num_local_experts=4, num_experts_per_tok=8))
