"""The market's regime: normal or GPU shortage, a two-state Markov chain per path shared by every strategy.

Notes
-----
*Chain.* With ``q`` the long-run shortage fraction (``regime.shortage_fraction``) and ``L`` the mean shortage spell
in months (``regime.shortage_spell_months``), per step of ``dt`` days (``D = 365.25 / 12`` days a month)::

    p_exit = 1 - exp(-dt / (L D)),     p_enter = min(1, p_exit q / (1 - q))

the spot availability chain's formulas (:func:`simulator.engine.processes.spot.transition_probabilities`, with
"shortage" in the role of "unavailable"). Its stationary shortage fraction is ``p_enter / (p_enter + p_exit) = q``
and a spell lasts ``dt / p_exit`` days on average (geometric in steps: ``L D + dt / 2`` to first order in
``dt / (L D)``). The initial state is drawn from the stationary distribution: shortage iff ``u_0 < q``. With
``q = 0`` a path is never in a shortage and every effect below is a factor 1: the model is exactly the one without
a regime.

*Effects in a shortage* (factor 1 in the normal regime):

* rental prices (on-demand, spot, marketplace) are ``m_rent`` times the normal price (:func:`rental_factor`);
* an owned order placed in a shortage (at t=0 or an expansion) is quoted ``m_hw`` times the normal quote and
  delivered after ``m_lead`` times the normal lead time (:func:`hardware_factor`, :func:`lead_time_factor`);
* spot's availability chain steps with the unavailable fraction ``f_s`` (``regime.spot_unavailable_fraction``)
  instead of ``spot.unavailable_fraction`` (:func:`spot_unavailable_fraction`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simulator.engine._constants import DAYS_PER_MONTH
from simulator.engine.processes import spot


def transition_probabilities(shortage_fraction: jax.Array, spell_months: jax.Array,
                             dt_days: float) -> tuple[jax.Array, jax.Array]:
    """``(p_enter, p_exit)`` per step: the spot chain's formulas with ``f = q``, ``L = spell_months D``."""
    return spot.transition_probabilities(shortage_fraction, spell_months * DAYS_PER_MONTH, dt_days)


def initial_shortage(u: jax.Array, shortage_fraction: jax.Array) -> jax.Array:
    """The state at t=0 from one uniform: a shortage iff ``u < q`` (the stationary distribution)."""
    return u < shortage_fraction


def shortage_step(shortage: jax.Array, u: jax.Array, p_enter: jax.Array, p_exit: jax.Array) -> jax.Array:
    """Next state from one uniform ``u``: the spot availability step with ``available = not shortage``."""
    return ~spot.availability_step(~shortage, u, p_enter, p_exit)


def _factor(shortage: jax.Array, multiplier: jax.Array) -> jax.Array:
    return jnp.where(shortage, multiplier, 1.0)


def rental_factor(shortage: jax.Array, params) -> jax.Array:
    """Factor on every rented kind's price: ``m_rent`` in a shortage, else 1 (``params`` a :class:`Params`)."""
    return _factor(shortage, params.regime.rental_price_multiplier)


def hardware_factor(shortage: jax.Array, params) -> jax.Array:
    """Factor on the hardware quote of an order placed now: ``m_hw`` in a shortage, else 1."""
    return _factor(shortage, params.regime.hardware_price_multiplier)


def lead_time_factor(shortage: jax.Array, params) -> jax.Array:
    """Factor on the lead time of an order placed now: ``m_lead`` in a shortage, else 1."""
    return _factor(shortage, params.regime.lead_time_multiplier)


def spot_unavailable_fraction(shortage: jax.Array, params) -> jax.Array:
    """Spot's long-run unavailable fraction in the current regime: ``f_s`` in a shortage, else ``f``."""
    return jnp.where(shortage, params.regime.spot_unavailable_fraction, params.spot.unavailable_fraction)
