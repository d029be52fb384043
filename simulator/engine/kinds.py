"""Pool kinds as data: one row per kind, from which every kind list of the engine is derived.

A kind's code is its position in :data:`KINDS` (the config's ``POOL_KINDS`` order for the built-in kinds; a kind
registered later gets the next code). What a kind *offers* in a step (capacity, price, hazard...) is its terms
function in :data:`simulator.engine.pools.KIND_TERMS`; what it *is* is its row here:

=============  ===========  =============  ==============  ===========  =============  ======
kind           provider     interruptible  sensitive data  cost         max job GPUs   rented
=============  ===========  =============  ==============  ===========  =============  ======
owned          onprem       no             open            power        any            no
on_demand      hyperscaler  no             public cloud    on_demand    any            yes
spot           hyperscaler  yes            public cloud    spot         any            yes
marketplace    marketplace  yes            closed          marketplace  8 (one host)   yes
academic       academic     no             open            academic     any            no
notebook       notebook     yes            closed          notebook     1              no
reserved       hyperscaler  no             public cloud    reserved     any            yes
=============  ===========  =============  ==============  ===========  =============  ======

*Provider*: where the GPUs are, which decides where data lives. Owned, academic and notebook pools have their own
(built-in) provider; a pool of a *rented* kind rents from a provider of the catalogue (``providers``,
:mod:`simulator.config.providers`) and names it, the column being the default. Moving work or a checkpoint between
two providers pays the egress of the provider it leaves (``providers.NAME.egress_usd_per_tb``; built-in providers
charge nothing). *Interruptible*: work on
it is lost to events drawn at the kind's hazard (spot reclaims, marketplace outbids and host failures, notebook
terminations), counted per kind; a deadline-aware run whose slack is gone leaves these kinds (see
:mod:`simulator.engine.routing`). *Sensitive data* (the scenario's data policy): ``open`` pools stay open,
``closed`` pools get no capacity, ``public cloud`` pools are closed under ``policy: exclude`` and pay the compliance
markup and fee under ``policy: compliance``. *Cost*: the category that the pool's usage spend (wall GPU-hours x
price) is booked to (a ``reserved`` pool's usage price is 0: its take-or-pay commitment is booked to ``reserved``
whether used or not, :mod:`simulator.engine.reserved`). *Max job GPUs*: the widest training run the kind may host. *Rented*: capacity rented by the
GPU-hour from a provider of the catalogue: a strategy with such a pool pays cloud operations (``cloud_ops``, see
:mod:`simulator.engine.accounting`), and may hold several pools of the kind (one per provider, say).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import jax
import jax.numpy as jnp

from simulator.config.schema import DataPolicy

EMPTY = -1  # kind code of an unused slot
SensitiveData = Literal["open", "public_cloud", "closed"]


@dataclasses.dataclass(frozen=True)
class Kind:
    """One pool kind (see the table in the module docstring)."""

    name: str
    provider: str  # built-in provider, or (rented kinds) the catalogue provider a pool gets when it names none
    interruptible: bool
    sensitive_data: SensitiveData
    cost_category: str
    max_job_gpus: float = math.inf
    rented: bool = False


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("owned", "onprem", interruptible=False, sensitive_data="open", cost_category="power"),
    Kind("on_demand", "hyperscaler", interruptible=False, sensitive_data="public_cloud", cost_category="on_demand",
         rented=True),
    Kind("spot", "hyperscaler", interruptible=True, sensitive_data="public_cloud", cost_category="spot", rented=True),
    Kind("marketplace", "marketplace", interruptible=True, sensitive_data="closed", cost_category="marketplace",
         max_job_gpus=8.0, rented=True),  # no fabric between hosts
    Kind("academic", "academic", interruptible=False, sensitive_data="open", cost_category="academic"),
    Kind("notebook", "notebook", interruptible=True, sensitive_data="closed", cost_category="notebook",
         max_job_gpus=1.0),
    Kind("reserved", "hyperscaler", interruptible=False, sensitive_data="public_cloud", cost_category="reserved",
         rented=True),
)}
"""Every pool kind by name, in code order. Register a new kind with :func:`register` (or, in a test,
``monkeypatch.setitem(KINDS, name, row)``); every derived list below reads this table when called."""


def register(kind: Kind) -> int:
    """Add a kind (its code is the next free one) and return its code; its terms go in ``pools.KIND_TERMS``."""
    if kind.name in KINDS:
        raise ValueError(f"pool kind {kind.name!r} is already registered")
    KINDS[kind.name] = kind
    return code(kind.name)


def code(name: str) -> int:
    """The kind code of ``name`` (its position in :data:`KINDS`)."""
    return list(KINDS).index(name)


def kind_code() -> dict[str, int]:
    """Kind code by name."""
    return {name: i for i, name in enumerate(KINDS)}


def codes_where(**properties) -> tuple[int, ...]:
    """Codes of the kinds whose row has every given property, e.g. ``codes_where(interruptible=True)``."""
    return tuple(i for i, k in enumerate(KINDS.values())
                 if all(getattr(k, name) == value for name, value in properties.items()))


def closed_by_policy(kind: str, data: DataPolicy) -> bool:
    """Whether the data policy closes pools of ``kind`` (they then run with no capacity)."""
    if not data.sensitive:
        return False
    rule = KINDS[kind].sensitive_data
    return rule == "closed" or (rule == "public_cloud" and data.policy == "exclude")


def is_public_cloud(kind: str) -> bool:
    """Whether a sensitive-data ``compliance`` policy charges its markup and fee on pools of ``kind``."""
    return KINDS[kind].sensitive_data == "public_cloud"


def any_of(kind: jax.Array, codes: tuple[int, ...]) -> jax.Array:
    """Elementwise: is ``kind`` one of ``codes`` (False for none)."""
    out = jnp.zeros(jnp.shape(kind), bool)
    for c in codes:
        out = out | (kind == c)
    return out


OWNED = code("owned")  # the built-in kinds with behaviour of their own (fleet, seats, partnership, spot reclaims)
ACADEMIC = code("academic")
NOTEBOOK = code("notebook")
SPOT = code("spot")
ON_DEMAND = code("on_demand")
RESERVED = code("reserved")
