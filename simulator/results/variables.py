"""The one table of output variables: name, dimensions, units, long name, description and kind.

Every variable of ``results.nc`` is labelled from here. The engine computes the outputs (the keys of its
``finalise`` dict, :mod:`simulator.engine.accounting`, and of its monthly snapshot, declared once as
:data:`simulator.engine.scan.TRAJECTORIES`); this table only says what they are. Adding an output variable means a
key in the engine and a row here (``tests/e2e/test_cli.py`` checks that every variable of a run has a row).

Kinds:

* ``per-path``: one value per path (and strategy, run, category), kept for the first ``report.path_level_paths``;
* ``trajectory``: one value per month, kept for the first ``report.trajectory_paths`` paths;
* ``streamed``: statistics over every path of a long run (``stream_*``), labelled by
  :meth:`simulator.stats.collector.RunStatistics.data_vars`;
* ``parameter``: the prior drawn for each path (``param_*``).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.engine.scan import TRAJECTORIES

PER_PATH, TRAJECTORY, STREAMED, PARAMETER = "per-path", "trajectory", "streamed", "parameter"
STREAMED_PREFIX, PARAMETER_PREFIX = "stream_", "param_"


@dataclass(frozen=True)
class Variable:
    """One output variable: its dimensions in the Dataset (strategy first where it has one), units and text."""

    dims: tuple[str, ...]
    units: str
    long_name: str
    description: str

    @property
    def attrs(self) -> dict[str, str]:
        """The netCDF attributes every variable carries."""
        return dict(units=self.units, long_name=self.long_name, description=self.description)


PATHS, RUNS, CATEGORIES = ("strategy", "path"), ("strategy", "path", "run"), ("strategy", "path", "category")
POOL_KINDS = ("strategy", "path", "pool_kind")
MONTHS, SHARED_MONTHS = ("strategy", "trajectory_path", "month"), ("trajectory_path", "month")

VARIABLES: dict[str, Variable] = {
    "cost": Variable(PATHS, "USD", "cost of service (present value)",
                     "spend + shortfall: the sum over every category of costs discounted to t=0 at "
                     "engine.discount_rate_per_year, residual value credited; strategies compared at equal service"),
    "spend": Variable(PATHS, "USD", "present value of money spent",
                      "Sum of the spend categories (category_group 'spend'): rentals, reserved commitments, capex, "
                      "fabric, build-out, support, power, facility, staff, cloud operations, storage, data, "
                      "migration, compliance, less the residual resale value net of fees and the resale of idle "
                      "reserved hours"),
    "shortfall": Variable(PATHS, "USD", "present value of the shortfall",
                          "Sum of the shortfall categories (category_group 'shortfall'): delay = v x (sum_t B_t dt + "
                          "academic queue GPU-hour-days + B_T^2 / (2 x 24 G)), v = workload.delay_usd_per_gpu_hour_day; "
                          "unserved = (B_T + remaining run GPU-hours) x c_T / eff at T; late_runs = sum_r "
                          "late_usd_per_day_r x lateness_r + missed_usd_r x 1[lateness_r > missed_after_days_r] at "
                          "the run's finish (B_T the backlog at the horizon T, c_T and G the price and quota of the "
                          "strategy's marginal on-demand pool, or the market price and workload.clearing_gpus, eff the "
                          "checkpoint efficiency)"),
    "delivered_gpu_hours": Variable(PATHS, "GPU-hours", "useful work delivered",
                                    "Steady work served (arrivals - final backlog) plus training-run work done "
                                    "(size - remaining) over the horizon"),
    "delay": Variable(PATHS, "days", "backlog-weighted delay of steady demand",
                      "(sum_t backlog_t * dt + sum_t Q * academic_t + B_T^2 / (2 x 24 G)) / sum_t arrivals_t: mean "
                      "wait of a GPU-hour of steady demand (Little's law), plus the academic queue wait Q "
                      "(priors.academic.queue_wait_days) of the GPU-hours served on the academic pool, plus the wait "
                      "after the horizon until the final backlog B_T is cleared at 24 G GPU-hours a day (G the quota "
                      "of the marginal on-demand pool, or workload.clearing_gpus)"),
    "cost_by_category": Variable(CATEGORIES, "USD", "present value of cost by category",
                                 "Discounted cost per category (spend and shortfall, see the category_group "
                                 "coordinate); see the category coordinate's descriptions"),
    "cash_by_category": Variable(CATEGORIES, "USD", "undiscounted cash by category",
                                 "Cash spent per category over the horizon, not discounted (the shortfall "
                                 "categories at nominal value)"),
    "run_finish_day": Variable(RUNS, "days", "training run finish time",
                               "Day the run's last GPU-hour of useful work completed; unfinished runs are "
                               "extrapolated past the horizon at full width (see run_completed)"),
    "run_lateness_days": Variable(RUNS, "days", "training run lateness", "max(0, run_finish_day - deadline_day)"),
    "run_completed": Variable(RUNS, "1", "run finished within the horizon",
                              "1 if the run completed before the horizon, else 0"),
    "final_backlog": Variable(PATHS, "GPU-hours", "backlog at the horizon",
                              "Steady demand still waiting at the end of the horizon"),
    "owned_failures": Variable(PATHS, "1", "owned GPU hardware-down failures",
                               "Number of owned-GPU hardware failures over the horizon (GPUs taken away for the "
                               "repair; the job interrupts they cause on running work are in interruptions_by_kind)"),
    "spot_interruptions": Variable(PATHS, "1", "spot reclaims",
                                   "Number of spot reclaims that hit running work (steady demand and training runs); "
                                   "the interruptions of the other interruptible kinds are in interruptions_by_kind"),
    "interruptions_by_kind": Variable(POOL_KINDS, "1", "interruptions by pool kind",
                                      "Number of interruptions that hit running work on each pool kind: job "
                                      "interrupts of every kind (training runs: drawn; steady demand: the expected "
                                      "count), owned hardware failures hitting work, spot reclaims, marketplace host "
                                      "failures and outbids, notebook early terminations, and a run leaving an "
                                      "interruptible kind whose capacity went away"),
    "shortage_months": Variable(("path",), "months", "months in a GPU shortage",
                                "Months of the horizon the path's market spent in the shortage regime (shared by "
                                "every strategy; divide by horizon_months for the fraction): rental prices x "
                                "regime.rental_price_multiplier, orders placed then x regime.hardware_price_multiplier "
                                "and x regime.lead_time_multiplier, spot unavailable regime.spot_unavailable_fraction "
                                "of the time"),
    "owned_gpus_installed": Variable(PATHS, "GPUs", "owned GPUs installed at the horizon",
                                     "Owned GPUs delivered by the end of the horizon (initial order and expansions)"),
    "peak_cash": Variable(PATHS, "USD", "peak cumulative cash need",
                          "max over month ends k = 0..M of C_k, the cumulative undiscounted spend after k months (spend "
                          "categories, the resale of the fleet at the horizon and the shortfall excluded): the cash "
                          "the plan needs at its worst (simulator.engine.cash)"),
    "cash_need": Variable(PATHS, "USD", "cash needed before the next raise",
                          "max over month ends k <= decision.funding_month of C_k (the whole horizon when it is "
                          "null); P(running out) = P(cash_need > decision.funding_usd)"),
    "cumulative_cash": Variable(MONTHS, "USD", "cumulative undiscounted spend",
                                "C_k: cash spent by the end of each month (spend categories; the resale of the fleet "
                                "at the horizon and the shortfall excluded)"),
    "cumulative_cost": Variable(MONTHS, "USD", "cumulative present value of cost",
                                "Discounted cost accrued by the end of each month, the delay of waiting work "
                                "included (residual value and the horizon's shortfall not yet booked)"),
    "backlog": Variable(MONTHS, "GPU-hours", "backlog at month end", "Steady demand waiting at the end of each month"),
    "owned_gpus_up": Variable(MONTHS, "GPUs", "owned GPUs up at month end",
                              "Installed owned GPUs minus those down for repair"),
    "price_index": Variable(SHARED_MONTHS, "1", "GPU market price index",
                            "Shared price index M_t (M_0 = 1); prices are base * M_t ** loading"),
    "demand_rate": Variable(SHARED_MONTHS, "GPU-hours/day", "steady demand rate",
                            "Steady GPU-hour demand per day at the end of each month"),
}


def kind_of(name: str) -> str:
    """The kind of a ``results.nc`` variable: ``per-path``, ``trajectory``, ``streamed`` or ``parameter``."""
    if name.startswith(STREAMED_PREFIX):
        return STREAMED
    if name.startswith(PARAMETER_PREFIX):
        return PARAMETER
    if name not in VARIABLES:
        raise KeyError(f"{name!r} is not an output variable (simulator.results.variables.VARIABLES)")
    return TRAJECTORY if name in TRAJECTORIES else PER_PATH


def parameter_variable(prior: str) -> tuple[str, Variable]:
    """The Dataset name and label of the per-path draws of the prior ``prior`` (``market.spot_discount``)."""
    return f"{PARAMETER_PREFIX}{prior.replace('.', '__')}", Variable(
        ("path",), "see config", f"sampled prior {prior}", f"Value of the prior {prior} drawn for each path"
    )
