"""The shortfall: what undone and late work costs, so that strategies are compared at equal service.

Notes
-----
With ``v = workload.delay_usd_per_gpu_hour_day`` and discount factor ``delta(t) = (1 + r)^{-t / 365.25}``:

* ``delay``, every step (mid-step discount, like the spend): ``v [(L_t + H_t) dt + Q S_t]``, the light and heavy
  backlog left after routing times the step, plus the academic queue wait ``Q`` of the GPU-hours ``S_t`` served
  there (what ``State.waited`` accumulates). At the horizon ``T`` the backlog ``B_T = L_T + H_T`` still waits until
  cleared: a fluid FIFO queue drained at ``rho = 24 G`` GPU-hours per day waits ``B_T / (2 rho)`` days per GPU-hour on
  average, ``B_T^2 / (2 rho)`` GPU-hour-days in all, charged ``v B_T^2 / (2 rho) delta(T)`` (and added to the
  ``delay`` output's waited total, which is then not censored at the horizon).
* ``unserved``: the work still waiting at ``T``, the backlog and every unfinished run's remaining useful GPU-hours
  ``U_r`` (reference GPU-hours), valued at what clearing it costs: ``(B_T + sum_r U_r) c_T / (eff f) delta(T)``,
  ``eff = tau / (tau + C)`` the checkpoint efficiency and ``f`` the marginal pool's throughput.
* ``late_runs``: per run ``l_r lateness_r + m_r 1[lateness_r > a_r]`` at ``delta(finish_r)``, with ``l_r`` the run's
  ``late_usd_per_day`` (a prior), ``m_r`` its ``missed_usd`` and ``a_r`` its ``missed_after_days`` (inf: none); an
  unfinished run keeps its extrapolated finish ``T + U_r / (24 w_r eff f)``.

*Marginal rental.* ``c_T``, ``G`` and ``f`` are the strategy's marginal rental price, quota and throughput at the
horizon: the price at the final index ``M_T`` of its lowest-priority ``on_demand`` pool that serves heavy work (with
GPUs), at that pool's provider ``q`` and GPU type, ``r P_q(0) M_T^beta_od`` (:mod:`simulator.engine.pools`, ``r`` the
type's ``rent_price_ratio``), that pool's quota and its GPU type's throughput. A strategy without such a pool pays
the market for H100s (``r = f = 1``): the on-demand price of the on-demand kind's default provider (``hyperscaler``
in the default catalogue: the one that can always be had), with ``G = workload.clearing_gpus``. The queue clears at
``rho = 24 G f`` reference GPU-hours a day.

*float32 guard.* The mean terminal wait ``B_T / (2 rho)`` is capped at :data:`TERMINAL_WAIT_CAP_DAYS` (10,000 days,
27 years): ``B_T^2`` overflows float32 for a backlog above ~1e19 GPU-hours (a demand of 1e30 GPU-hours a day); the
cap binds only for a backlog that would take more than 55 years of clearing capacity, never in a sane scenario.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simulator.engine._constants import DAYS_PER_YEAR, HOURS_PER_DAY
from simulator.engine.kinds import ON_DEMAND
from simulator.engine.params import Params
from simulator.engine.pools import on_demand_price
from simulator.engine.processes import market, regime
from simulator.engine.strategies import StrategyTable

TERMINAL_WAIT_CAP_DAYS = 1e4  # cap on the mean wait after the horizon (see the float32 guard in the module notes)


def _marginal(st: StrategyTable, p: int) -> jax.Array:
    """Whether slot ``p`` may be the marginal rental pool, (S, 1)."""
    return (st.kind[:, p] == ON_DEMAND) & st.serves_heavy[:, p] & (st.gpus[:, p] > 0.0)


def marginal_throughput(st: StrategyTable) -> jax.Array:
    """``f``: throughput of the marginal rental pool's GPU type (1 without one), (S, 1) (see the module notes)."""
    f = jnp.ones_like(st.throughput[:, 0])
    for p in range(st.kind.shape[1]):  # later slots have lower priority: the last match wins
        f = jnp.where(_marginal(st, p), st.throughput[:, p], f)
    return f


def marginal_rental(st: StrategyTable, params: Params, log_index: jax.Array, shortage: jax.Array,
                    market_provider: int) -> tuple[jax.Array, jax.Array]:
    """``(c_T, G)``: price per GPU-hour and quota of the marginal rental pool (see the module notes), (S, N) each.

    ``st`` carries a path axis ((S, P, 1) per slot); ``log_index`` (N,) is the final ``log M_T`` and ``shortage``
    (N,) the final regime (a shortage's rental factor applies); ``market_provider`` the catalogue index of the
    market's default on-demand provider (-1: none, price 0).
    """
    slot_price = on_demand_price(st, params, log_index, shortage)  # (S, P, N), GPU type's ratio included
    offers = params.provider_on_demand_usd_per_gpu_hour
    market_price = offers[market_provider] if 0 <= market_provider < len(offers) else jnp.zeros_like(log_index)
    market_price = market.loaded_price(market_price, log_index, params.market.loading_on_demand) \
        * regime.rental_factor(shortage, params)
    price = jnp.broadcast_to(market_price, (st.kind.shape[0], log_index.shape[-1]))
    quota = jnp.broadcast_to(params.workload.clearing_gpus, price.shape)
    for p in range(st.kind.shape[1]):  # later slots have lower priority: the last match wins
        quota = jnp.where(_marginal(st, p), st.gpus[:, p], quota)
        price = jnp.where(_marginal(st, p), slot_price[:, p], price)
    return price, quota


def late_run_costs(params: Params, finish: jax.Array, lateness: jax.Array, missed_usd: jax.Array,
                   missed_after_days: jax.Array, discount_rate: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(cash, pv)`` of lateness summed over runs, (S, N); ``finish``, ``lateness`` (S, R, N)."""
    if finish.shape[1] == 0:
        zeros = jnp.zeros((finish.shape[0], finish.shape[2]), finish.dtype)
        return zeros, zeros
    per_day = jnp.stack(list(params.run_late_usd_per_day))  # (R, N)
    cost = per_day[None] * lateness + jnp.where(lateness > missed_after_days[None, :, None],
                                                missed_usd[None, :, None], 0.0)
    discount = (1.0 + discount_rate) ** (-finish / DAYS_PER_YEAR)
    return jnp.sum(cost, axis=1), jnp.sum(cost * discount, axis=1)


def terminal_shortfall(st: StrategyTable, params: Params, log_index: jax.Array, shortage: jax.Array,
                       backlog: jax.Array, run_remaining: jax.Array, efficiency: jax.Array,
                       market_provider: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(wait GPU-hour-days, delay USD, unserved USD)`` at the horizon, undiscounted, (S, N) each.

    ``backlog`` (S, N) is ``B_T``; ``run_remaining`` (S, R, N) each run's useful GPU-hours left;
    ``log_index``, ``shortage`` and ``market_provider`` as in :func:`marginal_rental`.
    """
    price, quota = marginal_rental(st, params, log_index, shortage, market_provider)
    f = marginal_throughput(st)
    clearing_rate = HOURS_PER_DAY * quota * f
    wait = backlog * jnp.minimum(backlog / (2.0 * clearing_rate), TERMINAL_WAIT_CAP_DAYS)
    left = backlog + jnp.sum(jnp.maximum(run_remaining, 0.0), axis=1)
    return wait, params.workload.delay_usd_per_gpu_hour_day * wait, left * price / (efficiency * f)
