"""report.html and sweep_report.html as text: sections in order, PNGs embedded, everything escaped, no network.

The analysis is built by hand (the fields the page reads); the config is the hybrid scenario's. The browser checks
are in tests/e2e/test_report_browser.py.
"""

from __future__ import annotations

import base64
import re
import tomllib
from importlib.resources import files
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from simulator.config.load import load_config
from simulator.decision.recommend import Recommendation
from simulator.decision.robustness import Robustness
from simulator.decision.voi import Information
from simulator.report.html import SWEEP_REPORT_FILE, run_report_html, write_run_report, write_sweep_report
from simulator.report.html_data import PRIOR_COLUMNS

SECTIONS = ["recommendation", "ranking", "risk", "drivers", "assumptions", "strategies", "reproducibility"]
EVIL = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def config():
    cfg = load_config(["scenario=hybrid"])
    cfg.description = f"A scenario {EVIL} & more"
    first = next(iter(cfg.strategies.values()))
    first.description = "<img src=x onerror=alert(1)>"
    return cfg


def _analysis(names: list[str]):
    n = len(names)
    metrics = pd.DataFrame({
        "rank": np.arange(1, n + 1), "admissible": [True] * (n - 1) + [False],
        "excluded_because": [""] * (n - 1) + ["P(late) > 0.1"], "objective": 1e6 * (1 + 0.1 * np.arange(n)),
        "objective_se": [1e4] * n, "p_cheapest_feasible": [0.6] + [0.4 / (n - 2)] * (n - 2) + [np.nan],
        "p_cheapest_feasible_se": [0.05] * n, "expected_regret": [2e4] * (n - 1) + [np.nan],
        "expected_regret_se": [3e3] * n, "borderline": [""] * n, "closed_by_data_policy": [""] * n,
    }, index=pd.Index(names, name="strategy"))
    metrics.attrs.update(confidence=0.95, level=0.95)
    rec = Recommendation(metrics, "mean cost of service", names[0], names[1], 1e5, 1.4e4, 1.96, 0.7, 0.02)
    table = pd.DataFrame({"kind": ["group", "prior"], "evppi": [5e3, 4e3], "evppi_se": [1e3, 1e3],
                          "share_of_evpi": [0.5, 0.4]}, index=["market.*", "market.drift_per_year"])
    info = Information(tuple(names[:-1]), 1e4, 2e3, table, 96, 20)
    risk = Robustness(names[0], 0.6, 0.05, 2e4, 3e3, 96, 96, information=info)
    return SimpleNamespace(metrics=metrics, recommendation=rec, headline="It depends mostly on market.drift.",
                           precision="margin 7.1 SE", precision_met=True, paths=96, auto_paths=False, tornado=None,
                           indices=None, categories=None, robustness=risk)


def _priors() -> pd.DataFrame:
    return pd.DataFrame([["market.drift_per_year", "normal", -0.2, 0.0, 0.2, "1/year", "[S] <b>ref</b>", False],
                         ["workload.base_gpu_hours_per_day", "lognormal", 150.0, 240.0, 380.0, "GPU-h/day", "[U]",
                          True]], columns=list(PRIOR_COLUMNS))


def _png(path: Path) -> bytes:
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    fig.savefig(path, dpi=30)
    plt.close(fig)
    return path.read_bytes()


@pytest.fixture
def page(config, tmp_path):
    pngs = {name: _png(tmp_path / f"{name}.png") for name in ("risk_map", "tornado", "custom_plot")}
    html = run_report_html(_analysis(list(config.strategies)), config, tmp_path, scenario="hybrid", seconds=1.0,
                           prior_table=_priors(), created="2026-01-01")
    return html, pngs


def _section(html: str, name: str) -> str:
    start = html.index(f'<section id="{name}">')
    return html[start: html.index("</section>", start)]


def test_sections_in_order(page):
    html, _ = page
    found = re.findall(r'<section id="([a-z]+)">', html)
    assert found == SECTIONS
    recommendation = _section(html, "recommendation")
    assert "Where should this company" in recommendation and "<strong>Recommended: on_demand</strong>" in recommendation
    assert "Margin over neocloud" in recommendation
    assert "60.0 ± 5.0%" in recommendation and "EVPI" in recommendation  # P(best) and EVPI, with SEs


def test_ranking_has_one_row_per_strategy_with_ses(page, config):
    ranking = _section(page[0], "ranking")
    rows = re.findall(r'<tr class="[a-z]*" data-strategy="([^"]+)">', ranking)
    assert rows == list(config.strategies)
    assert ranking.count(" ± ") >= 2 * len(rows) - 1 and "(excluded)" in ranking


def test_pngs_are_embedded_and_nothing_is_fetched(page):
    html, pngs = page
    uris = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert sorted(base64.b64decode(u) for u in uris) == sorted(pngs.values())
    assert "tornado" in _section(html, "drivers") and 'id="fig-tornado"' not in _section(html, "risk")
    assert 'id="fig-risk_map"' in _section(html, "risk") and 'id="fig-custom_plot"' in _section(html, "risk")
    assert not re.search(r'(src|href)="(https?:)?//', html) and "@import" not in html and "<script" not in html


def test_text_from_the_config_is_escaped(page):
    html = page[0]
    assert EVIL not in html and "&lt;script&gt;alert" in html and "A scenario" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>ref</b>" not in html and "&lt;b&gt;ref&lt;/b&gt;" in html


def test_prior_table_marks_the_changed_priors(page):
    assumptions = _section(page[0], "assumptions")
    assert assumptions.count("<tr") == 3 and assumptions.count('class="changed"') == 1
    assert "workload.base_gpu_hours_per_day" in assumptions and "GPU-h/day" in assumptions and ">380<" in assumptions


def test_without_a_prior_table_the_section_says_so(config, tmp_path):
    path = write_run_report(_analysis(list(config.strategies)), config, tmp_path, scenario="hybrid", seconds=1.0)
    assert path.name == "report.html"
    html = path.read_text()
    assert "The prior table is unavailable" in _section(html, "assumptions")
    assert 'id="risk"' in html and "wrote no plots" in _section(html, "risk")


def test_strategies_and_reproducibility(page, config, tmp_path):
    html, _ = page
    strategies = _section(html, "strategies")
    for name, strategy in config.strategies.items():
        assert f"<h3>{name}</h3>" in strategies
        assert all(f"<td>{pool}</td>" in strategies for pool in strategy.pools)
    assert "$/GPU-h" in strategies and 'id="providers-table"' in strategies
    reproducibility = _section(html, "reproducibility")
    assert f"python -m simulator rerun {tmp_path}" in reproducibility
    assert "Seed <code>0</code>" in reproducibility and ">jax<" in reproducibility and ">python<" in reproducibility


def test_sweep_report_renders_the_summary_and_plots(tmp_path):
    png = _png(tmp_path / "decision_map.png")
    text = ("# Sweep\n\n## Break-even points\n\n| a | b |\n|---|---|\n| 1 | <i>2</i> |\n\n- **done**\n\n"
            "Failed jobs (left out): #4 (4): config error\n")
    html = write_sweep_report(text, tmp_path, title="sweep <x>").read_text()
    assert (tmp_path / SWEEP_REPORT_FILE).is_file()
    assert "<h3>Break-even points</h3>" in html and "<td>&lt;i&gt;2&lt;/i&gt;</td>" in html
    assert "<strong>done</strong>" in html and "sweep &lt;x&gt;" in html and "out): #4 (4): config" in html
    (uri,) = re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)
    assert base64.b64decode(uri) == png


def test_templates_ship_with_the_package():
    templates = files("simulator.report") / "templates"
    assert all((templates / name).is_file() for name in ("report.html.j2", "sweep_report.html.j2", "_base.html.j2"))
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "templates/*.j2" in pyproject["tool"]["setuptools"]["package-data"]["simulator.report"]


def test_a_run_without_an_admissible_strategy_still_renders(config, tmp_path):
    analysis = _analysis(list(config.strategies))
    rec = analysis.recommendation
    analysis.recommendation = Recommendation(rec.ranking, rec.objective, None, None, np.nan, np.nan, 1.96, np.nan,
                                             np.nan)
    analysis.robustness = None
    html = run_report_html(analysis, config, tmp_path, scenario="hybrid", seconds=1.0)
    recommendation = _section(html, "recommendation")
    assert "No strategy meets every constraint" in recommendation and ">none<" in recommendation
    assert "No value-of-information analysis" in _section(html, "drivers")
