"""Render `ReportData` as one self-contained HTML page.

Self-contained means it opens offline from a mail attachment: every image is a base64 PNG
`data:` URI, the style sheet is inline, there is no script and no external reference of any
kind (a test checks the page for `http`/`src=` outside data URIs and opens it in headless
Chromium). Text is escaped; numbers are formatted here and nowhere computed.

Honesty rules the layout follows: every refusal of a model (infeasible mapping, unsupported
format, emulated compute) is printed next to the number it affects, and the method notes say
what a figure is (a lower bound, an estimate at an assumed utilisation) before the tables.
"""
from __future__ import annotations

import base64
import datetime
import html
import math

import numpy as np

from .. import __version__
from . import figures as F
from .evaluate import RISK_BANDS, ReportData

__all__ = ["render_html"]

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#222;
 background:#fafafa;line-height:1.4}
main{max-width:1200px;margin:0 auto;padding:16px 28px 60px;background:#fff}
h1{font-size:1.7em;margin:.4em 0 .2em}h2{border-bottom:2px solid #2F5D9E;padding-bottom:3px;
 margin-top:2em}h3{margin:1.3em 0 .4em;color:#2F5D9E}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}
th{background:#eef2f8}td.l,th.l{text-align:left}
tr:nth-child(even) td{background:#f7f9fc}
img{max-width:100%;height:auto;border:1px solid #ddd;margin:4px 0}
.meta{color:#555;font-size:13px}.note{color:#7a4b00;font-size:12.5px}
.err{color:#a00;font-weight:600}.small{font-size:12px;color:#555}
.band-low{color:#1b7f3b;font-weight:600}.band-moderate{color:#b36b00;font-weight:600}
.band-high{color:#b00020;font-weight:600}
nav ol{columns:2;font-size:14px}pre{background:#f4f4f4;padding:8px;font-size:12px;overflow:auto}
.grid{display:flex;flex-wrap:wrap;gap:18px}.grid>div{flex:0 1 560px;min-width:0}
td.l{max-width:420px}
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _img(png: bytes, alt: str) -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{b64}">'


def _num(v, spec=".3g", none="–") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return none
    if isinstance(v, float) and math.isinf(v):
        return "exact" if v > 0 else "–∞"
    return format(v, spec)


class _Span:
    """A table cell spanning `n` columns (HTML already escaped)."""

    def __init__(self, n: int, html_: str):
        self.n, self.html = n, html_


def _table(headers, rows, left=1) -> str:
    h = "".join(f'<th class="l">{_e(c)}</th>' if i < left else f"<th>{_e(c)}</th>"
                for i, c in enumerate(headers))
    body = []
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            if isinstance(c, _Span):        # a refusal reads across the numeric columns
                cells.append(f'<td class="l" colspan="{c.n}">{c.html}</td>')
            else:
                cells.append(f'<td class="l">{c}</td>' if i < left else f"<td>{c}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{h}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _mapping_text(m: dict | None) -> str:
    if not m:
        return "–"
    return " ".join(f"{k}={v}" for k, v in m.items() if v != 1 or k == "tp")


class _Page:
    def __init__(self):
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self.n_images = 0

    def h2(self, anchor, title):
        self.toc.append((anchor, title))
        self.parts.append(f'<h2 id="{anchor}">{_e(title)}</h2>')

    def add(self, s):
        self.parts.append(s)

    def img(self, png, alt):
        self.n_images += 1
        self.parts.append(_img(png, alt))


def _method_notes(cfg) -> str:
    items = [
        "TTFT: prefill of <i>batch</i> sequences of <i>input_len</i> tokens on an empty KV "
        "cache. TPOT: one decode step of <i>batch</i> sequences at <i>input_len + output_len/2</i>"
        " cached tokens (mean context over the generation). One batch in flight: no overlap of "
        "pipeline stages or of communication with compute (docs/SIMULATE.md).",
        "tokens/s is the deployment's decode throughput (batch / TPOT); per chip divides by the "
        "packages the mapping uses; per user is 1 / TPOT.",
        "Bytes and utilisations are <b>compulsory traffic</b> (each tensor once per level): a lower "
        "bound on real traffic, so utilisation and memory/link energy are lower bounds too.",
        "Energy: the energy model on the engine's counts (docs/ENERGY_MODEL.md), whole deployment, "
        "static power included. $/Mtoken: <code>token_cost</code> of decode tokens/s per package at"
        " the energy model's average power; defaults assume full utilisation unless the config "
        "sets <code>economics.utilisation</code> (docs/COST.md §8). Package cost excludes NRE "
        "unless a volume is given.",
        "Accuracy risk: round-trip SQNR of each tensor format on synthetic standard samples "
        "(<code>chipletarch formats</code>). The bands (low ≥ 25 dB, moderate ≥ 15 dB, high "
        "below, on the worst sample) are a screening aid, not a prediction of model accuracy: "
        "measure the model.",
        "Accuracy figures: engine and energy errors against silicon are in docs/VALIDATION.md.",
    ]
    ec = cfg.economics
    if ec:
        items.append("Economics overrides: " + _e(", ".join(f"{k}={v}" for k, v in ec.items())))
    return "<ul class='small'>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _spec_table(d) -> str:
    a = d.arch
    rows = [["technology", _e(a.technology.name)],
            ["TDP", f"{_num(a.tdp_w, ',.0f')} W" if a.tdp_w else "not given"]]
    for die in a.dies:
        cores = getattr(die, "cores", None)
        rows.append([f"die {_e(die.name)} ×{die.count}",
                     _e(f"{die.kind}, {die.process.name if die.process else '?'}, "
                        f"{_num(die.area_mm2, ',.0f')} mm², "
                        + (f"{cores} cores @ {_num(die.clock_ghz)} GHz" if cores else "")
                        + (f", systolic {die.core.systolic.rows}×{die.core.systolic.cols}"
                           if cores and die.core.systolic else ""))])
    # formats that share a rate share a row (a Blackwell-class die lists 13 formats at 4 rates)
    rates: dict = {}
    for f in a.supported_formats():
        rates.setdefault(a.peak_flops(f), []).append(f)
    for v, fmts in sorted(rates.items()):
        rows.append([f"peak {_e(', '.join(fmts))}", f"{v / 1e12:,.0f} TFLOP/s"])
    rows.append(["memory", f"{a.memory_capacity_bytes / 1e9:,.0f} GB, "
                           f"{a.memory_bandwidth_bytes_per_s / 1e12:,.2f} TB/s"])
    links = a.all_links()
    if links:
        kinds = {}
        for l in links:
            kinds.setdefault((l.kind, l.bandwidth_gb_s), 0)
            kinds[(l.kind, l.bandwidth_gb_s)] += 1
        rows.append(["D2D links", _e("; ".join(f"{n}× {k} {bw:,.0f} GB/s/dir"
                                               for (k, bw), n in kinds.items()))])
    for k in ("scale_up", "scale_out"):
        p = getattr(a, k)
        if p is not None:
            rows.append([k.replace("_", "-"), _e(f"{p.kind} {p.bandwidth_gb_s:,.0f} GB/s/dir"
                                                 + (f", domain {p.domain_size}" if p.domain_size
                                                    else ""))])
    if d.cost is not None:
        rows.append(["package cost", f"${d.cost.total:,.0f}"
                     + (" (incl. NRE)" if d.cost.volume else " (recurring, no NRE)")])
    return _table(["", a.name], rows, left=2)


def render_html(data: ReportData, progress=None) -> str:
    """The whole report page as a string."""
    say = progress or (lambda msg: None)
    cfg = data.config
    pg = _Page()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    refusals = []

    # ------------------------------------------------------------------ designs
    if data.designs:
        pg.h2("designs", "Designs")
        pg.add("<div class='grid'>")
        for d in data.designs:
            pg.add("<div>")
            pg.add(f"<h3>{_e(d.name)}</h3>")
            if d.arch is None:
                pg.add(f"<p class='err'>did not load: {_e(d.error)}</p>")
                refusals.append((d.name, "", d.error))
                pg.add("</div>")
                continue
            if d.arch.description:
                pg.add(f"<p class='small'>{_e(d.arch.description)}</p>")
            say(f"drawing {d.name}")
            try:
                pg.img(F.package_png(d.arch), f"package drawing of {d.name}")
            except Exception as exc:   # a drawing failure must not lose the numbers
                pg.add(f"<p class='err'>drawing failed: {_e(exc)}</p>")
            pg.add(_spec_table(d))
            if d.error:
                pg.add(f"<p class='err'>{_e(d.error)}</p>")
                refusals.append((d.name, "(package cost)", d.error))
            pg.add("</div>")
        pg.add("</div>")

    wls = list(cfg.workloads)
    by_w = {w.label: [p for p in data.points if p.workload.label == w.label] for w in wls}
    for pts in by_w.values():
        for p in pts:
            if p.error:
                refusals.append((p.design, p.workload.label, p.error))

    # ------------------------------------------------------------------ latency
    if wls:
        pg.h2("latency", "Latency and throughput")
        pg.add(_method_notes(cfg))
        for w in wls:
            pg.add(f"<h3>{_e(w.label)}</h3><p class='meta'>model {_e(w.model)}, precision "
                   f"{_e(w.precision)}, batch {w.batch}, input {w.input_len}, output "
                   f"{w.output_len} tokens (decode context {w.decode_context})</p>")
            rows = []
            for p in by_w[w.label]:
                if not p.ok:
                    rows.append([_e(p.design),
                                 _Span(9, f"<span class='err'>{_e(p.error)}</span>")])
                    continue
                rows.append([
                    _e(p.design), _e(_mapping_text(p.mapping)), str(p.packages),
                    _num(p.prefill.ttft_s * 1e3, ",.2f"), _num(p.decode.tpot_s * 1e3, ",.2f"),
                    _num(p.decode.tokens_per_s, ",.0f"), _num(p.tokens_per_s_per_chip, ",.0f"),
                    _num(p.tokens_per_s_per_user, ",.1f"),
                    _e(max(p.prefill.bound_share().items(), key=lambda kv: kv[1])[0]),
                    _e(max(p.decode.bound_share().items(), key=lambda kv: kv[1])[0])])
            pg.add(_table(["design", "mapping", "packages", "TTFT ms", "TPOT ms", "tokens/s",
                           "tokens/s/chip", "tokens/s/user", "prefill bound", "decode bound"],
                          rows))
            notes = [(p.design, n) for p in by_w[w.label] if p.ok
                     for n in dict.fromkeys(p.prefill.notes + p.decode.notes)]
            if notes:
                pg.add("<ul class='note'>" + "".join(f"<li>{_e(d)}: {_e(n)}</li>"
                                                     for d, n in notes) + "</ul>")

        # ------------------------------------------------------------------ breakdown
        pg.h2("breakdown", "Latency breakdown by operator class and bounding resource")
        for w in wls:
            ok = [p for p in by_w[w.label] if p.ok]
            if not ok:
                continue
            pg.add(f"<h3>{_e(w.label)}</h3>")
            for phase in ("prefill", "decode"):
                say(f"breakdown {w.label} {phase}")
                pg.img(F.latency_png([getattr(p, phase) for p in ok]),
                       f"{phase} latency breakdown, {w.label}")
            rows = []
            for p in ok:
                for phase in ("prefill", "decode"):
                    bs = getattr(p, phase).bound_share()
                    rows.append([_e(p.design), phase] + [
                        _num(bs.get(b, 0.0) * 100, ".1f") for b in F.BOUND_COLORS])
            pg.add(_table(["design", "phase"] + [f"{b} %" for b in F.BOUND_COLORS], rows, left=2))

        # ------------------------------------------------------------------ roofline
        if cfg.roofline:
            pg.h2("roofline", "Roofline")
            pg.add("<p class='small'>Each operator at its operational intensity (FLOPs per memory "
                   "byte) and achieved FLOP/s on one device; marker area = share of the phase's "
                   "time.</p>")
            pg.add("<div class='grid'>")
            for w in wls:
                for p in by_w[w.label]:
                    if not p.ok:
                        continue
                    for phase in cfg.roofline:
                        say(f"roofline {p.design} {w.label} {phase}")
                        pg.add(f"<div><h3>{_e(p.design)} — {_e(w.label)} — {phase}</h3>")
                        pg.img(F.roofline_png(getattr(p, phase)),
                               f"roofline {p.design} {w.label} {phase}")
                        pg.add("</div>")
            pg.add("</div>")

        # ------------------------------------------------------------------ utilisation
        pg.h2("utilisation", "HBM and link utilisation")
        pg.add("<p class='small'>Average over the phase: bytes moved / (bandwidth × latency); "
               "links count their busier direction. Compulsory bytes, so lower bounds.</p>")
        for w in wls:
            ok = [p for p in by_w[w.label] if p.ok]
            if not ok:
                continue
            pg.add(f"<h3>{_e(w.label)}</h3>")
            pg.img(F.utilisation_png(ok), f"utilisation {w.label}")
            rows = []
            for p in ok:
                for phase in ("prefill", "decode"):
                    r = getattr(p, phase)
                    st = [d["utilization"] for d in r.stacks.values()]
                    lk = [d["utilization"] for d in r.links.values()]
                    po = {k: d["utilization"] for k, d in r.ports.items()}
                    rows.append([_e(p.design), phase,
                                 _num(100 * sum(st) / len(st), ".1f") if st else "–",
                                 _num(100 * max(st), ".1f") if st else "–",
                                 _num(100 * max(lk), ".1f") if lk else "no D2D links",
                                 _num(100 * po.get("scale_up", 0.0), ".2f"),
                                 _num(r.total("hbm_bytes") / 1e9, ".3f")])
            pg.add(_table(["design", "phase", "HBM mean %", "HBM max %", "D2D max %",
                           "scale-up %", "HBM GB/device/pass"], rows, left=2))

        # ------------------------------------------------------------------ energy
        pg.h2("energy", "Energy")
        for w in wls:
            ok = [p for p in by_w[w.label] if p.ok and p.e_decode is not None]
            if not ok:
                continue
            pg.add(f"<h3>{_e(w.label)}</h3>")
            pg.img(F.energy_png(ok), f"energy {w.label}")
            rows = []
            for p in ok:
                ed, ep = p.e_decode, p.e_prefill
                rows.append([_e(p.design), _num(ed.j_per_token, ".4g"),
                             _num(ep.total_j / p.prefill.tokens_per_step, ".4g"),
                             _num(ed.static_j / ed.total_j * 100, ".0f"),
                             _num(ed.average_power_w, ",.0f"), _num(ep.average_power_w, ",.0f"),
                             _num(ed.tdp_w, ",.0f") if ed.tdp_w else "–",
                             "<span class='err'>yes</span>" if (ed.tdp_exceeded or ep.tdp_exceeded)
                             else "no"])
            pg.add(_table(["design", "decode J/token", "prefill J/token", "decode static + background %",
                           "decode W/package", "prefill W/package", "TDP W", "over TDP"], rows))
            enotes = [(p.design, n) for p in ok
                      for n in dict.fromkeys(p.e_decode.notes + p.e_prefill.notes)]
            if enotes:
                pg.add("<ul class='note'>" + "".join(f"<li>{_e(d)}: {_e(n)}</li>"
                                                     for d, n in enotes) + "</ul>")

    # ------------------------------------------------------------------ cost
    cost_designs = [d for d in data.designs if d.cost is not None]
    if cost_designs:
        pg.h2("cost", "Cost and $/Mtoken")
        pg.img(F.cost_png(cost_designs), "package cost breakdown")
        keys = ("dies", "hbm", "carrier", "substrate", "bumps", "assembly_scrap", "nre")
        rows = []
        for d in cost_designs:
            c = d.cost.components()
            ys = ", ".join(f"{k} {v:.0%}" for k, v in d.cost.die_yields.items())
            rows.append([_e(d.name)] + [_num(c.get(k, 0.0), ",.0f") for k in keys]
                        + [_num(d.cost.total, ",.0f"), _e(ys),
                           _num(d.cost.assembly_yield, ".1%") if d.cost.assembly_yield else "–"])
        pg.add(_table(["design"] + [f"{k} $" for k in keys] + ["total $", "die yields",
                                                               "assembly yield"], rows))
        cnotes = [(d.name, n) for d in cost_designs for n in d.cost.notes]
        if cnotes:
            pg.add("<ul class='note'>" + "".join(f"<li>{_e(a)}: {_e(n)}</li>" for a, n in cnotes)
                   + "</ul>")
        for w in wls:
            ok = [p for p in by_w[w.label] if p.ok and p.token_cost is not None]
            if not ok:
                continue
            pg.add(f"<h3>$/Mtoken — {_e(w.label)}</h3>")
            pg.img(F.token_cost_png(ok), f"token cost {w.label}")
            rows = [[_e(p.design), _num(p.tokens_per_s_per_chip, ",.0f"),
                     _num(p.token_cost.power_w, ",.0f"),
                     _num(p.token_cost.capex_usd_per_million_tokens, ".4g"),
                     _num(p.token_cost.opex_usd_per_million_tokens, ".4g"),
                     f"<b>{_num(p.token_cost.usd_per_million_tokens, '.4g')}</b>"] for p in ok]
            pg.add(_table(["design", "tokens/s/package", "power W", "capex $/Mtok",
                           "opex $/Mtok", "$/Mtoken"], rows))

    # ------------------------------------------------------------------ accuracy
    if data.accuracy:
        pg.h2("accuracy", "Precision accuracy risk")
        pg.add("<p class='small'>Round-trip SQNR (dB) of each tensor's format on the standard "
               "samples of <code>chipletarch formats</code> (Gaussian, Laplace, Student-t(3), "
               "each also with one 32σ outlier per 32 values, SQNR of the other values). Band on "
               "the worst sample: " + ", ".join(
                   f"{n} ≥ {lo:g} dB" for lo, n in RISK_BANDS[:-1]) + ", high below. A screening "
               "aid only; model accuracy must be measured.</p>")
        rows = []
        for prec, fr in data.accuracy.items():
            if isinstance(fr, str):
                rows.append([_e(prec), f"<span class='err'>{_e(fr)}</span>", "", "", "", "", ""])
                continue
            for r in fr:
                rows.append([_e(prec), _e(r["role"]), _e(r["format"]),
                             _num(r["bits_per_element"], "g"), _num(r["gaussian_db"], ".1f"),
                             f"{_num(r['worst_db'], '.1f')} ({_e(r['worst_sample'])})",
                             f"<span class='band-{r['band']}'>{r['band']}</span>"])
        pg.add(_table(["precision", "tensor", "format", "bits/elem", "SQNR gaussian dB",
                       "worst SQNR dB (sample)", "risk"], rows, left=3))
        if any(not isinstance(v, str) for v in data.accuracy.values()):
            pg.img(F.accuracy_png(data.accuracy), "SQNR per format")

    # ------------------------------------------------------------------ pareto
    has_pareto = any(sum(p.ok and p.token_cost is not None for p in by_w[w.label]) >= 1
                     for w in wls) or data.serving or data.sweep
    if has_pareto:
        pg.h2("pareto", "Pareto")
        for w in wls:
            ok = [p for p in by_w[w.label] if p.ok and p.token_cost is not None]
            if len(ok) >= 1:
                pg.add(f"<h3>designs — {_e(w.label)}</h3>")
                pg.img(F.design_pareto_png(ok), f"design Pareto {w.label}")
        if data.serving:
            from ..serving.framework import framework_costs
            s = cfg.serving
            ok = {k: v for k, v in data.serving.items() if not v["error"]}
            head = f"serving frontiers — {_e(s.workload)}"
            pg.add(f"<h3>{head}</h3>")
            any_s = next(iter(ok.values()), None)
            if any_s:
                slo = ", ".join(x for x in (
                    f"TTFT ≤ {s.ttft_slo_ms:g} ms" if s.ttft_slo_ms else "",
                    f"TPOT ≤ {s.tpot_slo_ms:g} ms" if s.tpot_slo_ms else "") if x) or "no SLO"
                pg.add(f"<p class='small'>ISL {any_s['isl']:.0f}, OSL {any_s['osl']:.0f} tokens, "
                       f"{_e(slo)}; frontier = points meeting the TTFT target "
                       f"(chipletarch.serving.ServingStudy, docs/SERVING.md). Disaggregated "
                       f"pools are rate-matched in the fluid limit. "
                       f"{_e(framework_costs(s.framework).describe())}.</p>")
                pg.img(F.serving_png(ok, f"serving Pareto frontiers ({s.workload})"),
                       "serving frontiers")
                levels = [g["tokens_per_s_per_user"] for g in any_s["gains"]]
                rows = []
                for name, v in ok.items():
                    for g in v["gains"]:
                        rows.append([_e(name), _num(g["tokens_per_s_per_user"], "g"),
                                     _num(g["colocated"], ",.0f"), _num(g["disaggregated"], ",.0f"),
                                     _num(g["gain"], ".2f")])
                if levels:
                    pg.add(_table(["design", "tokens/s/user ≥", "co-located tok/s/chip",
                                   "disaggregated tok/s/chip", "gain"], rows))
                # each mode's best point under the targets, with its energy (the steady
                # state's J per output token and average package power, docs/SERVING.md)
                best = []
                for name, v in ok.items():
                    for mode, p in (v.get("best") or {}).items():
                        if p is None:
                            continue
                        best.append([_e(name), _e(mode), _num(p["tokens_per_s_per_chip"], ",.0f"),
                                     _num(p["tokens_per_s_per_user"], ",.1f"),
                                     _num(p["ttft_s"] * 1e3, ",.0f"),
                                     _num(p["tpot_s"] * 1e3, ",.2f"),
                                     _num(p.get("j_per_token"), ".4g"),
                                     _num(p.get("power_w_per_package"), ",.0f")])
                if best:
                    pg.add(_table(["design", "mode", "best tok/s/chip", "tok/s/user", "TTFT ms",
                                   "TPOT ms", "J/token", "W/package"], best))
            for name, v in data.serving.items():
                if v["error"]:
                    pg.add(f"<p class='err'>{_e(name)}: {_e(v['error'])}</p>")
                    refusals.append((name, f"serving {s.workload}", v["error"]))
        if data.sweep is not None:
            sw, ss = data.sweep, cfg.sweep
            pg.add(f"<h3>sweep store {_e(sw['manifest'].get('spec_name', ''))}</h3>")
            counts = ", ".join(f"{k} {v:,}" for k, v in sorted(sw["counts"].items()))
            pg.add(f"<p class='small'>{_e(sw['path'])}: {int(sw['manifest'].get('n_points', 0)):,} "
                   f"points ({_e(counts)}); written {_e(sw['manifest'].get('created', '?'))} by "
                   f"chipletarch {_e(sw['manifest'].get('version', '?'))} — figures are those of "
                   f"the model at that time, not re-simulated</p>")
            if sw["n_ok"]:
                pg.img(F.sweep_png(sw, ss.x, ss.y, ss.maximize), "sweep Pareto")
                d = sw["data"]
                fr = list(sw["front"])
                if ss.top and len(fr) > ss.top:      # spread the shown rows along the frontier
                    fr = [fr[int(round(i))] for i in
                          [j * (len(fr) - 1) / (ss.top - 1) for j in range(ss.top)]]
                skip = {"chunk", "status", "reason"}
                cand = [c for c in sw["columns"] if c not in skip and c in d]
                # columns equal on every ok point say nothing per row: one line for them
                const = [c for c in cand if len(d[c]) and c not in (ss.x, ss.y)
                         and all(v == d[c][0] for v in d[c])]
                cols = [c for c in cand if c not in const][:20]

                def cell(v):
                    if isinstance(v, (float, int, np.floating, np.integer)) and \
                            not isinstance(v, bool):
                        return _num(float(v), ".4g")
                    return v
                rows = [[_e(cell(d[c][i])) for c in cols] for i in fr]
                pg.add(f"<p class='small'>frontier points ({len(sw['front'])}"
                       + (f", {len(fr)} shown, spread along it" if len(fr) < len(sw["front"])
                          else "") + ")</p>")
                pg.add("<div style='overflow-x:auto'>" + _table(cols, rows) + "</div>")
                if const:
                    pg.add("<p class='small'>same on every ok point: " + _e(", ".join(
                        f"{c}={cell(d[c][0])}" for c in const)) + "</p>")
            if sw["reasons"]:
                pg.add("<p class='small'>most frequent reasons points were not ok:</p><ul "
                       "class='note'>" + "".join(f"<li>{n:,}× {_e(r)}</li>"
                                                 for r, n in sw["reasons"]) + "</ul>")

    # ------------------------------------------------------------------ refusals, config
    if wls or refusals:
        pg.h2("refusals", "Refused or infeasible points")
    if refusals:
        pg.add(_table(["design", "workload", "reason"],
                      [[_e(a), _e(b), _e(c)] for a, b, c in refusals], left=3))
    elif wls:
        pg.add("<p class='small'>none: every design × workload point was evaluated.</p>")
    if cfg.source:
        pg.h2("config", "Config")
        pg.add(f"<pre>{_e(cfg.source)}</pre>")

    toc = "".join(f'<li><a href="#{a}">{_e(t)}</a></li>' for a, t in pg.toc)
    head = (f"<h1>{_e(cfg.title)}</h1><p class='meta'>chipletarch {_e(__version__)} · generated "
            f"{now} · {len(data.designs)} design(s) × {len(wls)} workload(s)"
            + (" · sweep store" if data.sweep is not None else "") + "</p>"
            f"<nav><ol>{toc}</ol></nav>")
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(cfg.title)}</title><style>{_CSS}</style></head><body><main>"
            + head + "\n".join(pg.parts) + "</main></body></html>\n")
