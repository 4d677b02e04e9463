"""Energy validation tables for docs/VALIDATION.md "## Energy" (regenerate, do not hand-edit).

    python -m chipletarch.energy.validation            # print the section
    python -m chipletarch.energy.validation --write    # replace it in docs/VALIDATION.md

The reference sheets hold no per-token energy measurement, so most checks are bounds and the one
chip-level datapoint ENERGY.md holds; the few published GPU power measurements found outside the
sheets (5., under-specified) are compared as they stand:

1. pJ/FLOP at full GEMM load (8192^3 on the engine) against ENERGY.md §1's datasheet-derived
   upper bounds TDP / dense peak;
2. power with every matrix engine busy at peak (MACs + static) against TDP, per bundled design;
3. J/token of Llama-3.1-70B decode on h100-sxm at the measured deployments of
   shared/reference/silicon/e2e_silicon_calibration.csv, against the TDP bound
   (packages x TDP x TPOT / tokens) with the model's and with the measured TPOT;
4. Simba's measured 0.11 pJ/op (INT8, PE incl. local buffers) and 6.1 TOPS/W (ENERGY.md §1 [E5]);
5. published H100 serving power and J/token (ML.ENERGY, docs/ENERGY_MODEL.md "Sources beyond the
   reference sheets" [M1][M2]) against the model on the closest configuration it can state.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

from ..arch import list_architectures, load_architecture
from .model import coefficients_of, energy_of, full_load_power, gemm_energy

BEGIN, END = "<!-- BEGIN ENERGY GENERATED -->", "<!-- END ENERGY GENERATED -->"
_ROOT = Path(__file__).resolve().parents[2]
DOC = _ROOT / "docs" / "VALIDATION.md"

# ENERGY.md §1 "Datasheet-derived upper bounds" (E): chip, format as listed, our arch and format,
# the sheet's pJ per FLOP (TDP / dense peak).
DATASHEET_BOUNDS = [
    ("H100 SXM", "FP8", "h100-sxm", "fp8_e4m3", 0.35),
    ("H100 SXM", "BF16", "h100-sxm", "bf16", 0.71),
    ("B200 (HGX)", "FP8", "b200", "fp8_e4m3", 0.22),
    ("B200 (HGX)", "FP4", "b200", "nvfp4", 0.11),
    ("MI300X", "FP8", "mi300x", "fp8_e4m3", 0.29),
    ("MI355X", "MXFP4", "mi355x", "mxfp4_e2m1", 0.14),
    ("Gaudi 3", "BF16/FP8", "gaudi3", "bf16", 0.49),
    ("Gaudi 3", "BF16/FP8", "gaudi3", "fp8_e4m3", 0.49),
]
SENSITIVITY_ACCUMULATE = 32     # dot-product tree length of the sensitivity column
SENSITIVITY_STATIC = 0.45       # ENERGY.md §5: TPU v3 whole-board idle floor ~0.45 of max [E15]
GEMM = 8192


def _sensitive(arch, **energy):
    return arch.evolve(energy={**arch.energy.model_dump(exclude_defaults=True), **energy})


def gemm_table() -> list[dict]:
    rows = []
    for chip, label, name, fmt, bound in DATASHEET_BOUNDS:
        a = load_architecture(name)
        g = gemm_energy(a, GEMM, GEMM, GEMM, fmt)
        s = gemm_energy(_sensitive(a, accumulate_every=SENSITIVITY_ACCUMULATE), GEMM, GEMM, GEMM, fmt)
        rows.append(dict(chip=chip, label=label, arch=name, format=fmt, sheet_bound=bound,
                         our_bound=a.tdp_w / a.peak_flops(fmt) * 1e12, tflops=g["tflops"],
                         mac=g["pj_per_flop_mac"], dynamic=g["pj_per_flop_dynamic"], total=g["pj_per_flop"],
                         ratio=g["pj_per_flop"] / bound, power_w=g["power_w"], tdp_w=a.tdp_w,
                         total_acc=s["pj_per_flop"]))
    return rows


def full_load_table() -> list[dict]:
    rows = []
    for name in list_architectures():
        name = getattr(name, "name", name)
        a = load_architecture(name)
        try:
            coefficients_of(a)
        except Exception as exc:  # no process node: say so in the table rather than invent one
            rows.append(dict(arch=name, skipped=str(exc).split(";")[0]))
            continue
        f = full_load_power(a)
        s = full_load_power(_sensitive(a, accumulate_every=SENSITIVITY_ACCUMULATE), f["format"])
        rows.append(dict(arch=name, format=f["format"], peak_tflops=f["peak_flops"] / 1e12, mac_w=f["mac_w"],
                         static_w=f["static_w"], total_w=f["total_w"], tdp_w=f["tdp_w"],
                         ratio=f["ratio_to_tdp"], ratio_acc=s["ratio_to_tdp"], mac_acc_w=s["mac_w"]))
    return rows


def _silicon_csv() -> Path | None:
    for p in (_ROOT / "tests" / "data" / "silicon" / "e2e_silicon_calibration.csv",
              _ROOT.parent / "shared" / "reference" / "silicon" / "e2e_silicon_calibration.csv"):
        if p.is_file():
            return p
    return None


def decode_table() -> list[dict]:
    """Llama-3.1-70B FP8 decode on h100-sxm at the measured e2e deployments (aggregated serving)."""
    from ..engine import simulate
    path = _silicon_csv()
    if path is None:
        return []
    a = load_architecture("h100-sxm")
    hot = _sensitive(a, static_fraction=SENSITIVITY_STATIC)
    rows = []
    with open(path, newline="") as fh:
        for r in csv.DictReader(fh):
            if r["model_path"] != "meta-llama/Llama-3.1-70B" or r["system"] != "h100_sxm" or r["mode"] != "agg":
                continue
            batch, tp = int(float(r["batch_size"])), int(float(r["tp_size"]))
            isl, osl = int(r["isl"]), int(r["osl"])
            ctx = isl + osl // 2          # mean context over the generated sequence
            res = simulate(a, "llama3.1-70b", "decode", batch=batch, context_len=ctx, precision="fp8", tp=tp)
            e = energy_of(res, a)
            e45 = energy_of(res, hot)
            tpot_meas = float(r["silicon_tpot_ms"]) * 1e-3
            bound_model = e.packages * a.tdp_w * res.latency_s / res.tokens_per_step
            bound_meas = e.packages * a.tdp_w * tpot_meas / res.tokens_per_step
            rows.append(dict(batch=batch, tp=tp, isl=isl, osl=osl, context=ctx, tpot_meas_ms=tpot_meas * 1e3,
                             tpot_model_ms=res.latency_s * 1e3, j_per_token=e.j_per_token,
                             bound_model=bound_model, bound_meas=bound_meas,
                             ratio=e.j_per_token / bound_model, power_w=e.average_power_w,
                             static_share=e.static_j / e.total_j, j_per_token_static45=e45.j_per_token,
                             j_meas_time=(e.dynamic_j + e.static_j * tpot_meas / res.latency_s)
                             / res.tokens_per_step))
    rows.sort(key=lambda d: (d["tp"], d["batch"], d["isl"], d["osl"]))
    return rows


# Published H100 measurements outside the reference sheets (docs/ENERGY_MODEL.md [M1][M2]): what was
# measured, the value, its unit, the source, and the decode point the model is run at. Neither
# source publishes the whole configuration; the model side is Llama-3.1-8B in BF16 on one H100
# (the model [M2] names; [M1] names none) decoding at a 1,024-token mean context (E: a chat prompt
# plus half of the 717-token mean output of ML.ENERGY v3.0's text-conversation task [M2]).
MEASURED_CONTEXT = 1024
MEASURED = [
    ("GPU power, LLM serving at batch 1", 300.0, "W", "[M1] ML.ENERGY v3.0", 1),
    ("GPU power, LLM serving at batch 128", 600.0, "W", "[M1] ML.ENERGY v3.0", 128),
    ("Llama-3.1-8B, vLLM 0.11.1, batch 64", 0.12, "J/token", "[M2] ML.ENERGY v3.0", 64),
]


def measured_table() -> list[dict]:
    """The model's decode step (Llama-3.1-8B BF16, one h100-sxm) at each published measurement's
    batch: average package power for the W rows, J per output token for the J/token rows."""
    from .throttle import simulate_with_energy
    rows = []
    for what, value, unit, src, batch in MEASURED:
        r = simulate_with_energy("h100-sxm", "llama3.1-8b", "decode", batch=batch,
                                 context_len=MEASURED_CONTEXT, precision="bf16")
        model = r.average_power_w if unit == "W" else r.j_per_token
        rows.append(dict(what=what, measured=value, unit=unit, source=src, batch=batch,
                         model=model, ratio=model / value, step_ms=r.latency_s * 1e3,
                         static_share=r.static_j / r.total_j))
    return rows


def simba_row() -> dict:
    a = load_architecture("simba")
    co = coefficients_of(a)
    return dict(process=a.dies[0].process.name, scale=co.logic_energy_scale, mac_pj=co.mac_pj["int8"],
                pj_per_op=co.mac_pj["int8"] / 2, sram_pj_per_bit=co.sram_pj_per_bit)


def render() -> str:
    out = [BEGIN, "",
           "Generated by `python -m chipletarch.energy.validation --write` (a test checks it is current).",
           "Default coefficients throughout (docs/ENERGY_MODEL.md); sensitivity columns name what they change.",
           ""]
    out += ["### pJ/FLOP at full GEMM load vs the datasheet bound (ENERGY.md §1)", "",
            f"One {GEMM}^3 GEMM on the whole package (engine kernel time; compulsory bytes through HBM, L2 and "
            "SRAM; static power over the kernel time). The sheet's TDP / dense-peak figure is an upper bound "
            "on the real pJ/FLOP (a chip at full load draws at most TDP, usually below the peak rate); "
            "`ratio` = model total / sheet bound, and should be < 1. "
            f"`acc={SENSITIVITY_ACCUMULATE}`: total with a {SENSITIVITY_ACCUMULATE}-product adder tree per "
            "accumulate (`energy: {accumulate_every: 32}`).", "",
            "| chip | format | sheet bound | our TDP/peak | engine TFLOP/s | MAC | dynamic | total | ratio | power W / TDP | total, acc=32 |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in gemm_table():
        out.append(f"| {r['chip']} | {r['format']} | {r['sheet_bound']:.2f} | {r['our_bound']:.3f} | "
                   f"{r['tflops']:,.0f} | {r['mac']:.3f} | {r['dynamic']:.3f} | {r['total']:.3f} | "
                   f"{r['ratio']:.2f} | {r['power_w']:.0f} / {r['tdp_w']:.0f} | {r['total_acc']:.3f} |")
    out += ["", "pJ per FLOP (1 MAC = 2 FLOP). MAC = matrix datapath only; dynamic adds data movement; total adds "
            "static power (0.25 x TDP + HBM background)."]

    out += ["", "### Every matrix engine busy at peak: MAC + static power against TDP", "",
            "Per bundled design, in its power-worst native format (largest peak x pJ/MAC); no data movement. "
            "The brief's check: at full utilisation, dynamic + static must not exceed TDP wildly.", "",
            "| design | format | peak TFLOP/s | MAC W | static W | total W | TDP W | ratio | ratio, acc=32 |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in full_load_table():
        if "skipped" in r:
            out.append(f"| {r['arch']} | — | — | — | — | — | — | not computed: {r['skipped']} | — |")
            continue
        tdp = f"{r['tdp_w']:.0f}" if r["tdp_w"] else "n/p"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "no TDP"
        ratio_acc = f"{r['ratio_acc']:.2f}" if r["ratio_acc"] is not None else "no TDP"
        out.append(f"| {r['arch']} | {r['format']} | {r['peak_tflops']:,.0f} | {r['mac_w']:.0f} | "
                   f"{r['static_w']:.0f} | {r['total_w']:.0f} | {tdp} | {ratio} | {ratio_acc} |")

    rows = decode_table()
    out += ["", "### J/token: Llama-3.1-70B FP8 decode on h100-sxm", ""]
    if not rows:
        out.append("(shared/reference/silicon/e2e_silicon_calibration.csv not found: table not generated)")
    else:
        out += ["Deployments measured in shared/reference/silicon/e2e_silicon_calibration.csv (aggregated "
                "serving, TensorRT-LLM / SGLang); context = input + output/2. No public energy measurement "
                "exists for them, so the check is the TDP bound: every package at TDP for the whole step, "
                "`bound = packages x 700 W x TPOT / batch`, with the model's TPOT and with the measured one. "
                "`J, meas. time`: the model's dynamic energy plus its static power over the measured TPOT. "
                f"`f_static={SENSITIVITY_STATIC}`: J/token with ENERGY.md §5's TPU v3 whole-board idle floor instead of 0.25.", "",
                "| tp | batch | isl/osl | TPOT meas. ms | TPOT model ms | J/token | bound (model TPOT) | ratio | "
                f"bound (meas. TPOT) | J, meas. time | W/package | static share | J/token, f_static={SENSITIVITY_STATIC} |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            out.append(f"| {r['tp']} | {r['batch']} | {r['isl']}/{r['osl']} | {r['tpot_meas_ms']:.2f} | "
                       f"{r['tpot_model_ms']:.2f} | {r['j_per_token']:.3f} | {r['bound_model']:.3f} | "
                       f"{r['ratio']:.2f} | {r['bound_meas']:.3f} | {r['j_meas_time']:.3f} | {r['power_w']:.0f} | "
                       f"{r['static_share']:.0%} | {r['j_per_token_static45']:.3f} |")

    out += ["", "### Published H100 power and energy (outside the reference sheets)", "",
            "Model: Llama-3.1-8B BF16 decode on one h100-sxm at a "
            f"{MEASURED_CONTEXT}-token context, kernel time only (no prefill, no host gaps). The sources "
            "do not publish the whole configuration ([M1] names no model), so these are order-of-"
            "magnitude checks, not fits (docs/ENERGY_MODEL.md \"Sources beyond the reference sheets\").", "",
            "| measurement | source | measured | model | model / measured | model step ms | static share |",
            "|---|---|---|---|---|---|---|"]
    for r in measured_table():
        fmt = (lambda v: f"{v:.0f} W") if r["unit"] == "W" else (lambda v: f"{v:.3f} J/token")
        out.append(f"| {r['what']} | {r['source']} | {fmt(r['measured'])} | {fmt(r['model'])} | "
                   f"{r['ratio']:.2f} | {r['step_ms']:.2f} | {r['static_share']:.0%} |")

    s = simba_row()
    out += ["", "### Chip-level datapoint: Simba (ENERGY.md §1 [E5])", "",
            f"Simba's INT8 MAC on {s['process']} (logic scale {s['scale']:.3f} of 45 nm): model "
            f"{s['mac_pj']:.3f} pJ/MAC = {s['pj_per_op']:.3f} pJ/op (1 MAC = 2 ops), datapath only. Measured: "
            "0.11 pJ/op including the PE-local buffers, 6.1 TOPS/W = 0.164 pJ/op at the package. The model's "
            f"datapath is {s['pj_per_op'] / 0.11:.0%} of the measured PE figure: the rest is buffer access and "
            "control that the Horowitz composition leaves out (operand SRAM reads are counted separately by "
            f"energy_of, at {s['sram_pj_per_bit']:.3f} pJ/bit on N16).", "", END]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help=f"replace the generated block in {DOC}")
    args = ap.parse_args(argv)
    text = render()
    if not args.write:
        print(text)
        return 0
    doc = DOC.read_text(encoding="utf-8")
    if BEGIN in doc:
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        doc = head + text + tail
    else:
        raise SystemExit(f"{DOC} has no '{BEGIN}' marker: add the '## Energy' section first")
    DOC.write_text(doc, encoding="utf-8")
    print(f"{DOC}: updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
