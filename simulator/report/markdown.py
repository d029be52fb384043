"""Human summary: the per-strategy table, printed and written as ``summary.md``."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd


def _money(x: float) -> str:
    return f"${x / 1e6:,.3f}M" if abs(x) >= 1e5 else f"${x:,.0f}"


def summary_markdown(
    summary: pd.DataFrame, *, scenario: str, description: str, paths: int, seconds: float
) -> str:
    """A Markdown report: one row per strategy, money in USD (present value), delays in days, with SEs."""
    header = (
        "| strategy | mean cost (± SE) | P5 cost | P50 cost | P95 cost | mean delay, days (± SE) "
        "| P95 delay, days | P(a run is late) (± SE) |"
    )
    lines = [
        f"# gpu-risk summary: scenario `{scenario}`",
        "",
        description,
        "",
        f"{paths:,} paths; costs are present values in USD; {seconds:.1f} s of simulation.",
        "",
        header,
        "|" + "---|" * (header.count("|") - 1),
    ]
    for name, r in summary.iterrows():
        lines.append(
            f"| {name} | {_money(r.cost_mean)} (± {_money(r.cost_mean_se)}) | {_money(r.cost_p5)} "
            f"| {_money(r.cost_p50)} | {_money(r.cost_p95)} | {r.delay_mean:.2f} (± {r.delay_mean_se:.2f}) "
            f"| {r.delay_p95:.2f} | {r.p_late:.3f} (± {r.p_late_se:.3f}) |"
        )
    lines += [
        "",
        "Delay: backlog-weighted wait of steady demand. P(late): a named training run finishes after its "
        "deadline. SE: Monte Carlo standard error.",
    ]
    return "\n".join(lines) + "\n"


# ---- decision report: recommendation, ranking, metrics with their precision, sensitivity ----------------------------


def _decimals(se: float, scale: float) -> int:
    """Decimals that show a standard error ``se`` (in units of ``scale``) to one significant digit, or two when
    its leading digit is 1 or 2 (so 0.14 and 0.008, not 0.1 and 0.0080)."""
    if se is None or not np.isfinite(se) or se <= 0:
        return 2
    exponent = np.floor(np.log10(se / scale))
    leading = se / scale / 10**exponent
    return int(np.clip(-exponent + (1 if leading < 2.95 else 0), 0, 6))


def money_pm(value: float, se: float | None = None) -> str:
    """``$4.15M ± 0.14M``: money in millions (thousands below $100k), rounded to the precision of its SE."""
    if not np.isfinite(value):
        return "—"
    size = max(abs(value), se or 0.0)
    scale, unit = (1e6, "M") if size >= 1e5 else (1e3, "k") if size >= 1e3 else (1.0, "")
    d = _decimals(se, scale) if se is not None else (2 if scale == 1e6 else 0)
    sign = "-" if value < 0 else ""
    text = f"{sign}${abs(value) / scale:,.{d}f}{unit}"
    return text if se is None or not np.isfinite(se) else f"{text} ± {se / scale:,.{d}f}{unit}"


def number_pm(value: float, se: float | None = None, decimals: int | None = None) -> str:
    """A plain number with its SE, rounded to the SE's precision (at least ``decimals``)."""
    if not np.isfinite(value):
        return "—"
    if se is not None and np.isfinite(se) and se < 1e-9 * max(1.0, abs(value)):
        se = 0.0  # float residue of a constant (e.g. no delay on any path)
    d = _decimals(se, 1.0) if se is not None else 2
    d = max(d, decimals or 0) if se is None or not np.isfinite(se) or se > 0 else (decimals or 2)
    text = f"{value:,.{d}f}"
    return text if se is None or not np.isfinite(se) else f"{text} ± {se:,.{d}f}"


def _ci(row: pd.Series, name: str) -> str:
    return f"{money_pm(row[name])} [{money_pm(row[f'{name}_lo'])}, {money_pm(row[f'{name}_hi'])}]"


def verdict(analysis) -> list[str]:
    """The recommendation in plain sentences: the choice, its margin and SE, and whether it is within noise."""
    rec = analysis.recommendation
    if rec.best is None:
        return ["**No strategy meets every constraint.** Relax a constraint under `decision:` or add a strategy; "
                "the ranking below shows why each one is excluded."]
    lines = [f"**Recommended: {rec.best}**, lowest {rec.objective} among the strategies that meet the constraints."]
    if rec.runner_up is None:
        lines.append("It is the only strategy that meets every constraint.")
        return lines
    ratio = rec.margin / rec.margin_se if rec.margin_se > 0 else np.inf
    lines.append(
        f"Margin over {rec.runner_up}: {money_pm(rec.margin, rec.margin_se)} (SE, pathwise on common random "
        f"numbers), {ratio:.1f} standard errors; {rec.best} is cheaper than {rec.runner_up} on "
        f"{number_pm(100 * rec.p_best_cheaper, 100 * rec.p_best_cheaper_se, 1)}% of paths."
    )
    if rec.within_noise:
        lines.append(
            f"**Within noise**: the margin is less than {rec.z:.2f} SE, so this run cannot tell {rec.best} and "
            f"{rec.runner_up} apart. Add paths (`engine.paths=auto`) or decide on other grounds."
        )
    else:
        lines.append(f"The margin is clear of the noise (more than {rec.z:.2f} SE).")
    return lines


def _streamed_note(analysis) -> list[str]:
    """For a streamed run: which statistics cover every path and which the path-level sample."""
    kept = analysis.metrics.attrs.get("path_level_paths")
    if not kept or kept >= analysis.paths:
        return []
    return [
        f"Streamed run: the ranking, means, probabilities and pairwise win rates use all {analysis.paths:,} "
        f"paths (quantiles, VaR and CVaR from a sketch within {analysis.metrics.attrs['relative_accuracy']:g} "
        f"relative of the exact order statistics); P(cheapest), regret, dominance, sensitivity and the plots use "
        f"the first {kept:,} paths kept path by path (`report.path_level_paths`).",
    ]


def decision_markdown(analysis, *, scenario: str, description: str, seconds: float) -> str:
    """``summary.md``: recommendation, ranking, cost and delay metrics with SEs and CIs, comparisons, sensitivity."""
    m, rec = analysis.metrics.sort_values("rank"), analysis.recommendation
    level, conf = m.attrs.get("level", 0.95), m.attrs.get("confidence", 0.95)
    lv, cf = round(100 * level), f"{conf:.0%}"
    auto = "chosen by `engine.paths=auto`; " if analysis.auto_paths else ""
    status = "" if not analysis.auto_paths else (" (target met)" if analysis.precision_met else " (cap reached)")
    out = [
        f"# gpu-risk summary: scenario `{scenario}`",
        "",
        description,
        "",
        f"{analysis.paths:,} paths ({auto}{seconds:.1f} s of simulation); costs are present values in USD; "
        f"± is one Monte Carlo standard error (SE), [ ] a {cf} confidence interval.",
        *_streamed_note(analysis),
        "",
        "## Recommendation",
        "",
        *[f"{line}  " for line in verdict(analysis)],
        f"Precision{status}: {analysis.precision}.  ",
        f"Sensitivity: {analysis.headline}",
        "",
        "## Ranking",
        "",
        f"| rank | strategy | {rec.objective} | meets constraints | P(cheapest admissible) | expected regret "
        "| borderline (within 1.96 SE of a limit) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in m.iterrows():
        ok = "yes" if r["admissible"] else f"no: {r['excluded_because']}"
        if r.get("closed_by_data_policy"):
            ok += f" (data policy closes its {r['closed_by_data_policy']} pools)"
        regret = money_pm(r["expected_regret"], r["expected_regret_se"]) if np.isfinite(r["expected_regret"]) else "—"
        out.append(
            f"| {r['rank']} | {name} | {money_pm(r['objective'], r['objective_se'])} | {ok} "
            f"| {number_pm(r['p_cheapest_feasible'], r['p_cheapest_feasible_se'], 3)} | {regret} "
            f"| {r['borderline'] or '—'} |"
        )
    out += ["", "## Cost (present value, USD)", "",
            f"| strategy | mean | sd | P5 | P50 | P95 | VaR{lv} | CVaR{lv} | P(cost > budget) |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, r in m.iterrows():
        budget = number_pm(r["p_over_budget"], r["p_over_budget_se"], 3) if np.isfinite(r["p_over_budget"]) else "no budget"
        out.append(
            f"| {name} | {money_pm(r['cost_mean'], r['cost_mean_se'])} | {money_pm(r['cost_sd'])} "
            f"| {_ci(r, 'cost_p5')} | {_ci(r, 'cost_p50')} | {_ci(r, 'cost_p95')} "
            f"| {money_pm(r['cost_var'], r['cost_var_se'])} | {money_pm(r['cost_cvar'], r['cost_cvar_se'])} | {budget} |"
        )
    out += ["", "## Delay and deadlines", "",
            f"| strategy | mean delay, days | P50 | P95 | CVaR{lv} delay | P(a run is late) | P(on budget and on time) |",
            "|---|---|---|---|---|---|---|"]
    for name, r in m.iterrows():
        out.append(
            f"| {name} | {number_pm(r['delay_mean'], r['delay_mean_se'])} | {r['delay_p50']:.2f} "
            f"| {r['delay_p95']:.2f} [{r['delay_p95_lo']:.2f}, {r['delay_p95_hi']:.2f}] "
            f"| {number_pm(r['delay_cvar'], r['delay_cvar_se'])} | {number_pm(r['p_late'], r['p_late_se'], 3)} "
            f"| {number_pm(r['p_on_budget_and_time'], r['p_on_budget_and_time_se'], 3)} |"
        )
    win, win_se = analysis.comparisons["win"], analysis.comparisons["win_se"]
    out += ["", "## Pairwise: P(row is cheaper than column), path by path", "",
            "| | " + " | ".join(win.columns) + " |", "|---" * (len(win.columns) + 1) + "|"]
    for a in win.index:
        cells = ["" if a == b else number_pm(win.loc[a, b], win_se.loc[a, b], 3) for b in win.columns]
        out.append(f"| **{a}** | " + " | ".join(cells) + " |")
    dom = analysis.comparisons["dominance"]
    out += ["", "## Stochastic dominance (lower cost is better)", ""]
    failing = set(m.index[~m["admissible"].astype(bool)])
    out += [
        f"- {d.dominant} dominates {d.dominated} ({d.order})"
        + (f"; {d.dominant} fails a constraint" if d.dominant in failing else "")
        for d in dom.itertuples()
    ] or [
        "No strategy dominates another: each pair's cost distributions cross."]
    out += ["", "## Sensitivity", "", analysis.headline, ""]
    if analysis.tornado is not None and len(analysis.tornado):
        t = analysis.tornado
        lo, hi = round(100 * t.attrs["low_quantile"]), round(100 * t.attrs["high_quantile"])
        out += [f"Margin ({rec.objective}) of {t.attrs['pair'][1]} minus {t.attrs['pair'][0]} with each prior pinned "
                f"at its P{lo} and P{hi}: the main run's margin, {money_pm(t.attrs['base_margin'], t.attrs['base_margin_se'])}, "
                f"moved by the change each pin makes on {t.attrs['paths']:,} paths with the same random numbers:", "",
                f"| prior | P{lo} → P{hi} | margin at P{lo} | margin at P{hi} | flips the ranking |", "|---|---|---|---|---|"]
        for name, r in t.iterrows():
            out.append(f"| {name} | {r['low_value']:.4g} → {r['high_value']:.4g} "
                       f"| {money_pm(r['low_margin'], r['low_margin_se'])} "
                       f"| {money_pm(r['high_margin'], r['high_margin_se'])} | {r['flips']} |")
        out.append("")
    if analysis.indices is not None and len(analysis.indices):
        out += ["First-order indices (RBD-FAST on the per-path draws) of the per-path cost difference of the top two:",
                "", "| prior | S1 |", "|---|---|"]
        out += [f"| {name} | {number_pm(r['S1'], r['S1_se'], 3)} |" for name, r in analysis.indices.head(8).iterrows()]
    out += ["", "Delay: backlog-weighted wait of steady demand. P(late): a named training run finishes after its "
            "deadline. Regret: cost above the cheapest admissible strategy on the same path. Formulas: docstrings of "
            "simulator/metrics.py, compare.py, recommend.py, sensitivity.py."]
    return "\n".join(out) + "\n"


def print_terminal(analysis, *, scenario: str, out_dir: str, console=None) -> None:
    """The terminal summary: a rich ranking table, the recommendation and the sensitivity headline."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 160)
    m, rec = analysis.metrics.sort_values("rank"), analysis.recommendation
    lv = round(100 * m.attrs.get("level", 0.95))
    table = Table(title=f"gpu-risk · scenario {scenario} · {analysis.paths:,} paths", box=box.SIMPLE_HEAVY)
    for column in ("rank", "strategy", rec.objective, "P95 cost", f"CVaR{lv} cost",
                   "P(run late)", "mean delay, d", "P(cheapest)", "constraints"):
        table.add_column(column, justify="left" if column in ("strategy", "constraints") else "right")
    for name, r in m.iterrows():
        style = "bold green" if name == rec.best else ("dim" if not r["admissible"] else None)
        table.add_row(
            str(r["rank"]), str(name), money_pm(r["objective"], r["objective_se"]),
            money_pm(r["cost_p95"], r["cost_p95_se"]),
            money_pm(r["cost_cvar"], r["cost_cvar_se"]), number_pm(r["p_late"], r["p_late_se"], 3),
            number_pm(r["delay_mean"], r["delay_mean_se"]), f"{r['p_cheapest_feasible']:.3f}",
            "ok" if r["admissible"] else f"fails {r['failed']}", style=style,
        )
    console.print(table)
    for line in verdict(analysis):
        console.print(line.replace("**", ""))
    console.print(f"Precision: {analysis.precision}.")
    console.print(f"Sensitivity: {analysis.headline}")
    console.print(f"outputs: {out_dir}")
