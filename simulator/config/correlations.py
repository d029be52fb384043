"""Rank correlations between priors (the ``correlations`` list of :class:`simulator.config.schema.Config`).

The flat prior table (every prior by dotted name: ``market.drift_per_year``, ``runs.NAME.gpu_hours``) is listed here,
once, for validation and for :func:`simulator.engine.priors.prior_table`, so the names a correlation may use are the
engine's names.

Notes
-----
A Gaussian copula with Pearson correlation ``r`` between the normal scores has Spearman (rank) correlation
``rho = (6 / pi) arcsin(r / 2)`` whatever the marginals (they are monotone maps of the scores), so a declared rank
correlation ``rho`` is met with ``r = 2 sin(pi rho / 6)`` (:func:`pearson_from_rank`). The matrix ``R`` of those ``r``
over the correlated priors (1 on the diagonal) must be positive definite for its Cholesky factor to exist.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any

import numpy as np

from simulator.config.errors import ConfigError
from simulator.config.priors import PriorSpec
from simulator.config.schema import PROVIDER_PRIORS, RUN_PRIORS


def flat_priors(cfg: Any) -> dict[str, tuple[PriorSpec, dict[str, Any]]]:
    """Every prior of a config by dotted name, with its domain (field metadata): the prior groups in schema order,
    then ``runs.NAME.FIELD`` for each named run and each of :data:`RUN_PRIORS`, then ``providers.NAME.FIELD`` for each
    catalogue provider and each of :data:`PROVIDER_PRIORS`."""
    table: dict[str, tuple[PriorSpec, dict[str, Any]]] = {}
    for group in dataclasses.fields(cfg.priors):
        node = getattr(cfg.priors, group.name)
        for f in dataclasses.fields(node):
            table[f"{group.name}.{f.name}"] = (getattr(node, f.name), dict(f.metadata))
    for name, run in cfg.runs.items():
        domains = {f.name: dict(f.metadata) for f in dataclasses.fields(run)}
        for field in RUN_PRIORS:
            table[f"runs.{name}.{field}"] = (getattr(run, field), domains[field])
    for name, provider in cfg.providers.items():
        domains = {f.name: dict(f.metadata) for f in dataclasses.fields(provider)}
        for field in PROVIDER_PRIORS:
            table[f"providers.{name}.{field}"] = (getattr(provider, field), domains[field])
    return table


def pearson_from_rank(rank: float) -> float:
    """Pearson correlation of the normal scores giving Spearman ``rank`` under a Gaussian copula:
    ``r = 2 sin(pi rho / 6)``."""
    return 2.0 * math.sin(math.pi * rank / 6.0)


def correlation_matrix(cfg: Any) -> tuple[tuple[str, ...], np.ndarray]:
    """The correlated priors (in declaration order of first appearance) and the Pearson matrix ``R`` of their normal
    scores (float64); ``((), 0x0)`` when none is declared. Assumes a validated config."""
    names: list[str] = []
    for pair in cfg.correlations:
        names += [n for n in (pair.a, pair.b) if n not in names]
    matrix = np.eye(len(names))
    for pair in cfg.correlations:
        i, j = names.index(pair.a), names.index(pair.b)
        matrix[i, j] = matrix[j, i] = pearson_from_rank(pair.rank)
    return tuple(names), matrix


def check_correlations(cfg: Any) -> None:
    """One-line errors for: an unknown prior name, a prior paired with itself, a pair declared twice, a fixed prior
    in a pair, and a Pearson matrix that is not positive definite (the rank range is checked with the schema's
    bounds, ``-1 < rank < 1``)."""
    priors = flat_priors(cfg)
    seen: dict[frozenset, int] = {}
    for i, pair in enumerate(cfg.correlations):
        key = f"correlations[{i}]"
        for side in ("a", "b"):
            name = getattr(pair, side)
            if name not in priors:
                close = difflib.get_close_matches(name, list(priors), n=1)
                hint = (
                    f"did you mean {close[0]}?"
                    if close
                    else "e.g. market.drift_per_year or runs.NAME.gpu_hours"
                )
                raise ConfigError(
                    f"{key}.{side} = {name!r}: not a prior; allowed: a dotted name of one of the "
                    f"{len(priors)} priors ({hint})"
                )
            if priors[name][0].dist == "fixed":
                raise ConfigError(
                    f"{key}.{side} = {name!r}: this prior is fixed (dist: fixed); only a prior that "
                    "varies across paths can be correlated"
                )
        if pair.a == pair.b:
            raise ConfigError(
                f"{key}.b = {pair.b!r}: a prior cannot be paired with itself; b must differ from a"
            )
        both = frozenset((pair.a, pair.b))
        if both in seen:
            raise ConfigError(
                f"{key} = {pair.a} ~ {pair.b}: this pair is already declared in "
                f"correlations[{seen[both]}]; declare each pair once"
            )
        seen[both] = i
    names, matrix = correlation_matrix(cfg)
    smallest = float(np.linalg.eigvalsh(matrix).min()) if names else 1.0
    if smallest <= 1e-6:
        ranks = ", ".join(f"{p.a} ~ {p.b}: {p.rank:g}" for p in cfg.correlations)
        raise ConfigError(
            f"correlations = [{ranks}]: the implied correlation matrix is not positive definite "
            f"(smallest eigenvalue {smallest:.3g}); the ranks must be mutually consistent "
            "(weaken some of them)"
        )
