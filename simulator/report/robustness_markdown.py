"""summary.md's decision-risk lines and its "Robustness and value of information" section.

From :class:`~simulator.decision.robustness.Robustness` (``analysis.robustness``; absent in an analysis built
before it existed): the recommendation leads with decision risk (P(best on a path), expected regret, EVPI, the share
of the prior space where the ranking flips), before the margin's Monte Carlo SE; the section tabulates EVPPI per
group and per prior ("learning workload.* before deciding is worth $X ± SE") and states the PRIM box in words.
"""

from __future__ import annotations

import numpy as np

from simulator.report.format import money_pm, number_pm

TOP_PRIORS = 10  # priors listed in the EVPPI table (the largest); every group is listed


def _risk(analysis):
    return getattr(analysis, "robustness", None)


def decision_risk_lines(analysis) -> list[str]:
    """The decision-risk sentences that lead the recommendation (none without a robustness analysis)."""
    risk = _risk(analysis)
    if risk is None:
        return []
    first = (f"Decision risk: {risk.recommended} is the cheapest admissible strategy on "
             f"{number_pm(100 * risk.p_best, 100 * risk.p_best_se, 1)}% of paths")
    if risk.p_best_bound is not None:
        first += (f" (the first {risk.paths:,} paths kept; over all {risk.all_paths:,} paths at least "
                  f"{100 * max(risk.p_best_bound, 0.0):.1f}%, from the pairwise win rates)")
    lines = [first + f"; its expected regret (cost above the best strategy in hindsight, path by path) is "
             f"{money_pm(risk.regret, risk.regret_se)}."]
    info = risk.information
    if info is not None:
        text = f"Knowing everything before deciding would save {money_pm(info.evpi, info.evpi_se)} (EVPI)"
        flip, flip_se = risk.p_flip
        if np.isfinite(flip):
            text += (f"; on {number_pm(100 * flip, 100 * flip_se, 1)}% of the prior draws another strategy is "
                     "cheaper in expectation (the ranking flips there)")
        lines.append(text + ".")
    return lines


def _worth(name: str, value: float, se: float, z: float) -> str:
    if not value > z * se:
        return f"learning {name} before deciding: worth nothing this run can tell (within noise)"
    return f"learning {name} before deciding is worth {money_pm(value, se)}"


def robustness_section(analysis, z: float = 1.96) -> list[str]:
    """EVPI, the EVPPI table, its headline sentences and the PRIM box (empty without them)."""
    risk = _risk(analysis)
    info = risk.information if risk is not None else None
    if info is None:
        return []
    table = info.table
    groups = table[table["kind"] != "prior"]
    priors = table[table["kind"] == "prior"].head(TOP_PRIORS)
    out = ["", "## Robustness and value of information", "",
           f"EVPI (what knowing every prior and the path's own luck before deciding would save): "
           f"{money_pm(info.evpi, info.evpi_se)}, over {', '.join(info.strategies)} on {info.paths:,} paths. "
           f"EVPPI of a prior or a group: what learning it alone before deciding would save, "
           f"min_s E[C_s] - E[min_s E[C_s | prior]], by spline regression on the run's own draws "
           f"(bootstrap SEs over {info.resamples} resamples; 'within noise': below {z:.2f} SE).", ""]
    top = table[table["kind"] != "all"].head(3)
    out += [f"- {_worth(name, r['evppi'], r['evppi_se'], z)}" for name, r in top.iterrows()]
    cheapest = table[table["kind"] == "prior"].tail(1)
    out += [f"- {_worth(name, r['evppi'], r['evppi_se'], z)}" for name, r in cheapest.iterrows() if name not in top.index]
    out += ["", "| prior or group | EVPPI | share of EVPI |", "|---|---|---|"]
    for name, r in [*groups.iterrows(), *priors.iterrows()]:
        label = f"**{name}**" if r["kind"] != "prior" else name
        share = f"{100 * r['share_of_evpi']:.0f}%" if np.isfinite(r["share_of_evpi"]) else "—"
        out.append(f"| {label} | {money_pm(r['evppi'], r['evppi_se'])} | {share} |")
    if (table["share_of_evpi"] > 1.0).any():  # EVPPI <= EVPI in truth: an estimate above it is regression noise
        out += ["", "An EVPPI above the EVPI (share over 100%) is estimation noise (in truth EVPPI <= EVPI): the "
                "costs are too heavy-tailed for this many paths; run more paths before reading these values."]
    return out + _box_lines(risk)


def _box_lines(risk) -> list[str]:
    """Where the challenger beats the recommendation (PRIM), in words."""
    box = risk.box
    if box is None or risk.challenger is None:
        return []
    head = f"Where {risk.challenger} beats {risk.recommended} (PRIM on the prior draws; it does on {box.base_rate:.0%} of paths): "
    if not box.bounds:
        return ["", head + "no prior separates those paths from the others (none passes the rank-sum screen), so "
                "it is the paths' own luck, or priors acting only jointly."]
    return ["", head + f"{risk.challenger} wins when {box.describe()}: coverage "
            f"{box.coverage:.0%}, density {box.density:.0%} (in-sample, on {box.paths:,} paths; {box.mass:.0%} of "
            "them lie in the box)."]
