"""Paired comparisons between strategies, pathwise on the common random numbers.

Every strategy is simulated on the same paths (same workload, prices, interruptions and failures), so comparisons are
made path by path: "A is cheaper than B on 83% of paths" counts paths, and the standard error of a difference uses
the per-path differences, not the two marginal spreads. Inputs are ``cost`` arrays of shape ``(strategies, paths)``
(lower is better) and, where feasibility matters, a boolean mask of the same shape.

Notes
-----
For strategies ``a, b`` and paths ``i = 1..n`` (costs ``c_ai``):

* win probability ``P(a < b) = (1/n) sum_i w_i``, ``w_i = 1[c_ai < c_bi] + 1/2 1[c_ai = c_bi]`` (ties split), with
  standard error ``sd(w) / sqrt(n)`` (the paths are independent);
* ``P(a is the cheapest feasible) = (1/n) sum_i 1[a feasible on i and c_ai = min_{s feasible on i} c_si]``, ties
  shared equally, binomial SE;
* regret ``r_ai = c_ai - min_{s feasible on i} c_si`` (the cost of not having picked the best strategy in hindsight),
  expected regret ``(1/n) sum_i r_ai`` with SE ``sd(r_a) / sqrt(n)``;
* dominance for costs (lower is better), on the empirical distributions (equal ``n``, sorted costs ``c_a(k)``):
  pathwise: ``c_ai <= c_bi`` for every path; first order: ``F_a(t) >= F_b(t)`` for all ``t``, i.e. ``c_a(k) <= c_b(k)``
  for every rank ``k``; second order (increasing convex order, preferred by every risk-averse decision maker with an
  increasing convex disutility of cost): ``E(c_a - t)^+ <= E(c_b - t)^+`` for all ``t``, i.e. the sum of the ``k``
  largest costs of ``a`` is at most that of ``b`` for every ``k`` (``CVaR`` at every level). Each implies the next;
  the strongest that holds is reported, and only when it is strict somewhere.

Strategies that fail a constraint (``admissible[s]`` False) are never candidates: P(cheapest) and regret are taken
among the admissible ones, the win matrix's rows and columns of an inadmissible strategy are masked (NaN, listed in
the frame's ``attrs["inadmissible"]``), and the dominance table lists pairs of admissible strategies only, so no
pairwise view shows an inadmissible strategy as the winner.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from simulator.stats.estimators import se_of_mean


def win_probability(cost: np.ndarray, groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Matrix ``P[a, b] = P(cost_a < cost_b)`` over paths (ties count one half) and its standard errors.

    Parameters
    ----------
    cost : (S, n) array of per-path costs.

    Returns
    -------
    (P, SE), both (S, S); the diagonal is 0.5 with SE 0.
    """
    cost = np.asarray(cost, float)
    p, se = np.empty((len(cost), len(cost))), np.empty((len(cost), len(cost)))
    for a, row in enumerate(cost):  # one row at a time: memory stays (S, n)
        wins = (row < cost) + 0.5 * (row == cost)
        p[a], se[a] = wins.mean(axis=-1), se_of_mean(wins, axis=-1, groups=groups)
    return p, se


def _best_share(cost: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    """(S, n) share of each strategy in the pathwise minimum among feasible ones (ties split; 0 if none feasible)."""
    masked = np.where(feasible, cost, np.inf)
    best = masked.min(axis=0)
    is_best = feasible & (masked == best) & np.isfinite(best)
    count = is_best.sum(axis=0)
    return np.where(count > 0, is_best / np.maximum(count, 1), 0.0)


def cheapest_feasible_probability(
    cost: np.ndarray, feasible: np.ndarray | None = None, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """``P(s is the cheapest feasible strategy)`` per strategy, its SE, and ``P(no strategy is feasible)``.

    ``feasible`` is (S, n) or (S,) (the same on every path); default: all feasible.
    """
    cost = np.asarray(cost, float)
    feasible = _mask(feasible, cost.shape)
    share = _best_share(cost, feasible)
    return share.mean(axis=1), se_of_mean(share, axis=1, groups=groups), float(np.mean(~feasible.any(axis=0)))


def expected_regret(cost: np.ndarray, feasible: np.ndarray | None = None,
                    groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Expected regret per strategy against the pathwise best feasible strategy, and its SE.

    A strategy's regret is averaged over the paths where it is feasible itself (an infeasible strategy is not a
    candidate: NaN); paths where nothing is feasible are left out.
    """
    cost = np.asarray(cost, float)
    feasible = _mask(feasible, cost.shape)
    best = np.where(feasible, cost, np.inf).min(axis=0)
    regret = np.where(feasible & np.isfinite(best), cost - np.where(np.isfinite(best), best, 0.0), np.nan)
    count = np.sum(~np.isnan(regret), axis=1)
    mean, se = np.full(len(cost), np.nan), np.full(len(cost), np.nan)
    for s in np.flatnonzero(count > 0):
        kept = ~np.isnan(regret[s])
        mean[s], se[s] = regret[s][kept].mean(), se_of_mean(regret[s][kept], groups=None if groups is None else
                                                             np.asarray(groups)[kept])
    return mean, se


def dominance(a: np.ndarray, b: np.ndarray, *, rtol: float = 1e-12) -> str | None:
    """The strongest dominance of costs ``a`` over costs ``b`` (same paths): ``pathwise``, ``first-order``,
    ``second-order``, or ``None``. Dominance must be strict somewhere; ``rtol`` absorbs float rounding."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    tol = rtol * max(float(np.max(np.abs(a))), float(np.max(np.abs(b))), 1.0)
    if np.array_equal(a, b):
        return None
    if np.all(a <= b + tol) and np.any(a < b - tol):
        return "pathwise"
    sa, sb = np.sort(a), np.sort(b)
    if np.all(sa <= sb + tol) and np.any(sa < sb - tol):
        return "first-order"
    tail_a, tail_b = np.cumsum(sa[::-1]), np.cumsum(sb[::-1])
    scale = tol * np.arange(1, a.size + 1)
    if np.all(tail_a <= tail_b + scale) and np.any(tail_a < tail_b - scale):
        return "second-order"
    return None


def dominance_table(cost: np.ndarray, names: list[str], admissible: np.ndarray | None = None) -> pd.DataFrame:
    """Every ordered pair ``(dominant, dominated, order)`` of admissible strategies for which dominance holds."""
    rows = []
    keep = np.ones(len(names), bool) if admissible is None else np.asarray(admissible, bool)
    for i, j in itertools.permutations(np.flatnonzero(keep), 2):
        order = dominance(cost[i], cost[j])
        if order is not None:
            rows.append({"dominant": names[i], "dominated": names[j], "order": order})
    return pd.DataFrame(rows, columns=["dominant", "dominated", "order"])


def mask_inadmissible(frame: pd.DataFrame, admissible: np.ndarray | None) -> pd.DataFrame:
    """A pairwise (S x S) frame with the rows and columns of inadmissible strategies set to NaN; their names in
    ``attrs["inadmissible"]``."""
    keep = np.ones(len(frame), bool) if admissible is None else np.asarray(admissible, bool)
    masked = frame.where(np.outer(keep, keep))
    masked.attrs["inadmissible"] = [str(name) for name in frame.index[~keep]]
    return masked


def comparison_frames(
    cost: np.ndarray, names: list[str], feasible: np.ndarray | None = None, groups: np.ndarray | None = None
) -> dict[str, pd.DataFrame]:
    """All paired comparisons as labelled frames: ``win``/``win_se`` (S x S, row beats column, among admissible
    strategies), ``per_strategy`` (P(cheapest feasible), expected regret, with SEs) and ``dominance``.

    ``feasible``: (S,) admissible strategies, or (S, n) feasibility per path (then P(cheapest) and regret use it
    path by path, and the pairwise views keep every strategy). ``groups``: each path's scramble in a ``qmc`` run (the
    SEs are then the spread between scrambles, :mod:`simulator.stats.replicates`)."""
    admissible = None if feasible is None or np.ndim(feasible) != 1 else np.asarray(feasible, bool)
    win, win_se = win_probability(cost, groups)
    p_best, p_best_se, p_none = cheapest_feasible_probability(cost, feasible, groups)
    regret, regret_se = expected_regret(cost, feasible, groups)
    per_strategy = pd.DataFrame(
        {
            "p_cheapest_feasible": p_best,
            "p_cheapest_feasible_se": p_best_se,
            "expected_regret": regret,
            "expected_regret_se": regret_se,
        },
        index=pd.Index(names, name="strategy"),
    )
    per_strategy.attrs["p_none_feasible"] = p_none
    label = pd.Index(names, name="strategy")
    return {
        "win": mask_inadmissible(pd.DataFrame(win, index=label, columns=names), admissible),
        "win_se": mask_inadmissible(pd.DataFrame(win_se, index=label, columns=names), admissible),
        "per_strategy": per_strategy,
        "dominance": dominance_table(np.asarray(cost, float), names, admissible),
    }


def _mask(feasible: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    if feasible is None:
        return np.ones(shape, bool)
    feasible = np.asarray(feasible, bool)
    return np.broadcast_to(feasible[:, None] if feasible.ndim == 1 else feasible, shape)
