"""Numbers as text: one money formatter, one number formatter, one label for a coordinate value.

Every report, plot and sweep summary formats through these, so ``$4.15M ± 0.14M`` reads the same everywhere:

* :func:`money_pm`: USD in millions from $100k, thousands from $1k, rounded to the precision of its standard error;
* :func:`number_pm`: a plain number with its standard error, rounded the same way;
* :func:`value_label`: a swept or pinned value (4 significant digits, or the text itself);
* :func:`markdown_table`: a titled Markdown table from a header and rows of cells.
"""

from __future__ import annotations

import numpy as np


def _decimals(se: float | None, scale: float) -> int:
    """Decimals that show a standard error ``se`` (in units of ``scale``) to one significant digit, or two when
    its leading digit is 1 or 2 (so 0.14 and 0.008, not 0.1 and 0.0080)."""
    if se is None or not np.isfinite(se) or se <= 0:
        return 2
    exponent = np.floor(np.log10(se / scale))
    leading = se / scale / 10**exponent
    return int(np.clip(-exponent + (1 if leading < 2.95 else 0), 0, 6))


def money_pm(value: float, se: float | None = None) -> str:
    """``$4.15M ± 0.14M``: money in millions (thousands below $100k), rounded to the precision of its SE.

    Parameters
    ----------
    value : float
        USD; NaN or inf shows as ``—``.
    se : float, optional
        Its standard error. Without one: two decimals in millions, none in thousands (``$4.15M``, ``$12k``).
    """
    if not np.isfinite(value):
        return "—"
    size = max(abs(value), se or 0.0)
    scale, unit = (1e6, "M") if size >= 1e5 else (1e3, "k") if size >= 1e3 else (1.0, "")
    d = _decimals(se, scale) if se is not None else (2 if scale == 1e6 else 0)
    sign = "-" if value < 0 else ""
    text = f"{sign}${abs(value) / scale:,.{d}f}{unit}"
    return text if se is None or not np.isfinite(se) else f"{text} ± {se / scale:,.{d}f}{unit}"


def money_tick(value: float, _position=None) -> str:
    """A money axis tick (:data:`simulator.report.figures.MONEY`): :func:`money_pm` without an SE."""
    return money_pm(value)


def number_pm(value: float, se: float | None = None, decimals: int | None = None) -> str:
    """A plain number with its SE, rounded to the SE's precision (at least ``decimals``)."""
    if not np.isfinite(value):
        return "—"
    if se is not None and np.isfinite(se) and se < 1e-9 * max(1.0, abs(value)):
        se = 0.0  # float residue of a constant (e.g. no delay on any path)
    d = _decimals(se, 1.0) if se is not None else 2
    d = max(d, decimals or 0) if se is None or not np.isfinite(se) or se > 0 else (decimals or 2)
    text = f"{value:,.{d}f}"
    return text if se is None or not np.isfinite(se) else f"{text} ± {se:,.{d}f}"


def value_label(value) -> str:
    """A swept or pinned value as a tick or in a sentence: ``3.1``, ``1,024``, ``0.0125``, ``250,000``, or the text."""
    if not isinstance(value, float | int | np.floating | np.integer):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:,.4g}"


def markdown_table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    """Lines of a Markdown section: a blank line, ``## title``, a blank line, then the table of ``rows``."""
    lines = ["", f"## {title}", "", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
