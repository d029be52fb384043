"""How robust is the recommendation: decision risk, apart from Monte Carlo precision, and where it loses.

The margin's SE (:mod:`simulator.decision.recommend`) says how precisely this run knows which strategy is best *on
average*; it shrinks with more paths. Decision risk does not: it is how often, and by how much, the recommended
strategy is not the best one once the world is known, and it is what a founder bears. Assembled here from
:mod:`simulator.stats.compare` (pathwise), :mod:`simulator.decision.voi` (regression on the priors) and
:mod:`simulator.decision.prim` (scenario discovery).

Notes
-----
Among the admissible strategies ``s`` with costs ``C_si`` on paths ``i``, for the recommendation ``r``:

* ``P(best) = (1/n) sum_i 1[C_ri = min_s C_si]`` (ties shared), binomial SE;
* expected regret ``E[C_r - min_s C_s]``, SE ``sd / sqrt(n)`` (:func:`simulator.stats.compare.expected_regret`);
* ``P(ranking flips)``: the share of prior draws ``theta_i`` where some ``s`` has ``g_s(theta_i) < g_r(theta_i)``,
  ``g_s = E[C_s | theta]`` fitted on every prior at once (:func:`simulator.decision.voi.flip_share`), bootstrap SE:
  the part of the prior space in which, knowing the priors, another strategy is cheaper in expectation;
* EVPI (:mod:`simulator.decision.voi`): the expected regret of the strategy of least mean cost, which is the
  recommendation under ``decision.objective=mean``.

All of these need the paths one by one: they use the kept paths (all of them, or the first
``report.path_level_paths`` of a streamed run; the regressions of EVPI, EVPPI and the flip share at most
``decision.voi.max_paths`` of them, P(best) and regret all of them, as the ranking table). Over *all* paths a streamed run
has only the pairwise ``P(C_s < C_r)``, which bound ``P(best) >= 1 - sum_{s != r} P(C_s < C_r)`` (Bonferroni); it
has no pathwise minimum, so no regret, EVPI or EVPPI beyond the kept paths.

Scenario discovery: the *challenger* is the cheapest-ranked admissible strategy of the other family when both
owning strategies (a pool of kind ``owned``) and renting ones are admissible, else the runner-up; the PRIM box
(:func:`simulator.decision.prim.prim`) is where ``C_challenger < C_r`` on the path.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from simulator.config.schema import DecisionConfig
from simulator.decision.outcomes import Outcomes, is_streamed
from simulator.decision.prim import Box, prim
from simulator.decision.recommend import Recommendation
from simulator.decision.sensitivity import parameter_draws
from simulator.decision.voi import Information, value_of_information
from simulator.stats.compare import cheapest_feasible_probability, expected_regret

OWNING_KIND = "owned"


@dataclasses.dataclass(frozen=True)
class Robustness:
    """Decision risk, value of information and scenario discovery of one run (see module Notes)."""

    recommended: str
    p_best: float
    p_best_se: float
    regret: float
    regret_se: float
    paths: int  # kept paths these use
    all_paths: int  # paths of the run
    p_best_bound: float | None = None  # streamed runs: Bonferroni lower bound of P(best) over all paths
    information: Information | None = None
    challenger: str | None = None
    box: Box | None = None

    @property
    def p_flip(self) -> tuple[float, float]:
        """Share of the prior space where another strategy is cheaper in expectation, and its SE."""
        info = self.information
        return (info.p_flip, info.p_flip_se) if info is not None else (float("nan"), float("nan"))


def challenger(rec: Recommendation, pool_kinds: dict[str, tuple[str, ...]]) -> str | None:
    """The strategy the scenario discovery sets against the recommendation (see module Notes)."""
    admissible = [str(s) for s in rec.ranking.index[rec.ranking["admissible"].astype(bool)]]
    owning = {s for s in admissible if OWNING_KIND in pool_kinds.get(s, ())}
    other = [s for s in admissible if (s in owning) != (rec.best in owning)]
    return other[0] if other else rec.runner_up


def robustness(ds: xr.Dataset, outcomes: Outcomes, rec: Recommendation, decision: DecisionConfig,
               seed: int = 0) -> Robustness | None:
    """Every robustness output of a run; None without a recommendation (see module Notes)."""
    if rec.best is None:
        return None
    settings = decision.voi
    kept = outcomes.path_level
    n = min(kept.n, settings.max_paths)
    names = [str(s) for s in rec.ranking.index[rec.ranking["admissible"].astype(bool)]]
    rows = [outcomes.strategies.index(s) for s in names]  # admissible, in rank order: the recommendation first
    every = np.asarray(kept.cost, float)[rows]
    # P(best) and regret on every kept path, as in the ranking table (stats/compare.py); the regressions on n
    p_best, p_best_se, _ = cheapest_feasible_probability(every, groups=kept.scramble)
    regret, regret_se = expected_regret(every, groups=kept.scramble)
    cost = every[:, :n]
    bound = None
    if is_streamed(ds):
        r = outcomes.strategies.index(rec.best)
        bound = 1.0 - sum(outcomes.p_cheaper(s, r)[0] for s in rows[1:])
    out = Robustness(rec.best, float(p_best[0]), float(p_best_se[0]), float(regret[0]), float(regret_se[0]), kept.n,
                     outcomes.n, bound)
    if len(names) < 2 or not settings.enabled:
        return out
    draws = {name: values[:n] for name, values in parameter_draws(ds).items()}
    information = value_of_information(cost, tuple(names), draws, recommended=0, knots=settings.knots,
                                       resamples=settings.resamples, seed=seed)
    rival = challenger(rec, outcomes.pool_kinds)
    target = cost[names.index(rival)] < cost[0]
    box = prim(draws, target, peel=settings.peel, min_coverage=settings.min_coverage) if draws else None
    return dataclasses.replace(out, information=information, challenger=rival, box=box)

