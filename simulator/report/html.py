"""``report.html`` and ``sweep_report.html``: one self-contained page to send, rendered from Jinja2 templates.

The page holds everything: the plots as base64 ``data:`` URIs (PNG), its CSS inline, no script and no network
request, so it opens offline in any browser, reads on a phone (tables scroll sideways, figures shrink) and prints to
PDF from the browser (``@media print``: one section per page, no figure cut in two).

Sections of ``report.html``, in order: the question and the recommendation (with its margin, P(best), expected
regret and EVPI); the ranking with SEs; the risk plots; what drives the decision (tornado, first-order indices,
EVPPI); the assumptions (every prior: distribution, P10/P50/P90, units, source tag, whether the scenario changed
it); the strategies and providers as configured; reproducibility (seed, versions, the command that re-runs it).

The words are those of ``summary.md`` (:mod:`simulator.report.markdown`, :mod:`simulator.report.robustness_markdown`),
rendered from their Markdown by markdown-it with raw HTML off, so any text from a config is escaped; the templates
(``simulator/report/templates/``) escape every other value (autoescape on). Data of the tables:
:mod:`simulator.report.html_data`.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import re
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from simulator.report.html_data import key_figures, package_versions, prior_rows, provider_rows, strategy_rows
from simulator.report.markdown import header_lines, ranking_rows, recommendation_section, sensitivity_lines
from simulator.report.robustness_markdown import robustness_section
from simulator.stats.estimators import z_value

REPORT_FILE, SWEEP_REPORT_FILE = "report.html", "sweep_report.html"
DRIVER_PLOTS = ("tornado", "sensitivity_indices", "evppi")  # "what drives the decision"; prior_map_* join them
RISK_PLOTS = ("risk_map", "risk_map_lateness", "cost_distribution", "delay_distribution", "cost_fan_chart",
              "cash_fan_chart", "cost_decomposition", "win_probability")  # first, in this order; others after
PLOTS = {  # PNG name: (title, caption); a PNG not named here gets its file name as title
    "risk_map": ("Risk map", "Mean cost against tail cost (CVaR) per strategy; hollow: fails a constraint."),
    "risk_map_lateness": ("Risk map: lateness", "Mean cost against the probability that a named training run is late."),
    "cost_distribution": ("Cost distribution", "The cost of service over the simulated paths."),
    "delay_distribution": ("Delay distribution", "The delay of steady work, in days."),
    "cost_fan_chart": ("Cost over time", "Cumulative cost month by month: median and percentile bands."),
    "cash_fan_chart": ("Cash over time", "Cumulative cash spent month by month (undiscounted)."),
    "cost_decomposition": ("Cost decomposition", "Mean cost by category: spend, and the priced shortfall."),
    "win_probability": ("Pairwise wins", "P(row strategy is cheaper than column strategy), path by path."),
    "tornado": ("Tornado", "How the margin moves when each prior is pinned at its P10 and at its P90."),
    "sensitivity_indices": ("Sensitivity indices",
                            "Share of the variance of the top two's cost difference due to each prior."),
    "evppi": ("Value of information (EVPPI)",
              "What learning a prior (or a group of priors) before deciding would save."),
}
HEADING = re.compile(r"#{1,6} ")  # an ATX heading ("#4 (4): ..." is not one)
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")  # html off: raw HTML in text is escaped


@dataclasses.dataclass(frozen=True)
class Figure:
    """A PNG embedded in the page."""

    name: str
    title: str
    caption: str
    uri: str  # data:image/png;base64,...


def markdown_html(text: str) -> Markup:
    """Markdown (paragraphs, lists, tables, bold, code) as safe HTML; raw HTML in its text is escaped."""
    return Markup(_MARKDOWN.render(text))


def body_markdown(lines: list[str]) -> Markup:
    """A section of ``summary.md`` as HTML: its first heading dropped (the template has its own), the others one
    level down (``##`` under the page's ``<h2>`` becomes ``<h3>``).

    Two trailing spaces (a Markdown line break) end a paragraph here: each sentence gets its own.
    """
    headings = [i for i, line in enumerate(lines) if HEADING.match(line)]
    kept = [("#" + line if HEADING.match(line) else re.sub(r" {2}$", "\n", line))
            for i, line in enumerate(lines) if i != (headings[0] if headings else None)]
    return markdown_html("\n".join(kept).strip())


def embed_png(path: Path) -> str:
    """``data:image/png;base64,...`` of a PNG file."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def figures(directory: Path) -> tuple[list[Figure], list[Figure]]:
    """The PNGs of a run directory, embedded: (risk plots, plots of what drives the decision)."""
    found = {p.stem: p for p in sorted(Path(directory).glob("*.png"))}

    def figure(name: str) -> Figure:
        title, caption = PLOTS.get(name, (name.replace("_", " ").capitalize(), ""))
        return Figure(name, title, caption, embed_png(found[name]))

    drivers = [n for n in DRIVER_PLOTS if n in found] + [n for n in found if n.startswith("prior_map")]
    risk = [n for n in RISK_PLOTS if n in found] + [n for n in found if n not in RISK_PLOTS and n not in drivers]
    return [figure(n) for n in risk], [figure(n) for n in drivers]


def environment() -> jinja2.Environment:
    """The templates of ``simulator/report/templates`` (installed with the package), autoescaped, strict."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("simulator.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["inline"] = lambda text: Markup(_MARKDOWN.renderInline(str(text)))
    return env


def run_report_html(analysis, config, directory: Path, *, scenario: str, seconds: float, prior_table=None,
                    created: str | None = None) -> str:
    """The page of one run (sections in the module's order).

    Parameters
    ----------
    analysis : simulator.decision.analyse.Analysis
        The run's analysis.
    config : simulator.config.schema.Config
        The validated config (strategies, providers, seed).
    directory : Path
        The run directory: its PNGs are embedded, and the re-run command names it.
    prior_table : pandas.DataFrame, optional
        Columns ``prior, distribution, p10, p50, p90, units, source, changed`` (one row per prior); None: the
        assumptions section says the table is unavailable.
    created : str, optional
        The timestamp shown (default: now, UTC).
    """
    metrics = analysis.metrics.sort_values("rank")
    header, rows = ranking_rows(analysis, metrics)
    risk_figures, driver_figures = figures(directory)
    z = z_value(metrics.attrs.get("confidence", 0.95))
    return environment().get_template("report.html.j2").render(
        title=f"gpu-risk report: scenario {scenario}",
        scenario=scenario,
        strategies=list(config.strategies),
        intro=body_markdown(header_lines(analysis, scenario=scenario, description=config.description,
                                         seconds=seconds)),
        figures_top=key_figures(analysis),
        recommendation=body_markdown(recommendation_section(analysis)),
        ranking_header=header, ranking_rows=rows, ranking_names=list(metrics.index),
        risk_figures=risk_figures, driver_figures=driver_figures,
        sensitivity=body_markdown(sensitivity_lines(analysis)[4:]),  # the headline is in the recommendation
        robustness=body_markdown(robustness_section(analysis, z)),
        priors=prior_rows(prior_table),
        strategy_rows=strategy_rows(config), provider_rows=provider_rows(config),
        seed=config.engine.seed, paths=analysis.paths, horizon_months=config.engine.horizon_months,
        versions=package_versions(), command=f"python -m simulator rerun {directory}",
        created=created or datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_run_report(analysis, config, directory: Path, **kw) -> Path:
    """Write ``directory/report.html`` (:func:`run_report_html`, same keywords) and return its path."""
    path = Path(directory) / REPORT_FILE
    path.write_text(run_report_html(analysis, config, directory, **kw), encoding="utf-8")
    return path


def sweep_report_html(summary_markdown: str, directory: Path, *, title: str, created: str | None = None) -> str:
    """The page of a multirun sweep: ``sweep_summary.md`` as HTML and every PNG of the sweep directory."""
    risk_figures, driver_figures = figures(directory)
    return environment().get_template("sweep_report.html.j2").render(
        title=title, summary=body_markdown(summary_markdown.splitlines()), figures=risk_figures + driver_figures,
        versions=package_versions(), command=f"python -m simulator combine {directory}",
        created=created or datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_sweep_report(summary_markdown: str, directory: Path, *, title: str) -> Path:
    """Write ``directory/sweep_report.html`` (:func:`sweep_report_html`) and return its path."""
    path = Path(directory) / SWEEP_REPORT_FILE
    path.write_text(sweep_report_html(summary_markdown, directory, title=title), encoding="utf-8")
    return path
