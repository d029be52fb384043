"""Progress of a long run: chunks done, paths per second and the precision reached so far.

On a terminal a rich progress bar appears once the run has taken ``after_seconds`` (short runs stay quiet); when
stderr is not a terminal (a log file, a Slurm job) a log line is written every ``log_every_seconds`` instead.
The precision shown is the relative standard error of the lowest mean cost, ``sd / (sqrt(n) |mean|)``.
"""

from __future__ import annotations

import logging
import sys
import time

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from simulator.stats.accumulators import Moments

log = logging.getLogger("simulator")


class RunProgress:
    """Call :meth:`update` after every chunk and :meth:`close` at the end."""

    def __init__(self, total_paths: int, chunk: int, *, after_seconds: float = 3.0,
                 log_every_seconds: float = 30.0, enabled: bool = True):
        self.total, self.chunk = total_paths, chunk
        self.chunks = -(-total_paths // chunk)
        self.after, self.log_every, self.enabled = after_seconds, log_every_seconds, enabled
        self.start = self.last_log = time.perf_counter()
        self.bar: Progress | None = None
        self.task = None
        self.cost: Moments | None = None  # running moments of every strategy's cost, for the precision

    def update(self, done_paths: int, cost: np.ndarray) -> None:
        """Report ``done_paths`` finished; ``cost`` is the last chunk's ``(paths, strategy)`` costs."""
        if not self.enabled:
            return
        self.cost = self.cost.merge(Moments.of(cost)) if self.cost is not None else Moments.of(cost)
        mean, variance = self.cost.mean, self.cost.variance
        now = time.perf_counter()
        elapsed = now - self.start
        rate = done_paths / max(elapsed, 1e-9)
        precision = ""
        if done_paths > 1:
            best = int(np.argmin(mean))
            relative = np.sqrt(variance[best] / done_paths) / max(abs(mean[best]), 1e-300)
            precision = f"SE of lowest mean cost {relative:.3%}"
        chunks_done = -(-done_paths // self.chunk)
        if sys.stderr.isatty():
            if self.bar is None and elapsed >= self.after and done_paths < self.total:
                self.bar = Progress(TextColumn("chunks"), MofNCompleteColumn(), BarColumn(),
                                    TextColumn("{task.fields[rate]} paths/s  {task.fields[precision]}"),
                                    TimeRemainingColumn(), transient=True)
                self.bar.start()
                self.task = self.bar.add_task("run", total=self.chunks)
            if self.bar is not None:
                self.bar.update(self.task, completed=chunks_done, rate=f"{rate:,.0f}", precision=precision)
        elif now - self.last_log >= self.log_every:
            self.last_log = now
            log.info("chunk %d/%d, %s paths, %.0f paths/s, %s", chunks_done, self.chunks, f"{done_paths:,}",
                     rate, precision)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
