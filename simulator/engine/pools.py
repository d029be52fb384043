"""What each pool offers in a step: GPUs, price, interruption hazard, efficiency, queue wait, data cost.

One function turns the strategy table and the step's shared drivers into per-slot arrays ``(S, P)``, so routing
(:mod:`simulator.engine.routing`) treats every kind alike. Per kind:

=============  ======================  ===============================  ========================================
kind           GPUs this step          price per wall GPU-hour          interruptions (per instance-hour)
=============  ======================  ===============================  ========================================
owned          installed - down        busy power: kW PUE $/kWh (1-i)   failures of the owned fleet (expected)
on_demand      quota                   P_od(0) M^beta_od                none
spot           quota if available      (1 - d) P_od(0) M^beta_spot      reclaim hazard, g GPUs per instance
marketplace    quota                   r P_od(0) M^beta_mp (1 - d_int)  host failures (+ outbid if interruptible)
academic       min(cap, centre GPUs)   usage price (~0)                 none; queue wait, walltime resubmission
notebook       seats (1 GPU each)      units beyond the included ones   early terminations, 24-h session cap
=============  ======================  ===============================  ========================================
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from simulator.engine.processes import academic, market
from simulator.engine.strategies import (
    ACADEMIC,
    EMPTY,
    MARKETPLACE,
    NOTEBOOK,
    ON_DEMAND,
    OWNED,
    SPOT,
    StrategyTable,
)


class PoolTerms(NamedTuple):
    capacity: jax.Array  # GPUs offered this step
    price: jax.Array  # USD per wall GPU-hour of use
    hazard: jax.Array  # interruptions per instance-hour (non-owned kinds)
    instance_gpus: jax.Array  # GPUs lost together when an instance is interrupted
    run_efficiency: jax.Array  # extra useful fraction of long runs (walltime or session resubmission)
    queue_days: jax.Array  # wait added to every GPU-hour served (academic queue)
    reliable: jax.Array  # bool: safe for a run whose deadline slack is gone (owned, on-demand)
    data_usd_per_tb: jax.Array  # egress and bandwidth per TB moved with work run away from the data's home


INTERRUPTIBLE_KINDS = (SPOT, MARKETPLACE, NOTEBOOK)  # kinds with an interruption hazard


def rows_with(layout: tuple[tuple[int, ...], ...] | None, n_rows: int, codes: tuple[int, ...],
              slot: int | None = None) -> tuple[int, ...]:
    """Strategies (rows) whose slot ``slot`` (any slot if None) is of a kind in ``codes``, from the static layout.

    ``layout`` holds every slot's kind code, known at trace time; ``None`` means unknown, and every row qualifies.
    The engine uses it to skip work that is provably zero (a Poisson draw at a hazard that is zero by kind, failures
    of a strategy that owns no GPUs), which changes no result.
    """
    if layout is None:
        return tuple(range(n_rows))
    return tuple(s for s, kinds in enumerate(layout)
                 if any(k in codes for k in (kinds if slot is None else kinds[slot:slot + 1])))


def on_rows(rows: tuple[int, ...], n_rows: int, fn, *arrays: jax.Array) -> jax.Array | None:
    """``fn(*arrays)`` evaluated on the rows ``rows`` only (leading axis), zeros elsewhere; None if no row.

    Rows are taken with slices and put back with masks (elementwise selects): XLA:CPU emits concatenations and pads
    as scalar code, several times slower than the vectorised elementwise loops.
    """
    if not rows:
        return None
    if len(rows) == n_rows:
        return fn(*arrays)
    contiguous = rows == tuple(range(rows[0], rows[-1] + 1))
    take = (lambda a: a[rows[0]:rows[-1] + 1]) if contiguous else (lambda a: jnp.stack([a[s] for s in rows]))
    picked = fn(*(take(a) for a in arrays))
    row = jnp.arange(n_rows).reshape((n_rows,) + (1,) * (picked.ndim - 1))
    out = jnp.where(row == rows[0], picked[0], 0.0)
    for i, s in enumerate(rows[1:], start=1):
        out = jnp.where(row == s, picked[i], out)
    return out.astype(picked.dtype)


def by_kind(kind: jax.Array, default, **values) -> jax.Array:
    """Per-slot value chosen by kind code: ``by_kind(kind, 0.0, owned=a, spot=b, ...)``."""
    codes = dict(owned=OWNED, on_demand=ON_DEMAND, spot=SPOT, marketplace=MARKETPLACE, academic=ACADEMIC,
                 notebook=NOTEBOOK)
    out = jnp.asarray(default)
    for name, value in values.items():
        out = jnp.where(kind == codes[name], value, out)
    return jnp.where(kind == EMPTY, 0.0, out)


def by_provider(provider: jax.Array, egress_usd_per_tb: jax.Array, bandwidth_usd_per_tb: jax.Array) -> jax.Array:
    """USD per TB charged for data leaving a provider: cloud egress, marketplace bandwidth, else 0."""
    return jnp.where(provider == 1, egress_usd_per_tb, jnp.where(provider == 2, bandwidth_usd_per_tb, 0.0))


def pool_terms(st: StrategyTable, theta: dict[str, jax.Array], log_index: jax.Array, owned_up: jax.Array,
               spot_available: jax.Array, academic_gpus: jax.Array) -> PoolTerms:
    """Per-slot terms for one step (see the table in the module docstring).

    Shapes: ``st`` carries a path axis (``kind`` is (S, P, 1)); ``theta`` values and shared drivers are (N,);
    ``owned_up`` is (S, N). Every returned array is (S, P, N).
    """
    slot = lambda x: x[:, None]  # noqa: E731  (S, N) -> (S, 1, N)
    od_base = theta["market.on_demand_usd_per_gpu_hour"]
    od_price = market.loaded_price(od_base, log_index, theta["market.loading_on_demand"])
    spot_price = market.loaded_price((1.0 - theta["market.spot_discount"]) * od_base, log_index,
                                     theta["market.loading_spot"])
    mp_price = market.loaded_price(theta["marketplace.price_ratio"] * od_base, log_index,
                                   theta["market.loading_marketplace"])
    mp_price = mp_price * jnp.where(st.interruptible, 1.0 - theta["marketplace.interruptible_discount"], 1.0)
    pue = jnp.where(st.colo, theta["colo.pue"], theta["onprem.pue"])
    busy_power = theta["owned.kw_per_gpu"] * pue * theta["market.electricity_usd_per_kwh"] \
        * (1.0 - theta["owned.idle_power_fraction"])
    kind = st.kind
    restart = theta["workload.restart_hours"]
    mp_hazard = theta["marketplace.host_failure_per_hour"] \
        + jnp.where(st.interruptible, theta["marketplace.outbid_per_hour"], 0.0)
    egress, bandwidth = theta["market.egress_usd_per_tb"], theta["marketplace.bandwidth_usd_per_tb"]
    provider = st.provider
    away = (provider != slot(st.home_provider)) & (kind != EMPTY)
    # data out of its home to the pool, and results back: egress charged by each side's provider
    away_usd_per_tb = slot(by_provider(st.home_provider, egress, bandwidth)) + by_provider(provider, egress, bandwidth)
    return PoolTerms(
        capacity=by_kind(kind, 0.0, owned=slot(owned_up), on_demand=st.gpus,
                         spot=jnp.where(spot_available, st.gpus, 0.0), marketplace=st.gpus,
                         academic=jnp.minimum(st.gpus, academic_gpus), notebook=st.gpus),
        price=by_kind(kind, 0.0, owned=slot(busy_power), on_demand=od_price, spot=spot_price, marketplace=mp_price,
                      academic=theta["academic.usd_per_gpu_hour"]),
        hazard=by_kind(kind, 0.0, spot=theta["spot.reclaim_per_instance_hour"], marketplace=mp_hazard,
                       notebook=theta["notebook.termination_per_hour"]),
        instance_gpus=by_kind(kind, 1.0, spot=theta["spot.gpus_per_instance"],
                              marketplace=theta["marketplace.gpus_per_host"]),
        run_efficiency=by_kind(kind, 1.0, academic=academic.resubmission_efficiency(
            theta["academic.walltime_hours"], theta["academic.queue_wait_days"], restart),
            notebook=theta["notebook.session_hours"] / (theta["notebook.session_hours"] + restart)),
        queue_days=by_kind(kind, 0.0, academic=theta["academic.queue_wait_days"]),
        reliable=jnp.broadcast_to((kind == OWNED) | (kind == ON_DEMAND), away.shape[:2] + log_index.shape),
        data_usd_per_tb=jnp.where(away, away_usd_per_tb, 0.0),
    )
