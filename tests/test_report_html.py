"""`chipletarch report`: one self-contained HTML page whose numbers are the models' own, which
opens in headless Chromium without console errors and whose images have content.

Chromium is Debian's `chromium` package (.ci/run installs it when missing). Without it the
browser checks skip with the reason; the content checks run anyway.
"""
import base64
import io
import os
import re
import shutil
import subprocess
import textwrap

import numpy as np
import pytest

import chipletarch as ca
from chipletarch.cli import main
from chipletarch.report import build_report, config_from_dict

DESIGNS = ["h100-sxm", "ucie4-hbm4", "missing-design.yaml"]


def _config(tmp, store=None):
    d = {
        "title": "test report <&>",
        "designs": DESIGNS,
        "workloads": [
            {"name": "8b", "model": "llama3.1-8b", "precision": "fp8", "batch": 4,
             "input_len": 512, "output_len": 128, "mapping": {"tp": 1}},
            # 405B in BF16 (~756 GiB of weights) on one package must be refused, not hidden
            {"name": "405b-bf16-tp1", "model": "llama3.1-405b", "precision": "bf16", "batch": 1,
             "input_len": 256, "output_len": 64, "mapping": {"tp": 1}},
            {"name": "8b-mxfp4", "model": "llama3.1-8b", "precision": "mxfp4", "batch": 4,
             "input_len": 512, "output_len": 128},
        ],
        "economics": {"utilisation": 0.5},
        "roofline": ["decode"],
        "serving": {"workload": "8b", "isl": 512, "osl": 128, "ttft_slo_ms": 1000, "max_tp": 1,
                    "batches": [1, 16], "chunks": [2048], "prefill_batches": [1]},
    }
    if store:
        d["sweep"] = {"store": str(store), "x": "tokens_per_s_per_user", "y": "usd_per_mtoken",
                      "maximize": [True, False], "top": 5}
    return config_from_dict(d, base_dir=tmp)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from chipletarch.explore import load_sweep, run_sweep
    p = tmp_path_factory.mktemp("sweep") / "small.sqlite"
    run_sweep(load_sweep("split-study-small"), p, workers=1, progress=False)
    return p


@pytest.fixture(scope="module")
def report(tmp_path_factory, store):
    tmp = tmp_path_factory.mktemp("report")
    html = build_report(_config(tmp, store))
    path = tmp / "report.html"
    path.write_text(html, encoding="utf-8")
    return path, html


def _pngs(html):
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def _content(png: bytes) -> float:
    """Share of pixels that are not the background colour."""
    from matplotlib.image import imread
    a = imread(io.BytesIO(png), format="png")[..., :3]
    bg = np.median(a.reshape(-1, 3), axis=0)
    return float((np.abs(a - bg).sum(axis=-1) > 0.05).mean())


# ----------------------------------------------------------------------------- content
def test_self_contained(report):
    _, html = report
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "<link" not in html
    assert not re.search(r'src="(?!data:image/png;base64,)', html)
    assert not re.search(r'href="(?!#)', html)
    assert "http://" not in html and "https://" not in html
    assert "test report &lt;&amp;&gt;" in html                  # text is escaped


def test_sections_present(report):
    _, html = report
    for title in ("Designs", "Latency and throughput", "Latency breakdown by operator class",
                  "Roofline", "HBM and link utilisation", "Energy", "Cost and $/Mtoken",
                  "Precision accuracy risk", "Pareto", "Refused or infeasible points", "Config"):
        assert f">{title}" in html, title


def test_images_have_content(report):
    _, html = report
    pngs = _pngs(html)
    # 2 drawings + per feasible workload (2 of 3): 2 breakdowns, 2 rooflines, utilisation,
    # energy, token cost, design Pareto; + cost, accuracy, serving, sweep
    assert len(pngs) == 2 + 2 * 8 + 4
    for png in pngs:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert _content(png) > 0.01


def test_numbers_are_the_models_own(report):
    _, html = report
    arch = ca.load_architecture("h100-sxm")
    dec = ca.simulate(arch, "llama3.1-8b", "decode", batch=4, context_len=512 + 64,
                      precision="fp8", tp=1)
    pre = ca.simulate(arch, "llama3.1-8b", "prefill", batch=4, seq_len=512, precision="fp8",
                      tp=1)
    e = ca.energy_of(dec, arch)
    tc = ca.token_cost(ca.package_cost(arch), dec.tokens_per_s, power_w=e.average_power_w,
                       utilisation=0.5)
    row = re.search(r"<td class=\"l\">h100-sxm</td><td>tp=1</td><td>1</td><td>([\d,.]+)</td>"
                    r"<td>([\d,.]+)</td>", html)
    assert row, "latency row of h100-sxm"
    assert row.group(1) == f"{pre.ttft_s * 1e3:,.2f}"
    assert row.group(2) == f"{dec.tpot_s * 1e3:,.2f}"
    assert f"<b>{tc.usd_per_million_tokens:.4g}</b>" in html
    assert f"{e.j_per_token:.4g}" in html


def test_refusals_and_notes_are_shown(report):
    _, html = report
    refused = html.split('id="refusals"')[1]
    assert "missing-design" in refused
    assert refused.count("llama3.1-405b does not fit") == 2     # on h100-sxm and ucie4-hbm4
    assert "GiB missing" in refused
    # H100 has no FP4 rate: the engine's emulation note must travel with the number
    assert "mxfp4_e2m1 not native on gh100" in html


def test_accuracy_bands(report):
    _, html = report
    acc = html.split('id="accuracy"')[1].split("<h2")[0]
    assert re.search(r"fp8</td><td class=\"l\">weights</td><td class=\"l\">fp8_e4m3</td>.*?"
                     r"band-low", acc)
    assert re.search(r"mxfp4</td><td class=\"l\">weights</td><td class=\"l\">mxfp4_e2m1</td>"
                     r".*?band-high", acc)


def test_sweep_section(report, store):
    _, html = report
    from chipletarch.explore import Store
    st = Store.open(store, readonly=True)
    n_ok = st.count("ok")
    st.close()
    sweep = html.split("sweep store split-study-small")[1]
    assert f"ok {n_ok:,}" in sweep
    assert "constraint cost_cap" in sweep                       # why points were pruned


def test_cli_on_a_store_alone(store, tmp_path, capsys):
    out = tmp_path / "s.html"
    assert main(["report", str(store), "-o", str(out), "-q"]) == 0
    html = out.read_text()
    assert "wrote" in capsys.readouterr().out
    assert ">Pareto" in html and ">Designs" not in html
    assert len(_pngs(html)) == 1


def test_cli_error_is_exit_1(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text(textwrap.dedent("""\
        designs: [h100-sxm]
        workloads: [{model: llama3.1-8b, precison: fp8}]
        """))
    assert main(["report", str(p), "-o", str(tmp_path / "x.html")]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml:2:" in err and "did you mean 'precision'" in err


# ----------------------------------------------------------------------------- browser
def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def _run_chromium(args, tmp_path, timeout=120):
    exe = _chromium()
    cmd = [exe, "--headless", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=5000"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--no-sandbox")      # Chromium refuses to run as root with its sandbox
    proc = subprocess.run(cmd + args, capture_output=True, text=True, timeout=timeout)
    return proc


def _console_problems(stderr: str) -> list:
    """Console messages (JS errors, failed loads) and network errors from Chromium's log; the
    rest of its stderr (D-Bus, GPU warnings of a headless box) is not about the page."""
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln or "net::ERR" in ln]


_PROBE = ("<script>window.addEventListener('load',()=>{const im=[...document.images];"
          "document.body.setAttribute('data-images-ok',im.filter(i=>i.complete&&"
          "i.naturalWidth>0).length+'/'+im.length);});</script>")


def _images_ok(html: str, tmp_path, name: str):
    """Load a copy of the page with a probe script (the report itself has none) and read the
    count of decoded images back from --dump-dom."""
    probe = tmp_path / name
    probe.write_text(html.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    proc = _run_chromium(["--dump-dom", probe.as_uri()], tmp_path)
    m = re.search(r'data-images-ok="(\d+)/(\d+)"', proc.stdout)
    assert m, proc.stderr[-2000:]
    return int(m.group(1)), int(m.group(2))


@pytest.mark.skipif(_chromium() is None, reason="Chromium not installed (Debian: apt-get install "
                                                "chromium; .ci/run installs it when root)")
def test_chromium_checker_catches_broken_pages(tmp_path):
    """Negative control: the checks below do fire on a page with a missing image and a
    console error, so their silence on the report means something."""
    bad = ("<!DOCTYPE html><html><body><img src='missing.png'>"
           "<script>console.error('broken')</script></body></html>")
    p = tmp_path / "bad.html"
    p.write_text(bad)
    proc = _run_chromium(["--dump-dom", p.as_uri()], tmp_path)
    assert _console_problems(proc.stderr)
    ok, n = _images_ok(bad, tmp_path, "bad_probe.html")
    assert (ok, n) == (0, 1)


@pytest.mark.skipif(_chromium() is None, reason="Chromium not installed (Debian: apt-get install "
                                                "chromium; .ci/run installs it when root)")
def test_opens_in_headless_chromium(report, tmp_path):
    path, html = report
    shot = tmp_path / "shot.png"
    proc = _run_chromium(["--window-size=1200,6000", f"--screenshot={shot}", path.as_uri()],
                         tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _console_problems(proc.stderr) == []
    assert shot.is_file() and _content(shot.read_bytes()) > 0.05   # a rendered, non-blank page
    ok, n = _images_ok(html, tmp_path, "probe.html")
    assert n == len(_pngs(html)) and ok == n


def test_a_model_bug_is_reported_not_fatal(monkeypatch):
    """An unexpected exception inside a model (here a stand-in KeyError from energy_of) marks
    that point as an internal error in the page; the other numbers are still reported."""
    import chipletarch.energy as energy

    def broken(result, arch, **kw):
        raise KeyError("chiplet0")

    monkeypatch.setattr(energy, "energy_of", broken)
    cfg = config_from_dict({"designs": ["h100-sxm"], "roofline": [],
                            "workloads": [{"model": "tiny", "batch": 2, "input_len": 64,
                                           "output_len": 16, "mapping": {"tp": 1}}]})
    html = build_report(cfg)
    refused = html.split('id="refusals"')[1]
    assert "internal error in the energy model (KeyError: &#x27;chiplet0&#x27;)" in refused
    assert "this is a bug in chipletarch" in refused
    assert re.search(r"<td class=\"l\">h100-sxm</td><td>tp=1</td><td>1</td><td>[\d.]+</td>", html)


def test_serving_best_points_carry_their_energy(report):
    """The serving section lists each mode's best point with the steady state's J/token and
    W/package, the numbers `ServingStudy.best()` gives for the same study."""
    _, html = report
    from chipletarch.serving import ServingStudy
    st = ServingStudy("h100-sxm", "llama3.1-8b", "fp8", 512, 128, ttft_slo_s=1.0, max_tp=1,
                      batches=(1, 16), chunks=(2048,), prefill_batches=(1,))
    sec = html.split("serving frontiers", 1)[1]
    assert "J/token" in sec and "W/package" in sec
    for mode, p in st.best().items():
        assert p is not None
        assert (f"<td>{p['tokens_per_s_per_chip']:,.0f}</td>" in sec
                and f"<td>{p['j_per_token']:.4g}</td>" in sec), mode
