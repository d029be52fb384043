"""The generic dataclass field helper of the schemas: a default with its allowed range.

The metadata is what :mod:`simulator.config.validate` checks: ``ge``/``gt``/``le``/``lt`` bounds, ``choices`` for a
string, ``subset_of`` for a list. A prior's field (:func:`simulator.config.priors.prior`) carries the same bounds as
the domain its whole support must lie in.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any


def bounded(default: Any = None, **limits: Any) -> Any:
    """A dataclass field with range metadata (``ge``, ``gt``, ``le``, ``lt``, ``choices``, ``subset_of``)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=limits)
    return field(default=default, metadata=limits)

