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
from simulator.decision.outcomes import PathOutcomes, is_streamed, outcomes_of
from simulator.decision.recommend import Recommendation, precision_reached, recommend
from simulator.decision.sensitivity import first_order_indices, headline, parameter_draws, tornado
from simulator.engine.kinds import closed_by_policy
from simulator.engine.strategies import CATEGORY_INDEX
from simulator.stats.compare import comparison_frames

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

    def enough(outputs: dict[str, np.ndarray]) -> bool:
        rec = recommend(PathOutcomes.from_engine(outputs, names, kinds, capex_index), cfg.decision)
        met, text = precision_reached(rec, cfg.decision.target_relative_se)
        log.info(
            "engine.paths=auto: %s paths: %s%s", f"{len(outputs['cost']):,}", text, "" if met else ", more"
        )
        return met

    return enough


def analyse(ds: xr.Dataset, cfg: Config, *, sensitivity: bool | None = None) -> Analysis:
    """Every decision output of a run. ``sensitivity`` overrides ``decision.sensitivity.enabled``."""
    decision = cfg.decision
    kinds, closed = pool_kinds(cfg), closed_kinds(cfg)
    outcomes = outcomes_of(ds, kinds)  # every path: exact, or streamed
    kept = outcomes.path_level  # path by path: every path, or the first ones of a streamed run
    rec = recommend(outcomes, decision)
    metrics = risk_metrics(
        outcomes,
        quantiles=tuple(cfg.report.quantiles),
        level=decision.level,
        confidence=decision.confidence,
        budget_usd=decision.budget_usd,
    )
    columns = ["rank", "objective", "objective_se", "admissible", "excluded_because", "failed", "borderline"]
    attrs = dict(metrics.attrs)  # level, confidence, paths, ...: pandas' join does not carry attrs
    metrics = metrics.join(rec.ranking[columns])  # strategies in the order of the scenario; "rank" sorts them
    names = list(outcomes.strategies)
    admissible = np.array([rec.ranking.loc[s, "admissible"] for s in names])
    comparisons = comparison_frames(kept.cost, names, admissible)
    if is_streamed(ds):  # the win matrix over all paths; the other comparisons use the kept paths
        label = pd.Index(names, name="strategy")
        win, win_se = win_matrix(outcomes)
        comparisons["win"], comparisons["win_se"] = (pd.DataFrame(w, index=label, columns=names) for w in (win, win_se))
    metrics = metrics.join(comparisons["per_strategy"])
    metrics.attrs.update(attrs)
    metrics["closed_by_data_policy"] = [
        ", ".join(sorted(closed & set(kinds.get(s, ())))) for s in metrics.index
    ]
    indices = tornado_frame = None
    order = list(rec.ranking.index)
    enabled = decision.sensitivity.enabled if sensitivity is None else sensitivity
    text = "Sensitivity analysis is off (decision.sensitivity.enabled=false)."
    if enabled and rec.best is None:
        text = "No strategy meets the constraints, so there is no choice to attribute (sensitivity skipped)."
    elif enabled and len(order) >= 2:
        pair = (order[0], order[1])
        difference = ds["cost"].sel(strategy=pair[1]).values - ds["cost"].sel(strategy=pair[0]).values
        settings = decision.sensitivity
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
        if candidates:
            log.info(
                "tornado: %s vs %s, %d priors x 2 runs of %d paths",
                *pair,
                len(candidates),
                settings.tornado_paths,
            )
            same_pair = (rec.best, rec.runner_up) == pair
            tornado_frame = tornado(cfg, pair, candidates, (rec.margin, rec.margin_se) if same_pair else None)
        text = headline(indices, tornado_frame, pair)
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
    )


def write_tables(analysis: Analysis, directory: Path) -> list[Path]:
    """CSV files of the analysis: ``summary.csv`` (metrics and ranking), ``pairwise_win.csv`` (with SEs),
    ``dominance.csv``, ``sensitivity_indices.csv`` and ``tornado.csv``."""
    directory = Path(directory)
    frames = {
        "summary": analysis.metrics,
        "pairwise_win": analysis.comparisons["win"].join(analysis.comparisons["win_se"].add_suffix("_se")),
        "dominance": analysis.comparisons["dominance"],
        "sensitivity_indices": analysis.indices,
        "tornado": analysis.tornado,
    }
    written = []
    for name, frame in frames.items():
        if frame is not None:
            path = directory / f"{name}.csv"
            frame.to_csv(path, index=name != "dominance")
            written.append(path)
    return written
