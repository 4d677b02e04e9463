"""Reports: one self-contained HTML page comparing designs x workloads (or a sweep store).

    chipletarch report examples/report.yaml -o report.html

    from chipletarch.report import load_report_config, build_report
    html = build_report(load_report_config("examples/report.yaml"))

Layers: `config` (the YAML config: designs, workloads, economics, serving, sweep; line-precise
errors), `evaluate` (runs every point through simulate / energy_of / package_cost / token_cost,
SQNR of the chosen formats, serving frontiers, sweep frontiers; refusals kept as text),
`figures` (matplotlib PNGs, reusing the CLI's own drawings), `html` (the page: base64 images,
inline CSS, no script, no external reference), `commands` (the CLI). docs/QUICKSTART.md shows a
run end to end.
"""
from __future__ import annotations

from pathlib import Path

from .config import ReportConfig, ServingSpec, SweepSpec, WorkloadSpec, config_from_dict, load_report_config
from .evaluate import RISK_BANDS, ReportData, evaluate_config, precision_accuracy, risk_band

__all__ = ["ReportConfig", "WorkloadSpec", "ServingSpec", "SweepSpec", "load_report_config",
           "config_from_dict", "ReportData", "evaluate_config", "precision_accuracy", "risk_band",
           "RISK_BANDS",
           "build_report", "write_report"]


def build_report(cfg: ReportConfig, progress=None) -> str:
    """Evaluate `cfg` and return the HTML page as a string."""
    from .html import render_html
    data = evaluate_config(cfg, progress=progress)
    return render_html(data, progress=progress)


def write_report(cfg: ReportConfig, path, progress=None) -> Path:
    """Evaluate `cfg` and write the HTML page to `path` (returned)."""
    p = Path(path)
    html = build_report(cfg, progress=progress)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(html, encoding="utf-8")
    return p
