"""Which priors move the decision: first-order variance indices and a tornado of the top-two margin.

Two complementary views of the same question, "what would change the recommendation?":

* **First-order indices**, free: every path drew its own value of every prior (``param_*`` in the results), so the
  share of the variance of the per-path cost difference between the top two strategies explained by each prior is
  estimated from the run's own draws (given data), with SALib's RBD-FAST/EASI estimator.
* **Tornado**, a few extra engine runs: each of the most influential priors is pinned at its low and then its high
  quantile, and the top two strategies are re-run on the same paths and seed (common random numbers). The bar is
  the margin ``J(runner-up) - J(best)`` at each end; a bar that crosses zero flips the ranking. The re-runs are a
  :class:`Rerun` passed in by the caller: this module never runs the engine.

Notes
-----
First-order (Sobol) index of prior ``X_j`` for ``Y = c_runner-up - c_best`` per path:
``S_j = Var(E[Y | X_j]) / Var(Y)``. RBD-FAST on given data (Plischke 2010, EASI; SALib ``rbd_fast``): the paths are
sorted by ``X_j`` and folded into a periodic sequence (odd ranks up, even ranks down), ``Y`` is read in that order,
and ``S_j`` is the power of its first ``M`` harmonics over its total power, ``sum_{k=1..M} P_k / sum_{k>=1} P_k``,
debiased as ``S - 2M/(n - 2M) (1 - S)`` (Tissot and Prieur 2012). SALib's interval comes from a bootstrap on
half-size resamples (``z sd_{n/2}``); the standard error reported here rescales it to ``n`` paths:
``SE(S_j) = conf / (z sqrt(2)) = sd_{n/2} / sqrt(2)``. The estimator and its bootstrap are SALib's, computed with
the resamples as rows of one array (:func:`_rbd_fast`). Since the paths also carry step-to-step (aleatory) noise, ``sum_j S_j <= 1`` and
the rest is interactions plus aleatory variance.

Tornado: prior ``j`` pinned at ``F_j^-1(q)`` (``q`` = low or high quantile) by clipping its draws to that value, so
the engine does not recompile; the margin ``m_j(q)`` and its pathwise SE as in :func:`simulator.decision.metrics.margin`; the change
``m_j(q) - m_base`` has SE ``sd(psi_j(q) - psi_base) / sqrt(n)``, pathwise across the two runs (same paths). The
bar shown is ``M + m_j(q) - m_base``, ``M`` the main run's margin (a control variate: the few tornado paths only
measure the change), with SE ``sqrt(SE(M)^2 + SE(change)^2)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import pandas as pd
import xarray as xr

from simulator.config.schema import DecisionConfig
from simulator.decision.metrics import margin
from simulator.decision.outcomes import PathOutcomes
from simulator.stats.estimators import se_of_mean, z_value
from simulator.stats.replicates import path_groups


def parameter_draws(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """Per-path draws of every prior that varies across paths, by dotted name (``market.drift_per_year``)."""
    out = {}
    for name in ds.data_vars:
        if str(name).startswith("param_"):
            values = ds[name].values.astype(float)
            if values.size > 1 and np.ptp(values) > 0:
                out[str(name)[len("param_") :].replace("__", ".")] = values
    return out


def first_order_indices(
    parameters: Mapping[str, np.ndarray],
    y: np.ndarray,
    *,
    harmonics: int = 10,
    resamples: int = 100,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """First-order indices ``S_j`` of ``y`` with respect to each parameter, with SEs (see module Notes).

    ``confidence`` does not change the SE (SALib's interval is ``z`` times it); it is kept for callers.

    Returns a frame indexed by parameter, sorted by ``S1`` (largest first), columns ``S1``, ``S1_se``.
    """
    names = list(parameters)
    y = np.asarray(y, float)
    if not names or y.size <= 2 * harmonics + 1 or np.ptp(y) == 0:
        return pd.DataFrame(
            {"S1": np.zeros(len(names)), "S1_se": np.nan}, index=pd.Index(names, name="prior")
        )
    rng = np.random.default_rng(seed)
    s1, sd = np.empty(len(names)), np.empty(len(names))
    for j, name in enumerate(names):  # SALib's order of draws: parameter by parameter
        s1[j], sd[j] = _rbd_fast(np.asarray(parameters[name], float), y, harmonics, resamples, rng)
    frame = pd.DataFrame({"S1": s1, "S1_se": sd / np.sqrt(2)}, index=pd.Index(names, name="prior"))
    return frame.sort_values("S1", ascending=False)


def _rbd_fast(x: np.ndarray, y: np.ndarray, harmonics: int, resamples: int,
              rng: np.random.Generator) -> tuple[float, float]:
    """RBD-FAST ``S_j`` of ``y`` on one parameter ``x`` (debiased) and the sd of its half-size bootstrap.

    SALib's ``rbd_fast.analyze`` (same estimator, same resamples drawn from ``rng`` in the same order: equal to it
    within float rounding where ``x`` has no ties, ``tests/decision/test_sensitivity.py``), computed with the
    resamples as rows of one array instead of a Python loop of 100 sorts and FFTs per prior. A resample's values in
    the order of ``x`` are the full sample's, each repeated as often as it was drawn (no sort per resample); among
    paths with equal ``x`` (a prior clipped at a bound) that order is by path rank, where SALib's sort leaves it
    arbitrary.
    """
    from scipy.signal import periodogram

    def s1(y_by_x: np.ndarray) -> np.ndarray:
        """Debiased index from ``y`` in increasing order of ``x`` (rows: samples)."""
        folded = np.concatenate([y_by_x[..., ::2], y_by_x[..., 1::2][..., ::-1]], axis=-1)  # odd ranks up, even down
        _, power = periodogram(folded, axis=-1)
        raw = power[..., 1:harmonics + 1].sum(axis=-1) / power[..., 1:].sum(axis=-1)
        lamb = 2 * harmonics / y_by_x.shape[-1]
        return raw - lamb / (1 - lamb) * (1 - raw)

    n, half = x.size, x.size // 2
    order = np.argsort(x)
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    index = rng.choice(n, replace=True, size=(resamples, half))
    counts = np.bincount((rank[index] + n * np.arange(resamples)[:, None]).ravel(), minlength=resamples * n)
    resampled = np.repeat(np.tile(y[order], resamples), counts).reshape(resamples, half)
    return float(s1(y[order])), float(s1(resampled).std(ddof=1))


class Rerun(Protocol):
    """Re-runs two strategies on the same paths and seed (common random numbers) with some priors pinned; built by
    the caller from the engine (:class:`simulator.app.tornado_rerun.EngineRerun`), so the analysis never runs it.
    ``scrambles``: ``engine.qmc_scrambles`` of a ``qmc`` run, 0 (or absent) for ``mc``."""

    paths: int

    def prior_quantile(self, name: str, q: float) -> float:
        """The ``q``-quantile of prior ``name``."""
        ...

    def __call__(self, pair: tuple[str, str], pinned: Mapping[str, float]) -> np.ndarray:
        """Costs ``(2, paths)`` of ``pair`` with each prior of ``pinned`` at its value."""
        ...


def _groups(rerun: Rerun) -> np.ndarray | None:
    """Each re-run path's qmc scramble (None for mc)."""
    return path_groups(np.arange(rerun.paths), getattr(rerun, "scrambles", 0))


def _pair_margin(rerun: Rerun, pair: tuple[str, str], pinned: Mapping[str, float],
                 decision: DecisionConfig) -> tuple[float, float, np.ndarray]:
    """Margin ``J(pair[1]) - J(pair[0])``, its pathwise SE and the per-path influence differences of one re-run
    (paths ``0 .. paths - 1``; a ``qmc`` re-run's SEs are the spread between its scrambles)."""
    outcomes = PathOutcomes.from_cost(pair, rerun(pair, pinned), _groups(rerun))
    value, se = margin(outcomes, 1, 0, decision)
    return value, se, outcomes.influence_difference(1, 0, decision.objective, decision.level)


def tornado(
    rerun: Rerun,
    pair: tuple[str, str],
    priors: list[str],
    decision: DecisionConfig,
    reference: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Re-run ``pair = (best, runner_up)`` with each prior at its low and high quantile (common random numbers).

    Returns one row per prior (largest swing first): the pinned values, the margin ``J(runner-up) - J(best)`` at
    each end with its SE, the change from the unpinned margin with its pathwise SE, and whether the ranking flips.

    ``reference = (margin, SE)`` of the main run (many more paths): the tornado then reports
    ``reference + (m_j(q) - m_base)``, the precise main-run margin moved by the change measured on common random
    numbers (a control variate), with SE ``sqrt(SE_ref^2 + SE_change^2)``; ``raw_*`` columns keep ``m_j(q)``.
    """
    settings = decision.sensitivity
    base, base_se, psi_base = _pair_margin(rerun, pair, {}, decision)
    rows = []
    for name in priors:
        row = {"prior": name, "raw_base_margin": base}
        for end, q in (("low", settings.low_quantile), ("high", settings.high_quantile)):
            value = rerun.prior_quantile(name, q)
            pinned, pinned_se, psi = _pair_margin(rerun, pair, {name: value}, decision)
            row[f"{end}_value"] = value
            row[f"raw_{end}_margin"], row[f"raw_{end}_margin_se"] = pinned, pinned_se
            row[f"{end}_change_se"] = float(se_of_mean(psi - psi_base, groups=_groups(rerun)))
            if reference is None:
                row[f"{end}_margin"], row[f"{end}_margin_se"] = pinned, pinned_se
            else:
                row[f"{end}_margin"] = reference[0] + pinned - base
                row[f"{end}_margin_se"] = float(np.hypot(reference[1], row[f"{end}_change_se"]))
        row["swing"] = abs(row["high_margin"] - row["low_margin"])
        row["flips"] = _flips(row, z_value(decision.confidence))
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("prior") if rows else pd.DataFrame(columns=["swing"])
    frame.attrs.update(
        pair=list(pair),
        paths=rerun.paths,
        base_margin=base if reference is None else reference[0],
        base_margin_se=base_se if reference is None else reference[1],
        raw_base_margin=base,
        low_quantile=settings.low_quantile,
        high_quantile=settings.high_quantile,
    )
    return frame.sort_values("swing", ascending=False)


def headline(indices: pd.DataFrame | None, tornado_frame: pd.DataFrame | None, pair: tuple[str, str],
             correlated: Sequence[str] = ()) -> str:
    """One sentence: which prior the choice between the top two depends on most; plus :func:`independence_caveat`
    when some priors are rank-correlated (``correlated``: their names)."""
    text = _headline(indices, tornado_frame, pair)
    return f"{text} {independence_caveat(correlated)}" if correlated else text


def independence_caveat(correlated: Sequence[str]) -> str:
    """The one-line warning that RBD-FAST indices and the tornado assume independent priors."""
    return (f"Caution: {', '.join(correlated)} are rank-correlated (correlations), while the first-order indices "
            "and the tornado assume independent priors: a correlated prior's share includes its partners' effect, "
            "and pinning it leaves its partners at their unconditional draws.")


def _headline(indices: pd.DataFrame | None, tornado_frame: pd.DataFrame | None, pair: tuple[str, str]) -> str:
    best, runner = pair
    if tornado_frame is not None and len(tornado_frame):
        top = tornado_frame.iloc[0]
        name = str(tornado_frame.index[0])
        text = (
            f"The choice between {best} and {runner} depends mostly on {name}: from its "
            f"P{round(100 * tornado_frame.attrs['low_quantile'])} to its "
            f"P{round(100 * tornado_frame.attrs['high_quantile'])} the margin moves by {_money(top['swing'])}"
        )
        flips = list(tornado_frame.index[tornado_frame["flips"] == "yes"])
        if flips:
            return text + f"; the ranking flips within the range of {', '.join(flips)}."
        return text + "; no single prior flips the ranking within its range."
    if indices is not None and len(indices):
        name, s1 = indices.index[0], indices["S1"].iloc[0]
        return (
            f"The choice between {best} and {runner} depends mostly on {name} "
            f"({s1:.0%} of the variance of their per-path cost difference)."
        )
    return "No prior varies in this run: nothing to attribute."


def _flips(row: dict, z: float) -> str:
    """``yes`` when the margin at either end is below zero by more than ``z`` SE, ``within noise`` when it is below
    zero by less, else ``no``."""
    ends = [(row[f"{e}_margin"], row[f"{e}_margin_se"]) for e in ("low", "high")]
    if any(m < -z * se for m, se in ends):
        return "yes"
    return "within noise" if any(m < 0 for m, _ in ends) else "no"


def _money(x: float) -> str:
    return f"${x / 1e6:,.2f}M" if abs(x) >= 1e5 else f"${x:,.0f}"
