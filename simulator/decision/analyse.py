"""Decision analytics of one run, assembled: metrics, paired comparisons, recommendation, sensitivity.

The entry point calls :func:`analyse` on the results Dataset and the validated config, then hands the
:class:`Analysis` to :mod:`simulator.report` (summary.md, terminal table) and :mod:`simulator.report.decision_plots`.
The statistics themselves live in :mod:`simulator.decision.metrics` (on the run's
:class:`~simulator.decision.outcomes.Outcomes`, kept or streamed), :mod:`simulator.stats.compare`,
:mod:`simulator.decision.recommend` and :mod:`simulator.decision.sensitivity`; this module only wires them to the
config.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from simulator.config.schema import Config
from simulator.decision.metrics import risk_metrics, win_matrix
from simulator.decision.outcomes import Outcomes, PathOutcomes, is_streamed, outcomes_of
from simulator.decision.recommend import Recommendation, precision_reached, recommend
from simulator.decision.robustness import Robustness, robustness
from simulator.decision.sensitivity import (
    Rerun,
    first_order_indices,
    headline,
    independence_caveat,
    parameter_draws,
    tornado,
)
from simulator.engine.kinds import closed_by_policy
from simulator.engine.strategies import CATEGORY_INDEX, SHORTFALL_CATEGORIES
from simulator.stats.compare import comparison_frames, mask_inadmissible

log = logging.getLogger("simulator")


@dataclasses.dataclass
class Analysis:
    """Everything the summary, the terminal table and the decision plots show."""

    metrics: pd.DataFrame  # per strategy: risk metrics with SEs and CIs, plus rank and constraints
    recommendation: Recommendation
    comparisons: dict[str, pd.DataFrame]  # win, win_se, per_strategy, dominance
    indices: pd.DataFrame | None  # first-order indices of the top-two cost difference
    tornado: pd.DataFrame | None
    headline: str
    precision_met: bool
    precision: str  # what precision the run reached (and, for engine.paths=auto, whether it met the target)
    paths: int
    auto_paths: bool
    categories: pd.DataFrame | None = None  # mean PV cost by category per strategy; attrs["shortfall"]: those names
    robustness: Robustness | None = None  # decision risk, EVPI/EVPPI, PRIM box (decision/robustness.py)


def pool_kinds(cfg: Config) -> dict[str, tuple[str, ...]]:
    """Pool kinds of every strategy, for the data-policy constraint."""
    return {name: tuple(p.kind for p in s.pools.values()) for name, s in cfg.strategies.items()}


def closed_kinds(cfg: Config) -> set[str]:
    """Pool kinds that the scenario's data policy closes (as :mod:`simulator.engine.strategies` applies it).

    The engine already runs those pools with no capacity, so a strategy's outcomes comply with the policy; the
    recommendation does not exclude it again (a strategy left without capacity fails the delay constraints), and
    the summary says which pools were closed. ``decision.excluded_pool_kinds`` is the explicit exclusion.
    """
    used = {kind for kinds in pool_kinds(cfg).values() for kind in kinds}
    return {kind for kind in used if closed_by_policy(kind, cfg.data)}


def precision_rule(cfg: Config) -> Callable[[dict[str, np.ndarray]], bool]:
    """Stopping rule for ``engine.paths=auto``: the recommendation's precision target is met (see
    :func:`simulator.decision.recommend.precision_reached`)."""
    names, kinds = list(cfg.strategies), pool_kinds(cfg)
    capex_index = CATEGORY_INDEX["capex"]
    scrambles = cfg.engine.scrambles  # the SEs of a qmc run: replicates

    def enough(outputs: dict[str, np.ndarray]) -> bool:
        rec = recommend(PathOutcomes.from_engine(outputs, names, kinds, capex_index, scrambles), cfg.decision)
        met, text = precision_reached(rec, cfg.decision.target_relative_se)
        log.info(
            "engine.paths=auto: %s paths: %s%s", f"{len(outputs['cost']):,}", text, "" if met else ", more"
        )
        return met

    return enough


def analyse(
    ds: xr.Dataset, cfg: Config, *, rerun: Rerun | None = None, sensitivity: bool | None = None
) -> Analysis:
    """Every decision output of a run. ``sensitivity`` overrides ``decision.sensitivity.enabled``.

    ``rerun`` re-runs the top two strategies with priors pinned, for the tornado (the caller builds it from the
    engine: :class:`simulator.app.tornado_rerun.EngineRerun`); without it the sensitivity section has the
    first-order indices only.
    """
    decision = cfg.decision
    outcomes = outcomes_of(ds, pool_kinds(cfg))  # every path: exact, or streamed
    rec = recommend(outcomes, decision)
    comparisons = _comparisons(ds, outcomes, rec)
    metrics = _metrics_table(outcomes, rec, comparisons, cfg)
    enabled = decision.sensitivity.enabled if sensitivity is None else sensitivity
    if not enabled:
        indices = tornado_frame = None
        text = "Sensitivity analysis is off (decision.sensitivity.enabled=false)."
    else:
        indices, tornado_frame, text = _sensitivity(ds, cfg, rec, rerun)
    met, precision = precision_reached(rec, decision.target_relative_se)
    return Analysis(
        metrics,
        rec,
        comparisons,
        indices,
        tornado_frame,
        text,
        met,
        precision,
        outcomes.n,
        cfg.engine.paths == "auto",
        category_means(ds),
        robustness(ds, outcomes, rec, decision, seed=cfg.engine.seed),
    )


def category_means(ds: xr.Dataset) -> pd.DataFrame | None:
    """Mean present-value cost by category per strategy (over all paths, streamed or kept), strategies as rows.

    ``attrs["shortfall"]`` lists the shortfall categories: those whose ``category_group`` coordinate is
    "shortfall", or, in a Dataset without that coordinate, :data:`~simulator.engine.strategies.SHORTFALL_CATEGORIES`
    present in it (none in a run written before the shortfall was priced). None without ``cost_by_category``.
    """
    if "stream_cost_by_category_mean" in ds:
        means = ds["stream_cost_by_category_mean"]
    elif "cost_by_category" in ds:
        means = ds["cost_by_category"].mean("path")
    else:
        return None
    categories = [str(c) for c in ds["category"].values]
    if "category_group" in ds.coords:
        shortfall = [c for c, g in zip(categories, ds["category_group"].values, strict=True) if g == "shortfall"]
    else:
        shortfall = [c for c in categories if c in SHORTFALL_CATEGORIES]
    frame = pd.DataFrame(means.transpose("strategy", "category").values,
                         index=pd.Index([str(s) for s in ds["strategy"].values], name="strategy"), columns=categories)
    frame.attrs["shortfall"] = shortfall
    return frame


def _comparisons(ds: xr.Dataset, outcomes: Outcomes, rec: Recommendation) -> dict[str, pd.DataFrame]:
    """Paired comparisons (:func:`simulator.stats.compare.comparison_frames`) on the kept paths, among the admissible
    strategies (the others masked); for a streamed run the win matrix over all paths."""
    names = list(outcomes.strategies)
    admissible = np.array([rec.ranking.loc[s, "admissible"] for s in names])
    comparisons = comparison_frames(outcomes.path_level.cost, names, admissible, outcomes.path_level.scramble)
    if is_streamed(ds):
        label = pd.Index(names, name="strategy")
        win, win_se = win_matrix(outcomes)
        comparisons["win"], comparisons["win_se"] = (
            mask_inadmissible(pd.DataFrame(w, index=label, columns=names), admissible) for w in (win, win_se))
    return comparisons


def _metrics_table(
    outcomes: Outcomes, rec: Recommendation, comparisons: dict[str, pd.DataFrame], cfg: Config
) -> pd.DataFrame:
    """Risk metrics joined with the ranking, the constraints, the per-strategy comparisons and the pools the data
    policy closed."""
    decision = cfg.decision
    metrics = risk_metrics(
        outcomes,
        quantiles=tuple(cfg.report.quantiles),
        level=decision.level,
        confidence=decision.confidence,
        budget_usd=decision.budget_usd,
        funding_usd=decision.funding_usd,
    )
    columns = ["rank", "objective", "objective_se", "admissible", "excluded_because", "failed", "borderline"]
    attrs = dict(metrics.attrs)  # level, confidence, paths, ...: pandas' join does not carry attrs
    metrics = metrics.join(rec.ranking[columns])  # strategies in the order of the scenario; "rank" sorts them
    metrics = metrics.join(comparisons["per_strategy"])
    metrics.attrs.update(attrs, funding_month=decision.funding_month)
    closed = closed_kinds(cfg)
    metrics["closed_by_data_policy"] = [
        ", ".join(sorted(closed & set(outcomes.pool_kinds.get(s, ())))) for s in metrics.index
    ]
    return metrics


def _sensitivity(
    ds: xr.Dataset, cfg: Config, rec: Recommendation, rerun: Rerun | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None, str]:
    """First-order indices of the top-two cost difference, the tornado (with ``rerun``) and the headline."""
    decision, settings = cfg.decision, cfg.decision.sensitivity
    if rec.best is None:
        return None, None, "No strategy meets the constraints, so there is no choice to attribute (sensitivity skipped)."
    if rec.runner_up is None:  # the pair is the top two admissible strategies, never an inadmissible one
        return None, None, ("Only one strategy meets the constraints, so there is no choice to attribute "
                            "(sensitivity skipped).")
    pair = (rec.best, rec.runner_up)
    difference = ds["cost"].sel(strategy=pair[1]).values - ds["cost"].sel(strategy=pair[0]).values
    indices = first_order_indices(
        parameter_draws(ds),
        difference,
        harmonics=settings.harmonics,
        resamples=settings.resamples,
        confidence=decision.confidence,
        seed=cfg.engine.seed,
    )
    indices.attrs["pair"] = list(pair)
    candidates = list(indices.index[: settings.tornado_priors])
    tornado_frame = None
    if candidates and rerun is not None:
        log.info("tornado: %s vs %s, %d priors x 2 runs of %d paths", *pair, len(candidates), rerun.paths)
        tornado_frame = tornado(rerun, pair, candidates, decision, (rec.margin, rec.margin_se))
    correlated = list(dict.fromkeys(name for c in cfg.correlations for name in (c.a, c.b)))
    if correlated:
        log.warning("sensitivity: %s", independence_caveat(correlated))
    return indices, tornado_frame, headline(indices, tornado_frame, pair, correlated)


VERDICT_COLUMNS = ("best", "runner_up", "margin", "margin_se", "z")  # recommendation.csv, read by simulator.sweeps


def write_tables(analysis: Analysis, directory: Path) -> list[Path]:
    """CSV files of the analysis: ``summary.csv`` (metrics and ranking; spend, shortfall and cost per delivered
    GPU-hour with SEs), ``pairwise_win.csv`` (with SEs; empty where a strategy fails a constraint),
    ``dominance.csv`` (admissible pairs), ``cost_by_category.csv`` (mean PV per category),
    ``sensitivity_indices.csv``, ``tornado.csv`` and ``recommendation.csv``.

    ``recommendation.csv`` is one row: best, runner-up, margin ``J(runner-up) - J(best)``, its pathwise SE and ``z``;
    a multirun's decision map (:mod:`simulator.sweeps.multirun`) shades cells by ``margin / margin_se``, which
    ``summary.csv`` alone cannot give (its SEs are per strategy, not paired).
    """
    directory = Path(directory)
    rec = analysis.recommendation
    frames = {
        "summary": analysis.metrics,
        "pairwise_win": analysis.comparisons["win"].join(analysis.comparisons["win_se"].add_suffix("_se")),
        "dominance": analysis.comparisons["dominance"],
        "cost_by_category": analysis.categories,
        "sensitivity_indices": analysis.indices,
        "tornado": analysis.tornado,
        "recommendation": pd.DataFrame([{k: getattr(rec, k) for k in VERDICT_COLUMNS}]),
        "evppi": _evppi_frame(analysis.robustness),
    }
    written = []
    for name, frame in frames.items():
        if frame is not None:
            path = directory / f"{name}.csv"
            frame.to_csv(path, index=name not in ("dominance", "recommendation"))
            written.append(path)
    return written


def _evppi_frame(risk: Robustness | None) -> pd.DataFrame | None:
    """``evppi.csv``: EVPPI per prior, group and all priors with SEs, and a first row ``EVPI`` (share 1)."""
    info = risk.information if risk is not None else None
    if info is None:
        return None
    head = pd.DataFrame({"kind": ["evpi"], "evppi": [info.evpi], "evppi_se": [info.evpi_se], "share_of_evpi": [1.0]},
                        index=pd.Index(["EVPI"], name="name"))
    return pd.concat([head, info.table])
