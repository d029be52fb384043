"""What every figure shares: new axes, the money axis, the theme and the save loop (one resolution for all PNGs).

No module of the package picks a matplotlib backend, and no figure goes through ``matplotlib.pyplot``: figures are
plain :class:`~matplotlib.figure.Figure` objects saved with ``fig.savefig`` (which picks the canvas for the file
format), so a notebook's backend and its open figures are never touched and nothing is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from simulator.report.format import money_tick

DPI = 120  # every PNG the package writes
MONEY = FuncFormatter(money_tick)  # USD axis: $4.15M, $12k


def new_axes(ax: Axes | None, size: tuple[float, float] = (8, 5)) -> Axes:
    """``ax``, or the axes of a new figure of ``size`` inches (constrained layout)."""
    if ax is None:
        ax = Figure(figsize=size, layout="constrained").subplots()
    return ax


def save_figures(
    draws: Iterable[tuple[str, Callable[[], Axes | Figure | None]]], directory: Path, *, theme: bool = True
) -> list[Path]:
    """Draw each ``(name, draw)`` and save it as ``directory/NAME.png``; a draw that returns None is skipped.

    Parameters
    ----------
    draws : iterable of (str, callable)
        ``draw()`` returns the Axes (or Figure) to save, or None when there is nothing to plot.
    directory : Path
        Where the PNGs go (it exists).
    theme : bool
        Draw in seaborn's ``whitegrid`` theme (the distribution and decision plots); False keeps the current style.

    Returns
    -------
    list of Path
        The files written, in order (the figures are not registered with pyplot: nothing to close).
    """
    if theme:
        sns.set_theme(style="whitegrid", context="notebook")
    written = []
    for name, draw in draws:
        drawn = draw()
        if drawn is None:
            continue
        figure = drawn if isinstance(drawn, Figure) else drawn.figure
        path = Path(directory) / f"{name}.png"
        figure.savefig(path, dpi=DPI)
        written.append(path)
    return written
