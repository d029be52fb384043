"""What is worth learning before deciding: EVPI, and EVPPI per prior and per group, from the run's own draws.

Every path drew its own value of every prior (``param_*`` in the results, for the first ``report.path_level_paths``
paths), so the conditional expected cost of each strategy given a prior is estimated by regression on those draws,
with no nested simulation (Strong, Oakley and Brennan 2014, "Estimating multiparameter partial expected value of
perfect information from a probabilistic sensitivity analysis sample", *Medical Decision Making* 34(3)).

Notes
-----
Costs ``C_si`` of the admissible strategies ``s`` on paths ``i = 1..n`` (lower is better; risk neutral, so the
expectations are means whatever ``decision.objective`` ranks by):

* ``EVPI = min_s E[C_s] - E[min_s C_s]``: what knowing everything (priors and the path's luck) before deciding would
  save. Estimate: ``min_s mean_i C_si - mean_i min_s C_si``, which is the mean regret of the strategy with the
  lowest mean cost.
* ``EVPPI(theta_J) = min_s E[C_s] - E_theta_J[min_s g_s(theta_J)]``, ``g_s(theta_J) = E[C_s | theta_J]``: what
  learning the priors ``J`` (one prior, or a group such as ``workload.*``) before deciding would save. ``g`` is
  fitted to the differences ``D_si = C_si - C_ri`` (``r`` the strategy of lowest mean; ``D_r = 0``) by an additive
  natural cubic spline in ``theta_J`` (:mod:`simulator.stats.splines`), and the estimate is
  ``min_s mean_i g_s(theta_iJ) - mean_i min_s g_s(theta_iJ)`` (the reference cancels). ``0 <= EVPPI <= EVPI``.
* Over-fitting: a design of ``p`` columns needs ``n >= 20 p`` paths; otherwise each prior enters linearly, and a
  set still too wide for that (a large group on few paths) is left out of the table.
* "all priors": the same on every relevant prior at once (additive, 3 knots each); its EVPPI is the value of
  resolving the epistemic uncertainty, the rest of EVPI is the paths' own (aleatory) luck. Relevant: the prior is
  correlated with some difference ``D_s``, ``|r| sqrt(n) > 3`` (Pearson, or Spearman on ranks, either); with dozens
  of priors, fitting every one at once overfits (78 priors on 8,192 paths: EVPPI 108% of EVPI), and the few
  irrelevant priors that pass the screen by chance (0.3% of tests) cost little.
* Standard errors: bootstrap over paths (``resamples`` resamples with replacement, each refitted; the SE is the SD
  of the replicates), which carries the noise of the regression and of the choice of the best strategy.
* Bias: a fit to finite paths picks up noise, so an irrelevant prior's estimate is small but positive, of the order
  of its SE; a value below ``z SE`` is reported as "within noise" (worth nothing that this run can tell).

This module does not run the engine; :mod:`simulator.decision.analyse` calls :func:`value_of_information`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from simulator.stats.splines import additive_basis, bootstrap_weights, fit

Statistic = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (fitted (B, S, n), weights (B, n)) -> (B,)
ALL = "all priors"
JOINT_KNOTS = 3  # per prior in the all-priors fit: linear plus one curvature term
MIN_PATHS_PER_COLUMN = 20  # the all-priors fit needs this many paths per column of its design
CHUNK = 10  # bootstrap resamples fitted at once


def _mean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted means over paths: ``x (B, [S,] n)``, ``w (B, n)`` -> ``(B, [S])`` (``einsum``, not BLAS: small
    products are faster unthreaded on busy cores)."""
    total = w.sum(axis=-1)
    if x.ndim == 3:
        return np.einsum("bsn,bn->bs", x, w) / total[:, None]
    return np.einsum("bn,bn->b", x, w) / total


def evpi(cost: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """``min_s mean_w C_s - mean_w min_s C_s`` of costs ``(S, n)``, one value per row of ``weights (B, n)``
    (default: one row of ones)."""
    cost = np.asarray(cost, float)
    w = np.ones((1, cost.shape[1])) if weights is None else np.atleast_2d(weights)
    return evppi_of_fit(np.broadcast_to(cost, (len(w), *cost.shape)), w)


def evppi_of_fit(fitted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``min_s mean_w g_s - mean_w min_s g_s`` of fitted conditional costs ``(B, S, n)``."""
    return np.min(_mean(fitted, weights), axis=1) - _mean(fitted.min(axis=1), weights)


def flip_share(recommended: int) -> Statistic:
    """The statistic ``mean_w 1[min_{s != r} g_s < g_r]``: the share of prior draws where another strategy is
    cheaper in expectation than the recommended ``r``."""

    def share(fitted: np.ndarray, weights: np.ndarray) -> np.ndarray:
        others = np.delete(fitted, recommended, axis=1)
        return _mean((others.min(axis=1) < fitted[:, recommended]).astype(float), weights)

    return share


def bootstrap(design: np.ndarray, differences: np.ndarray, statistics: Mapping[str, Statistic],
              weights: np.ndarray) -> dict[str, tuple[float, float]]:
    """Each statistic of the fit of ``differences (S, n)`` on ``design``, and its bootstrap SE over the resamples
    ``weights (B, n)`` (fitted :data:`CHUNK` at a time)."""
    point = fit(design, differences)
    out = {name: [float(statistic(point, np.ones((1, design.shape[0])))[0])] for name, statistic in statistics.items()}
    replicates: dict[str, list] = {name: [] for name in statistics}
    for start in range(0, len(weights), CHUNK):
        w = weights[start : start + CHUNK]
        fitted = fit(design, differences, w)
        for name, statistic in statistics.items():
            replicates[name].extend(statistic(fitted, w))
    for name in statistics:
        out[name].append(float(np.std(replicates[name], ddof=1)) if len(weights) > 1 else float("nan"))
    return {name: (value, se) for name, (value, se) in out.items()}


def groups_of(names: list[str]) -> dict[str, list[str]]:
    """Priors by group, the first part of the dotted name (``workload.growth`` -> ``workload.*``); groups of two
    or more priors only."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(f"{name.split('.')[0]}.*", []).append(name)
    return {g: members for g, members in groups.items() if len(members) > 1}


def relevant(draws: Mapping[str, np.ndarray], differences: np.ndarray, z: float = 3.0) -> list[str]:
    """Priors correlated with some row of ``differences (S, n)``: ``|r| sqrt(n) > z``, Pearson or Spearman."""
    n = differences.shape[1]
    d = differences[np.ptp(differences, axis=1) > 0]
    if not len(d):
        return []
    ranks = np.argsort(np.argsort(d, axis=1), axis=1).astype(float)
    out = []
    for name, values in draws.items():
        x = np.asarray(values, float)[:n]
        r = [np.abs(_correlation(u, v)).max() for u, v in ((x, d), (np.argsort(np.argsort(x)).astype(float), ranks))]
        if max(r) * np.sqrt(n) > z:
            out.append(name)
    return out


def _correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``x (n,)`` with each row of ``y (S, n)``."""
    xc, yc = x - x.mean(), y - y.mean(axis=1, keepdims=True)
    return (yc @ xc) / np.sqrt((xc @ xc) * np.einsum("sn,sn->s", yc, yc))


def design_of(columns: list[np.ndarray], n: int, knots: int) -> np.ndarray | None:
    """Additive spline design of ``columns`` with ``knots`` knots each, or with linear terms when the paths are
    fewer than :data:`MIN_PATHS_PER_COLUMN` per column, or None when even that is too many columns (over-fitting
    would bias EVPPI up)."""
    columns = [c[:n] for c in columns]
    for count in (knots, 2):  # 2 knots: linear
        design = additive_basis(columns, count)
        if n >= MIN_PATHS_PER_COLUMN * design.shape[1]:
            return design
    return None


@dataclasses.dataclass(frozen=True)
class Information:
    """EVPI and the EVPPI table of one run (see module Notes)."""

    strategies: tuple[str, ...]  # the admissible strategies compared
    evpi: float
    evpi_se: float
    table: pd.DataFrame  # index: prior, group ("workload.*") or "all priors"; kind, evppi, evppi_se, share_of_evpi
    paths: int
    resamples: int
    p_flip: float = float("nan")  # share of prior draws where another strategy beats the recommendation in expectation
    p_flip_se: float = float("nan")


def value_of_information(
    cost: np.ndarray,
    strategies: tuple[str, ...],
    draws: Mapping[str, np.ndarray],
    *,
    recommended: int | None = None,
    knots: int = 7,
    resamples: int = 100,
    seed: int = 0,
) -> Information:
    """EVPI, EVPPI of each prior, of each group and of all priors together, with bootstrap SEs.

    Parameters
    ----------
    cost : (S, n) costs of the admissible strategies on the kept paths (the first ``n`` draws are theirs).
    strategies : their names.
    draws : per-path draws of each prior, ``(>= n,)`` (:func:`simulator.decision.sensitivity.parameter_draws`).
    recommended : index of the recommended strategy in ``cost``, for the share of prior draws where the ranking
        flips (:func:`flip_share` on the all-priors fit); None: not computed.
    knots, resamples, seed : spline knots per prior, bootstrap resamples and their seed.

    The fits run with one BLAS thread: their products are small, and threads make them many times slower on a
    busy machine.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _value_of_information(np.asarray(cost, float), tuple(strategies), draws, recommended, knots,
                                     resamples, seed)


def _value_of_information(cost, strategies, draws, recommended, knots, resamples, seed) -> Information:
    n = cost.shape[1]
    weights = bootstrap_weights(n, resamples, seed)
    value, value_se = float(evpi(cost)[0]), float(np.std(evpi(cost, weights), ddof=1))
    reference = int(np.argmin(cost.mean(axis=1)))
    differences = cost - cost[reference]  # (S, n)
    rows = []
    sets = [(name, "prior", [name]) for name in draws]
    sets += [(group, "group", members) for group, members in groups_of(list(draws)).items()]
    for name, kind, members in sets:
        design = design_of([draws[m] for m in members], n, knots)
        if design is None:
            continue
        (estimate, se), = bootstrap(design, differences, {"evppi": evppi_of_fit}, weights).values()
        rows.append(dict(name=name, kind=kind, evppi=estimate, evppi_se=se))
    p_flip = p_flip_se = float("nan")
    chosen = relevant(draws, differences)
    design = design_of([draws[name] for name in chosen], n, JOINT_KNOTS) if chosen else None
    if design is not None:
        statistics = {"evppi": evppi_of_fit}
        if recommended is not None:
            statistics["flip"] = flip_share(recommended)
        out = bootstrap(design, differences, statistics, weights)
        rows.append(dict(name=ALL, kind="all", evppi=out["evppi"][0], evppi_se=out["evppi"][1]))
        p_flip, p_flip_se = out.get("flip", (p_flip, p_flip_se))
    columns = ["name", "kind", "evppi", "evppi_se"]
    table = pd.DataFrame(rows, columns=columns).set_index("name").sort_values("evppi", ascending=False)
    table["share_of_evpi"] = table["evppi"] / value if value > 0 else np.nan
    return Information(tuple(strategies), value, value_se, table, n, resamples, p_flip, p_flip_se)
