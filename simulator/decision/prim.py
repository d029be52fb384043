"""Scenario discovery: the box of prior values in which another strategy beats the recommendation (PRIM).

The Patient Rule Induction Method (Friedman and Fisher 1999, "Bump hunting in high-dimensional data", *Statistics
and Computing* 9; as in EMA Workbench's ``analysis.prim``, Kwakkel 2017) on the run's own per-path prior draws:
which region of the prior space holds the paths where the *target* (say, "owning is cheaper than renting on this
path") is true? Written here rather than taken from ``ema_workbench``, whose required dependencies (platypus-opt,
statsmodels, scikit-learn, SALib pins...) are far heavier than the ~100 lines it takes.

Notes
-----
Draws ``x_i`` (``d`` priors) and a boolean target ``y_i`` on paths ``i = 1..n``. A box ``B`` restricts some priors
to intervals ``[l_j, u_j]``. Its *coverage* is ``sum_{i in B} y_i / sum_i y_i`` (the share of the target paths it
holds), its *density* ``mean_{i in B} y_i`` (the share of its paths that are target paths), its *mass* ``|B| / n``.

Peeling: from the box of all draws, each step considers, for every prior, removing the paths below its
``alpha``-quantile or above its ``(1 - alpha)``-quantile within the box (``alpha = peel``, 5%; ties at a quantile
removed only when nothing else would be), and keeps the removal that raises the density most; it stops when the
box's mass would fall below ``min_mass``. Of the boxes on this trajectory with a coverage of at least
``min_coverage``, the one reported is the largest (first) whose density is within one binomial SE of the densest
one's, ``d >= d_max - sqrt(d_max (1 - d_max) / |B_max|)`` (a one-SE rule: the last peels of a noisy target buy
density by fitting noise).

Screening: PRIM peels only the priors whose draws differ between the target paths and the others, by the
Mann-Whitney rank-sum statistic ``z = (U - n_1 n_0 / 2) / sqrt(n_1 n_0 (n + 1) / 12)`` (``U`` the rank sum of the
``n_1`` target paths minus ``n_1 (n_1 + 1) / 2``), ``|z| > screen_z`` (3: few of many irrelevant priors pass by
chance), at most ``max_priors`` of them (largest ``|z|``): with dozens of priors, peeling every one fits noise.
A prior that matters only jointly with another (no marginal shift) is missed by the screen.

Simplifying: a restriction whose removal lowers the density by less than one binomial SE of it,
``sqrt(d (1 - d) / |B|)`` (the larger of the SEs of the box with and without it), is dropped (the least useful first, repeatedly), so that the box names the priors that
matter rather than every prior a noisy peel touched. Coverage and density are in-sample: optimistic for a box
tuned on the same paths.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
from scipy.stats import rankdata


@dataclasses.dataclass(frozen=True)
class Box:
    """A PRIM box: per restricted prior its ``(low, high)`` bounds (``-inf``/``inf`` where open)."""

    bounds: dict[str, tuple[float, float]]
    coverage: float
    density: float
    mass: float
    base_rate: float  # density of all paths: the share of target paths
    paths: int

    def describe(self, digits: int = 3) -> str:
        """The box in words: ``workload.growth < 1.8 and 2.6 < providers.x.on_demand``."""
        parts = []
        for name, (low, high) in self.bounds.items():
            if np.isfinite(low) and np.isfinite(high):
                parts.append(f"{low:.{digits}g} < {name} < {high:.{digits}g}")
            elif np.isfinite(low):
                parts.append(f"{name} > {low:.{digits}g}")
            else:
                parts.append(f"{name} < {high:.{digits}g}")
        return " and ".join(parts) if parts else "anywhere (no prior separates it)"


def _inside(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.all((x >= low) & (x <= high), axis=1)


def _peel_once(x: np.ndarray, y: np.ndarray, inside: np.ndarray, alpha: float):
    """The removal (prior, side, new bound) that raises the box's density most, or None when nothing can go."""
    xb, yb = x[inside], y[inside].astype(float)
    best, best_density = None, -np.inf
    for side, q in (("low", alpha), ("high", 1.0 - alpha)):
        cut = np.quantile(xb, q, axis=0, method="lower" if side == "low" else "higher")
        for j in range(x.shape[1]):
            column = xb[:, j]
            keep = column >= cut[j] if side == "low" else column <= cut[j]
            if keep.all():  # ties at the quantile: remove the tied extreme values instead
                keep = column > cut[j] if side == "low" else column < cut[j]
            if keep.all() or not keep.any() or keep.mean() < 0.5:
                continue
            density = yb[keep].mean()
            if density > best_density:
                bound = column[keep].min() if side == "low" else column[keep].max()
                best, best_density = (j, side, bound), density
    return best


def _stats(y: np.ndarray, inside: np.ndarray) -> tuple[float, float, float]:
    """Coverage, density and mass of a box."""
    hits = y[inside].sum()
    return float(hits / max(y.sum(), 1)), float(hits / max(inside.sum(), 1)), float(inside.mean())


def screen(draws: Mapping[str, np.ndarray], target: np.ndarray, z: float = 3.0, top: int = 8) -> list[str]:
    """The priors whose draws shift between target and other paths, ``|z| > z`` (see module Notes), largest first."""
    y = np.asarray(target, bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return []
    scores = {}
    for name, values in draws.items():
        u = rankdata(np.asarray(values, float)[: y.size])[y].sum() - n1 * (n1 + 1) / 2
        scores[name] = abs(u - n1 * n0 / 2) / np.sqrt(n1 * n0 * (y.size + 1) / 12)
    passed = sorted((name for name, score in scores.items() if score > z), key=lambda name: -scores[name])
    return passed[:top]


def _se(density: float, count: int) -> float:
    """Binomial SE of a box's density over its ``count`` paths."""
    return float(np.sqrt(density * (1 - density) / max(count, 1)))


def _simplify(x: np.ndarray, y: np.ndarray, low: np.ndarray, high: np.ndarray, full: tuple) -> None:
    """Drop restrictions worth less than one SE of density (in place on ``low``/``high``; see module Notes)."""
    while True:
        inside = _inside(x, low, high)
        _, density, _ = _stats(y, inside)
        candidates = []
        for j in np.flatnonzero((low > full[0]) | (high < full[1])):
            lo, hi = low.copy(), high.copy()
            lo[j], hi[j] = full[0][j], full[1][j]
            wider = _inside(x, lo, hi)
            looser = _stats(y, wider)[1]
            candidates.append((density - looser - max(_se(density, inside.sum()), _se(looser, wider.sum())), j))
        if not candidates or min(candidates)[0] >= 0:
            return
        j = min(candidates)[1]
        low[j], high[j] = full[0][j], full[1][j]


def prim(draws: Mapping[str, np.ndarray], target: np.ndarray, *, peel: float = 0.05, min_mass: float = 0.05,
         min_coverage: float = 0.5, screen_z: float = 3.0, max_priors: int = 8) -> Box:
    """The PRIM box of ``target`` (boolean per path) in the prior draws of the screened priors (see module Notes)."""
    y = np.asarray(target, bool)
    names = screen(draws, y, screen_z, max_priors)
    x = np.column_stack([np.asarray(draws[name], float)[: y.size] for name in names]) if names else np.zeros((y.size, 0))
    full = (x.min(axis=0), x.max(axis=0))
    low, high = full[0].copy(), full[1].copy()
    trajectory = [(low.copy(), high.copy(), *_stats(y, np.ones(y.size, bool)))]
    while names and y.any():
        step = _peel_once(x, y, _inside(x, low, high), peel)
        if step is None:
            break
        j, side, bound = step
        lo, hi = low.copy(), high.copy()
        (lo if side == "low" else hi)[j] = bound
        coverage, density, mass = _stats(y, _inside(x, lo, hi))
        if mass < min_mass:
            break
        low, high = lo, hi
        trajectory.append((low.copy(), high.copy(), coverage, density, mass))
    eligible = [t for t in trajectory if t[2] >= min_coverage] or trajectory[:1]
    densest = max(eligible, key=lambda t: t[3])
    floor = densest[3] - _se(densest[3], round(densest[4] * y.size))
    low, high = (a.copy() for a in next(t for t in eligible if t[3] >= floor)[:2])
    _simplify(x, y, low, high, full)
    coverage, density, mass = _stats(y, _inside(x, low, high))
    bounds = {names[j]: (float(low[j]) if low[j] > full[0][j] else -np.inf,
                         float(high[j]) if high[j] < full[1][j] else np.inf)
              for j in np.flatnonzero((low > full[0]) | (high < full[1]))}
    return Box(bounds, coverage, density, mass, float(y.mean()) if y.size else float("nan"), int(y.size))
