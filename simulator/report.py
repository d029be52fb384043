"""Human summary: the per-strategy table, printed and written as ``summary.md``."""

from __future__ import annotations

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
