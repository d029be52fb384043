"""The terminal summary printed at the end of a command-line run: a rich ranking table and the recommendation.

Costs are costs of service (spend + priced shortfall); the table shows mean spend and shortfall beside them and the
spend per delivered GPU-hour. A strategy that fails a constraint is dimmed, marked ``(excluded)`` and has no
P(cheapest)."""

from __future__ import annotations

import sys

from simulator.report.format import money_pm, number_pm
from simulator.report.markdown import EXCLUDED, per_gpu_hour, recommendation_lines


def print_terminal(analysis, *, scenario: str, out_dir: str, console=None) -> None:
    """The terminal summary: a rich ranking table, the recommendation and the sensitivity headline."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 160)
    m, rec = analysis.metrics.sort_values("rank"), analysis.recommendation
    lv = round(100 * m.attrs.get("level", 0.95))
    table = Table(title=f"gpu-risk · scenario {scenario} · {analysis.paths:,} paths", box=box.SIMPLE_HEAVY)
    for column in ("rank", "strategy", rec.objective, f"CVaR{lv} cost", "spend", "shortfall", "$/GPU-h",
                   "P(run late)", "mean delay, d", "P(cheapest)", "constraints"):
        table.add_column(column, justify="left" if column in ("strategy", "constraints") else "right")
    for name, r in m.iterrows():
        admissible = bool(r["admissible"])
        style = "bold green" if name == rec.best else (None if admissible else "dim")
        table.add_row(
            str(r["rank"]), str(name) if admissible else f"{name}{EXCLUDED}",
            money_pm(r["objective"], r["objective_se"]), money_pm(r["cost_cvar"], r["cost_cvar_se"]),
            money_pm(r["spend_mean"], r["spend_mean_se"]), money_pm(r["shortfall_mean"], r["shortfall_mean_se"]),
            per_gpu_hour(r), number_pm(r["p_late"], r["p_late_se"], 3),
            number_pm(r["delay_mean"], r["delay_mean_se"]),
            f"{r['p_cheapest_feasible']:.3f}" if admissible else "—",
            "ok" if admissible else f"fails {r['failed']}", style=style,
        )
    console.print(table)
    console.print("cost = cost of service: spend + priced shortfall (delay, late runs, unserved work); "
                  "$/GPU-h = E[spend] / E[delivered GPU-hours]", markup=False)
    for line in recommendation_lines(analysis):
        console.print(line.replace("**", ""))
    console.print(f"Precision: {analysis.precision}.")
    console.print(f"Sensitivity: {analysis.headline}")
    console.print(f"outputs: {out_dir}")
