"""Relations between runs that must hold exactly under common random numbers (issue 19's four defects).

Each test compares runs of the same seed that differ in one setting, or checks an identity that a correct router
and fleet policy keep on every path: the deadline policy never makes a run finish later; a saturated fleet with
threshold 1 never expands; only spot pools count spot reclaims; lost work is redone on the slot that lost it while
that slot has room, so a second pool takes nothing when the first never runs out of capacity.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import fixed, run_config, strategy

from simulator.config.schema import ExpansionConfig, RunConfig
from simulator.engine.kinds import code
from simulator.engine.strategies import CATEGORY_INDEX

PATHS = 400


def _with_run(cfg, *, gpus=64, gpu_hours=64 * 600.0, start=5.0, deadline=45.0, months=6):
    cfg.engine.horizon_months = months
    cfg.priors.workload.base_gpu_hours_per_day = fixed(0.0)
    cfg.runs = {"train": RunConfig(gpu_hours=fixed(gpu_hours), gpus=gpus, start_day=start, deadline_day=deadline)}
    return cfg


def _on_off(cfg, *pools):
    cfg.strategies = {"on": strategy(*pools, deadline_aware=True), "off": strategy(*pools, deadline_aware=False)}
    out, _, _ = run_config(cfg, PATHS)
    return out


@pytest.mark.parametrize("pools", [
    (("spot", 1024),),  # no reliable pool at all
    pytest.param((("marketplace", 1024, {"interruptible": True}),), marks=pytest.mark.slow),
    pytest.param((("spot", 1024), ("on_demand", 8)), marks=pytest.mark.slow),  # a reliable pool too narrow for the run
], ids=["spot_only", "marketplace_only", "narrow_on_demand"])
def test_deadline_policy_without_a_reliable_pool_changes_nothing(hybrid, pools):
    """With no reliable pool that can take the run, the policy must not strand it: on == off, path by path."""
    width = 8 if pools[0][0] == "marketplace" else 64  # a marketplace run is at most one host (8 GPUs) wide
    hybrid.priors.regime.shortage_fraction = fixed(0.0)  # no shortage (spot scarce) and a good spot pool:
    hybrid.priors.spot.bad_pool_probability = fixed(0.0)  # a setting where runs finish
    out = _on_off(_with_run(hybrid, gpus=width, gpu_hours=width * 600.0), *pools)
    assert out["run_completed"][:, 1].mean() > 0.9  # the setting is one where runs do finish
    np.testing.assert_array_equal(out["run_completed"][:, 0], out["run_completed"][:, 1])
    np.testing.assert_array_equal(out["run_finish_day"][:, 0], out["run_finish_day"][:, 1])
    np.testing.assert_array_equal(out["cost"][:, 0], out["cost"][:, 1])


def test_deadline_policy_never_makes_a_run_later(hybrid):
    """Spot with an on-demand pool wide enough: the policy switches, and no path finishes later than without it."""
    out = _on_off(_with_run(hybrid), ("spot", 1024), ("on_demand", 1024))
    on, off = out["run_finish_day"][:, 0, 0], out["run_finish_day"][:, 1, 0]
    assert np.all(on <= off + 1e-3)
    assert out["run_lateness_days"][:, 0].mean() < out["run_lateness_days"][:, 1].mean()


def test_deadline_policy_leaves_an_infeasible_run_where_it_is(hybrid):
    """A deadline no pool can meet (work needs 600 days at full speed): switching cannot help, so no path pays more."""
    cfg = _with_run(hybrid, gpu_hours=64 * 24 * 600.0, deadline=40.0)
    out = _on_off(cfg, ("spot", 1024), ("on_demand", 1024))
    column = CATEGORY_INDEX["on_demand"]
    np.testing.assert_array_equal(out["cash_by_category"][:, 0, column], out["cash_by_category"][:, 1, column])


def test_saturated_fleet_with_threshold_one_never_expands(hybrid):
    """Utilisation cannot exceed 1, so ``utilisation_threshold: 1.0`` never fires, whatever float32 rounding does."""
    cfg = hybrid
    cfg.engine.horizon_months = 12
    cfg.runs = {}
    cfg.priors.workload.base_gpu_hours_per_day = fixed(50_000.0)  # far more than 16 GPUs can serve
    cfg.priors.owned.lead_time_weeks = fixed(0.0)
    cfg.strategies = {"owned": dataclasses.replace(
        strategy(("owned", 16)), expansion=ExpansionConfig(gpus=16, utilisation_threshold=1.0, months_above=1))}
    out, _, _ = run_config(cfg, 1000)
    assert np.all(out["owned_gpus_installed"][:, 0] == 16.0)


def test_only_spot_pools_count_spot_reclaims(hybrid):
    """Marketplace outbids and host failures and notebook terminations are interruptions, not spot reclaims."""
    cfg = hybrid
    cfg.engine.horizon_months = 6
    cfg.strategies = {
        "marketplace": strategy(("marketplace", 512, {"interruptible": True}), ("on_demand", 1024)),
        "notebook": strategy(("notebook", 4, {"serves": ["light"]}), ("on_demand", 1024)),
        "spot": strategy(("spot", 1024), ("on_demand", 1024)),
    }
    out, _, _ = run_config(cfg, 200)
    assert np.all(out["spot_interruptions"][:, :2] == 0.0)
    assert out["spot_interruptions"][:, 2].mean() > 0.0
    by_kind = out["interruptions_by_kind"]  # (path, strategy, pool kind)
    assert by_kind[:, 0, code("marketplace")].sum() > 0.0 and by_kind[:, 1, code("notebook")].sum() > 0.0
    np.testing.assert_array_equal(by_kind[:, 2, code("spot")], out["spot_interruptions"][:, 2])
    assert np.all(by_kind[:, :2, code("spot")] == 0.0)


@pytest.mark.parametrize("first", ["spot", "owned"])
def test_lost_work_is_redone_on_the_slot_that_lost_it(flat, first):
    """Spot always available (or an owned fleet that never fills) with room to spare: on-demand is never used."""
    cfg = flat
    cfg.priors.spot.reclaim_per_instance_hour = fixed(0.05)  # a reclaim every 2.5 h of an 8-GPU instance
    cfg.priors.owned.failure_per_gpu_hour = fixed(1e-3)
    cfg.priors.owned.repair_days = fixed(2.0)
    cfg.strategies = {first: strategy((first, 1024 if first == "spot" else 64), ("on_demand", 1024))}
    out, _, _ = run_config(cfg, 50)
    lost = out["spot_interruptions"] if first == "spot" else out["owned_failures"]
    assert lost.mean() > 10.0  # work is lost, often
    assert np.all(out["cash_by_category"][:, 0, CATEGORY_INDEX["on_demand"]] == 0.0)
    assert out["delay"][:, 0].mean() < 1.0  # and it is still served promptly


def test_a_slot_that_loses_everything_passes_the_work_on(flat):
    """Reclaims so frequent that a spot hour loses more than it does (``hazard x loss >= 1``): spot is not used at all
    and the work goes to on-demand, promptly."""
    spot = CATEGORY_INDEX["spot"]
    cash = {}
    for hazard in (0.0, 2.0):
        flat.priors.spot.reclaim_per_instance_hour = fixed(hazard)
        flat.strategies = {"spot": strategy(("spot", 1024), ("on_demand", 1024))}
        out, _, _ = run_config(flat, 20)
        cash[hazard] = out["cash_by_category"][:, 0]
        delay = out["delay"][:, 0]
    assert np.all(cash[0.0][:, spot] > 0.0) and np.all(cash[2.0][:, spot] == 0.0)
    assert np.all(cash[0.0][:, CATEGORY_INDEX["on_demand"]] == 0.0)
    assert np.all(cash[2.0][:, CATEGORY_INDEX["on_demand"]] > cash[0.0][:, spot])  # the work moved on (dearer)
    assert delay.mean() < 1.0


def test_deadline_policy_does_not_move_a_run_to_a_slower_pool(hybrid):
    """An academic centre whose queue and walltime halve a run's speed is no refuge from spot that rarely loses work:
    a switched run stays on spot (the academic pool, though not interruptible, has the lower expected rate)."""
    cfg = _with_run(hybrid)
    a = cfg.priors.academic
    a.partnership_probability, a.admin_lead_days, a.first_allocation_day = fixed(1.0), fixed(0.0), fixed(0.0)
    a.application_lead_days, a.acceptance_probability, a.usable_fraction = fixed(0.0), fixed(1.0), fixed(1.0)
    a.allocation_gpus, a.opportunistic_gpus = fixed(256.0), fixed(256.0)
    a.walltime_hours, a.queue_wait_days = fixed(48.0), fixed(2.0)  # e = 48 / (48 + 48 + R) < 1/2
    cfg.priors.spot.bad_pool_probability = fixed(0.0)  # the hazard below is the path's: a good pool's
    cfg.strategies = {"on": strategy(("spot", 1024), ("academic", 1024), deadline_aware=True),
                      "off": strategy(("spot", 1024), ("academic", 1024), deadline_aware=False)}
    out, theta, _ = run_config(cfg, PATHS)
    on, off = out["run_finish_day"][:, 0, 0], out["run_finish_day"][:, 1, 0]
    # spot's expected rate 1 - lambda (w / g) loss, loss = (tau + C) / 2 + R with tau = 1 h: where it is at least 1/2,
    # the academic pool (rate 48 / (48 + 48 + R) < 1/2) is slower and the run must not move
    loss = (1.0 + theta["workload.checkpoint_cost_hours"]) / 2.0 + theta["workload.restart_hours"]
    spot_rate = 1.0 - theta["spot.reclaim_per_instance_hour"] * 64.0 / theta["spot.gpus_per_instance"] * loss
    assert np.all(theta["workload.restart_hours"] > 0.0)
    assert (spot_rate >= 0.5).mean() > 0.5  # the relation is checked on most paths
    np.testing.assert_array_equal(on[spot_rate >= 0.5], off[spot_rate >= 0.5])
    assert np.all(on <= off + 1e-3)  # elsewhere it moves only where that is faster
