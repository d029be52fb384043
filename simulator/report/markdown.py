"""``summary.md``: the decision report, one function per section, from an :class:`~simulator.decision.analyse.Analysis`.

Sections: header, recommendation, ranking, cost of service, spend and shortfall (with the cost per delivered
GPU-hour), delay and deadlines, pairwise win rates, stochastic dominance, sensitivity, robustness and value of information
(:mod:`simulator.report.robustness_markdown`), and a glossary. A strategy
that fails a constraint is marked ``(excluded)`` in every table, ranked after the admissible ones, has no
P(cheapest) or regret, and is left out of the pairwise and dominance views (it is never shown as a winner).
Numbers go through :mod:`simulator.report.format`; the terminal table is
:mod:`simulator.report.terminal`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.report.format import markdown_table, money_pm, number_pm
from simulator.report.robustness_markdown import decision_risk_lines, robustness_section
from simulator.stats.estimators import z_value

EXCLUDED = " (excluded)"  # after the name of a strategy that fails a constraint


def _name(name: str, row: pd.Series) -> str:
    """The strategy's name, marked when it fails a constraint."""
    return str(name) if bool(row.get("admissible", True)) else f"{name}{EXCLUDED}"


def _ci(row: pd.Series, name: str) -> str:
    return f"{money_pm(row[name])} [{money_pm(row[f'{name}_lo'])}, {money_pm(row[f'{name}_hi'])}]"


def recommendation_lines(analysis) -> list[str]:
    """The recommendation in plain sentences: the choice, its decision risk (P(best on a path), regret, EVPI,
    ranking flips), then the Monte Carlo precision: its margin and SE, and whether it is within noise."""
    rec = analysis.recommendation
    if rec.best is None:
        return ["**No strategy meets every constraint.** Relax a constraint under `decision:` or add a strategy; "
                "the ranking below shows why each one is excluded."]
    lines = [f"**Recommended: {rec.best}**, lowest {rec.objective} among the strategies that meet the constraints."]
    if rec.runner_up is None:
        lines.append("It is the only strategy that meets every constraint.")
        return lines
    lines += decision_risk_lines(analysis)
    ratio = rec.margin / rec.margin_se if rec.margin_se > 0 else np.inf
    lines.append(
        f"Monte Carlo precision (how well this run knows the averages, not how risky the choice is): "
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
    m = analysis.metrics.sort_values("rank")
    sections = (
        header_lines(analysis, scenario=scenario, description=description, seconds=seconds),
        recommendation_section(analysis),
        _ranking(analysis, m),
        _cost(m),
        _service(m),
        _delay(m),
        _cash(m),
        _pairwise(analysis),
        _dominance(analysis, m),
        sensitivity_lines(analysis),
        robustness_section(analysis, z_value(analysis.metrics.attrs.get("confidence", 0.95))),
        _glossary(),
    )
    return "\n".join(line for section in sections for line in section) + "\n"


def _level(m: pd.DataFrame) -> int:
    """The VaR/CVaR level in percent (``decision.level``)."""
    return round(100 * m.attrs.get("level", 0.95))


def header_lines(analysis, *, scenario: str, description: str, seconds: float) -> list[str]:
    """The title, the description, what the numbers are and what "cost of service" means (summary.md, report.html)."""
    confidence = analysis.metrics.attrs.get("confidence", 0.95)
    auto = "chosen by `engine.paths=auto`; " if analysis.auto_paths else ""
    return [
        f"# gpu-risk summary: scenario `{scenario}`",
        "",
        description,
        "",
        f"{analysis.paths:,} paths ({auto}{seconds:.1f} s of simulation); costs are present values in USD; "
        f"± is one Monte Carlo standard error (SE), [ ] a {confidence:.0%} confidence interval.",
        "",
        _service_definition(analysis),
        *_streamed_note(analysis),
        "",
    ]


def _service_definition(analysis) -> str:
    """The one sentence that says what "cost of service" is, naming the run's shortfall categories."""
    categories = getattr(analysis, "categories", None)
    shortfall = list(categories.attrs.get("shortfall", [])) if categories is not None else []
    named = f" (categories {', '.join(f'`{c}`' for c in shortfall)})" if shortfall else ""
    return ("**Cost of service** = spend + shortfall: the money spent on compute, hardware and operations plus the "
            f"priced shortfall{named}: the delay of steady work, training runs finishing late, and work still "
            "undone at the horizon, each at its price. \"cost\" below means the cost of service; strategies marked "
            f"`{EXCLUDED.strip()}` fail a constraint and are never a candidate or a pairwise winner.")


def recommendation_section(analysis) -> list[str]:
    """``## Recommendation``: the sentences, the precision reached and the sensitivity headline."""
    status = "" if not analysis.auto_paths else (" (target met)" if analysis.precision_met else " (cap reached)")
    return [
        "## Recommendation",
        "",
        *[f"{line}  " for line in recommendation_lines(analysis)],
        f"Precision{status}: {analysis.precision}.  ",
        f"Sensitivity: {analysis.headline}",
        "",
    ]


def _ranking(analysis, m: pd.DataFrame) -> list[str]:
    """The ranked strategies; "borderline" uses the z of ``decision.confidence``, as the recommendation does."""
    return markdown_table("Ranking", *ranking_rows(analysis, m))[1:]


def ranking_rows(analysis, m: pd.DataFrame) -> tuple[list[str], list[list]]:
    """The ranking table's header and rows (strategies in rank order in ``m``): summary.md and report.html."""
    z = z_value(m.attrs.get("confidence", 0.95))
    header = ["rank", "strategy", analysis.recommendation.objective, "meets constraints", "P(cheapest admissible)",
              "expected regret", f"borderline (within {z:.2f} SE of a limit)"]
    rows = []
    for name, r in m.iterrows():
        ok = "yes" if r["admissible"] else f"no: {r['excluded_because']}"
        if r.get("closed_by_data_policy"):
            ok += f" (data policy closes its {r['closed_by_data_policy']} pools)"
        regret = money_pm(r["expected_regret"], r["expected_regret_se"]) if np.isfinite(r["expected_regret"]) else "—"
        cheapest = number_pm(r["p_cheapest_feasible"], r["p_cheapest_feasible_se"], 3) if r["admissible"] else "—"
        rows.append([r["rank"], _name(name, r), money_pm(r["objective"], r["objective_se"]), ok, cheapest, regret,
                     r["borderline"] or "—"])
    return header, rows


def _cost(m: pd.DataFrame) -> list[str]:
    lv = _level(m)
    header = ["strategy", "mean", "sd", "P5", "P50", "P95", f"VaR{lv}", f"CVaR{lv}", "P(cost > budget)"]
    rows = []
    for name, r in m.iterrows():
        budget = number_pm(r["p_over_budget"], r["p_over_budget_se"], 3) if np.isfinite(r["p_over_budget"]) else "no budget"
        rows.append([_name(name, r), money_pm(r["cost_mean"], r["cost_mean_se"]), money_pm(r["cost_sd"]),
                     _ci(r, "cost_p5"), _ci(r, "cost_p50"), _ci(r, "cost_p95"),
                     money_pm(r["cost_var"], r["cost_var_se"]), money_pm(r["cost_cvar"], r["cost_cvar_se"]), budget])
    return markdown_table("Cost of service (present value, USD)", header, rows)


def per_gpu_hour(row: pd.Series) -> str:
    """``$2.41 ± 0.03`` per delivered GPU-hour, or ``—`` when the run did not record the delivered GPU-hours."""
    value, se = row.get("usd_per_gpu_hour", np.nan), row.get("usd_per_gpu_hour_se", np.nan)
    return "—" if not np.isfinite(value) else "$" + number_pm(value, se, 2)


def _service(m: pd.DataFrame) -> list[str]:
    """Mean spend and shortfall next to the cost of service, delivered GPU-hours and spend per delivered GPU-hour."""
    header = ["strategy", "cost of service (mean)", "spend (mean)", "shortfall (mean)", "delivered GPU-hours (mean)",
              "spend per delivered GPU-hour"]
    rows = [[_name(name, r), money_pm(r["cost_mean"], r["cost_mean_se"]),
             money_pm(r["spend_mean"], r["spend_mean_se"]), money_pm(r["shortfall_mean"], r["shortfall_mean_se"]),
             number_pm(r["delivered_gpu_hours_mean"], r["delivered_gpu_hours_mean_se"], 0)
             if np.isfinite(r["delivered_gpu_hours_mean"]) else "—", per_gpu_hour(r)] for name, r in m.iterrows()]
    note = ["", "Spend per delivered GPU-hour is E[spend] / E[delivered GPU-hours] (a ratio of means; SE by the "
            "delta method on the paired paths). The shortfall is not in it: it prices the work *not* delivered."]
    return markdown_table("Spend and shortfall (present value, USD)", header, rows) + note


def _delay(m: pd.DataFrame) -> list[str]:
    header = ["strategy", "mean delay, days", "P50", "P95", f"CVaR{_level(m)} delay", "P(a run is late)",
              "P(on budget and on time)"]
    rows = [[_name(name, r), number_pm(r["delay_mean"], r["delay_mean_se"]), f"{r['delay_p50']:.2f}",
             f"{r['delay_p95']:.2f} [{r['delay_p95_lo']:.2f}, {r['delay_p95_hi']:.2f}]",
             number_pm(r["delay_cvar"], r["delay_cvar_se"]), number_pm(r["p_late"], r["p_late_se"], 3),
             number_pm(r["p_on_budget_and_time"], r["p_on_budget_and_time_se"], 3)] for name, r in m.iterrows()]
    return markdown_table("Delay and deadlines", header, rows)


def _cash(m: pd.DataFrame) -> list[str]:
    """Peak cumulative cash (undiscounted) and, with a funding, P(running out) before the next raise."""
    if "peak_cash_mean" not in m or not np.isfinite(m["peak_cash_mean"]).any():
        return []
    funding, month = m.attrs.get("funding_usd"), m.attrs.get("funding_month")
    header = ["strategy", "peak cash need (mean)", "P50", "P90", "P(out of cash)"]
    rows = [[_name(name, r), money_pm(r["peak_cash_mean"], r["peak_cash_mean_se"]),
             money_pm(r["peak_cash_p50"], r["peak_cash_p50_se"]), money_pm(r["peak_cash_p90"], r["peak_cash_p90_se"]),
             number_pm(r["p_out_of_cash"], r["p_out_of_cash_se"], 3) if np.isfinite(r["p_out_of_cash"])
             else "no funding set"] for name, r in m.iterrows()]
    until = f"before the raise at month {month}" if month is not None else "over the horizon"
    note = ["", "Peak cash need: the largest cumulative undiscounted spend at a month end (shortfall and the fleet's "
            "resale at the horizon excluded): what the plan must be able to pay at its worst. " + (
                f"P(out of cash) = P(cash spent {until} > {money_pm(funding)}) (`decision.funding_usd`, "
                "`decision.funding_month`)." if funding is not None else
                "Set `decision.funding_usd` (and `decision.funding_month`) to get P(running out of cash).")]
    return markdown_table("Cash and runway (undiscounted USD)", header, rows) + note


def _pairwise(analysis) -> list[str]:
    """The win matrix; rows and columns of strategies that fail a constraint are blank (masked in the analysis)."""
    win, win_se = analysis.comparisons["win"], analysis.comparisons["win_se"]
    excluded = set(win.attrs.get("inadmissible", []))

    def label(name):
        return f"{name}{EXCLUDED}" if name in excluded else name

    def cell(a, b):
        if a == b:
            return ""
        return number_pm(win.loc[a, b], win_se.loc[a, b], 3) if np.isfinite(win.loc[a, b]) else "—"

    rows = [[f"**{label(a)}**", *(cell(a, b) for b in win.columns)] for a in win.index]
    note = ["", f"— : not compared, fails a constraint: {', '.join(sorted(excluded))}."] if excluded else []
    table = markdown_table("Pairwise: P(row has the lower cost of service than column), path by path",
                           ["", *(label(c) for c in win.columns)], rows)
    return table + note


def _dominance(analysis, m: pd.DataFrame) -> list[str]:
    """Dominance among admissible strategies only (the analysis leaves the others out)."""
    failing = sorted(str(s) for s in m.index[~m["admissible"].astype(bool)])
    dominance = analysis.comparisons["dominance"]
    pairs = [f"- {d.dominant} dominates {d.dominated} ({d.order})" for d in dominance.itertuples()]
    note = ["", f"Strategies that fail a constraint are left out: {', '.join(failing)}."] if failing else []
    return ["", "## Stochastic dominance (lower cost of service is better)", "",
            *(pairs or ["No admissible strategy dominates another: each pair's cost distributions cross."]), *note]


def sensitivity_lines(analysis) -> list[str]:
    """``## Sensitivity``: the headline, the tornado table and the first-order indices (summary.md, report.html)."""
    out = ["", "## Sensitivity", "", analysis.headline, ""]
    if analysis.tornado is not None and len(analysis.tornado):
        out += _tornado_table(analysis.tornado, analysis.recommendation.objective)
    if analysis.indices is not None and len(analysis.indices):
        out += ["First-order indices (RBD-FAST on the per-path draws) of the per-path cost difference of the top two:",
                "", "| prior | S1 |", "|---|---|"]
        out += [f"| {name} | {number_pm(r['S1'], r['S1_se'], 3)} |" for name, r in analysis.indices.head(8).iterrows()]
    return out


def _tornado_table(t: pd.DataFrame, objective: str) -> list[str]:
    lo, hi = round(100 * t.attrs["low_quantile"]), round(100 * t.attrs["high_quantile"])
    out = [f"Margin ({objective}) of {t.attrs['pair'][1]} minus {t.attrs['pair'][0]} with each prior pinned "
           f"at its P{lo} and P{hi}: the main run's margin, {money_pm(t.attrs['base_margin'], t.attrs['base_margin_se'])}, "
           f"moved by the change each pin makes on {t.attrs['paths']:,} paths with the same random numbers:", "",
           f"| prior | P{lo} → P{hi} | margin at P{lo} | margin at P{hi} | flips the ranking |", "|---|---|---|---|---|"]
    for name, r in t.iterrows():
        out.append(f"| {name} | {r['low_value']:.4g} → {r['high_value']:.4g} "
                   f"| {money_pm(r['low_margin'], r['low_margin_se'])} "
                   f"| {money_pm(r['high_margin'], r['high_margin_se'])} | {r['flips']} |")
    return [*out, ""]


def _glossary() -> list[str]:
    return ["", "Cost of service: spend + priced shortfall (delay, late runs, unserved work). Delay: backlog-weighted "
            "wait of steady demand (plus the academic queue wait). P(late): a named "
            "training run finishes after its deadline. Regret: cost of service above the cheapest admissible "
            "strategy on the same path. Formulas: docstrings of simulator/stats/estimators.py, stats/compare.py, "
            "decision/recommend.py, decision/sensitivity.py."]


def knob_sweeps_markdown(lines: list[str], frontiers: list) -> str:
    """``## In-engine sweeps``: one line per sweep (its optimum under the decision, the set within noise, the
    infeasible variants), then a table per efficient frontier saying what each step of tail protection costs.

    ``frontiers``: frames of :func:`simulator.sweeps.optimum.frontier_frame` (columns variant, mean, mean_se, tail,
    tail_se, p_late, admissible, optimum, delta_mean, delta_tail, usd_per_tail, step_within_noise; attrs sweep,
    against, level).
    """
    if not lines:
        return ""
    text = ["", "## In-engine sweeps", ""] + [f"- {line}" for line in lines]
    for frame in frontiers:
        cvar = frame.attrs["against"] == "cvar"
        tail = f"CVaR{round(100 * frame.attrs['level'])}" if cvar else "P(late)"
        fmt = (lambda v, s=None: money_pm(v, s)) if cvar else (lambda v, s=None: number_pm(v, s, 3))
        rows = [[r.variant + (" (optimum)" if r.optimum else "") + ("" if r.admissible else EXCLUDED),
                 money_pm(r.mean, r.mean_se), fmt(r.tail, r.tail_se),
                 "" if i == 0 else money_pm(r.delta_mean), "" if i == 0 else fmt(r.delta_tail),
                 "" if i == 0 or not np.isfinite(r.usd_per_tail) else
                 (f"{r.usd_per_tail:,.2f}" if cvar else money_pm(r.usd_per_tail / 100))
                 + (" (within noise)" if i and r.step_within_noise else "")]
                for i, r in enumerate(frame.itertuples())]
        unit = "$ per $ of CVaR" if cvar else "$ per point of P(late)"
        text += markdown_table(f"Efficient frontier of sweep {frame.attrs['sweep']}: mean cost vs {tail}",
                               ["variant", "mean cost", tail, "Δ mean", f"Δ {tail}", unit], rows)
    return "\n".join(text) + "\n"
