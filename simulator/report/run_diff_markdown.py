"""The text of ``python -m simulator.diff``: Markdown tables of what changed between two runs
(:mod:`simulator.decision.run_diff`)."""

from __future__ import annotations

import pandas as pd

from simulator.report.format import markdown_table, money_pm, number_pm

METRIC_LABELS = {"mean_cost": "mean cost", "p_late": "P(late)", "cvar": "CVaR"}


def _cell(value) -> str:
    text = str(value) if value is not None else "(absent)"
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 80 else text[:77] + "..."


def _money_or_p(metric: str, value: float, se: float | None = None) -> str:
    return number_pm(value, se, decimals=3) if metric == "p_late" else money_pm(value, se)


def diff_markdown(name_a: str, name_b: str, config: pd.DataFrame, changes: dict, *, decisions, level: float,
                  paths: tuple[int, int]) -> str:
    """The report: the config diff, the recommendation and margin, the ranking, the key metrics, with SEs and
    which SE was used (paired or independent)."""
    dec_a, dec_b = decisions
    se_kind = ("paired: same seed and the same kept paths (common random numbers), SE = sd(psi_B - psi_A) / sqrt(n)"
               if changes["paired"] else "independent: different seeds or paths, SE = sqrt(SE_A^2 + SE_B^2)")
    lines = [f"# {name_b} vs {name_a}", "", f"A = `{name_a}` ({paths[0]} kept paths), B = `{name_b}` "
             f"({paths[1]} kept paths). Changes are B - A; SEs of the changes are {se_kind}."]
    rows = [[f"`{k}`", _cell(a), _cell(b)] for k, a, b in config.itertuples(index=False)]
    lines += markdown_table("What changed in the configuration", ["key", "A", "B"], rows or [["(nothing)", "", ""]])
    margin = changes["margin"]
    rows = [["best", dec_a.best or "—", dec_b.best or "—", "same" if dec_a.best == dec_b.best else "changed"],
            ["runner-up", dec_a.runner_up or "—", dec_b.runner_up or "—",
             "same" if dec_a.runner_up == dec_b.runner_up else "changed"]]
    if margin is not None:
        z = margin.change / margin.se if margin.se > 0 else float("nan")
        rows.append(["margin (runner-up - best)", money_pm(margin.a), money_pm(margin.b),
                     f"{money_pm(margin.change, margin.se)} (z = {z:.2f})"])
    lines += markdown_table(f"Recommendation ({dec_b.objective} objective)", ["", "A", "B", "change"], rows)
    rows = [[r.strategy, f"{r.rank_a}{'' if r.admissible_a else ' (x)'}", f"{r.rank_b}{'' if r.admissible_b else ' (x)'}",
             money_pm(r.objective_a), money_pm(r.objective_b), money_pm(r.change, r.change_se)]
            for r in changes["ranking"].itertuples(index=False)]
    lines += markdown_table("Ranking ((x): fails a constraint)", ["strategy", "rank A", "rank B", "objective A",
                                                                   "objective B", "change"], rows)
    table = changes["metrics"]
    header = ["strategy"] + [f"{METRIC_LABELS[m]}{f' {level:g}' if m == 'cvar' else ''} change"
                             for m in METRIC_LABELS if m in set(table["metric"])]
    rows = []
    for strategy, group in table.groupby("strategy", sort=False):
        cells = {r.metric: f"{_money_or_p(r.metric, r.a)} -> {_money_or_p(r.metric, r.b)}: "
                           f"{_money_or_p(r.metric, r.change, r.change_se)}" for r in group.itertuples(index=False)}
        rows.append([strategy] + [cells[m] for m in METRIC_LABELS if m in cells])
    lines += markdown_table("Key metrics (A -> B: change ± SE)", header, rows)
    for side, names in (("A", changes["only_a"]), ("B", changes["only_b"])):
        if names:
            lines += ["", f"Only in {side}: {', '.join(names)}."]
    return "\n".join(lines) + "\n"
