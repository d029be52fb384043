"""The terminal summary printed at the end of a command-line run: a rich ranking table and the recommendation."""

from __future__ import annotations

import sys

from simulator.report.format import money_pm, number_pm
from simulator.report.markdown import recommendation_lines


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
    for line in recommendation_lines(analysis):
        console.print(line.replace("**", ""))
    console.print(f"Precision: {analysis.precision}.")
    console.print(f"Sensitivity: {analysis.headline}")
    console.print(f"outputs: {out_dir}")
