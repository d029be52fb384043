"""The state of a partial streamed run: what a checkpoint and a shard save, and what a resumed run starts from.

A streamed run (:func:`simulator.engine.host.run_stream`) is a fold over chunks of paths ``0, 1, ..., C - 1``
(chunk ``c`` holds paths ``[c B, (c + 1) B)``, ``B`` the rounded chunk size). After chunk ``c`` its whole state is
the statistics so far (:class:`~simulator.stats.collector.RunStatistics`, or a
:class:`~simulator.stats.collector.ChunkLog` for a shard), the kept path-level outputs so far and the next chunk
index ``c + 1``. Saved with :func:`simulator.stats.state.save` (every float64 to the bit) and loaded back, the fold
continues exactly where it stopped, so a resumed run's results equal an uninterrupted run's bit for bit.
:func:`identity` names the run the state belongs to (seed, paths, chunk size, chunk range, a hash of the config).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from simulator.config.schema import Config
from simulator.engine.devices import round_chunk
from simulator.stats import state as state_file
from simulator.stats.collector import ChunkLog, RunStatistics, restore


@dataclasses.dataclass
class PartialRun:
    """A streamed run after ``next_chunk`` chunks (see module docstring)."""

    identity: dict
    next_chunk: int
    statistics: RunStatistics | ChunkLog
    outputs: dict[str, np.ndarray]
    parameters: dict[str, np.ndarray]
    resolved: str = ""  # the run's resolved config (YAML), as the Dataset records it

    def save(self, path: Path) -> None:
        """Write atomically (temporary file, fsync, ``os.replace``): a kill leaves the previous file intact."""
        state_file.save(path, dict(identity=self.identity, next_chunk=self.next_chunk,
                                   statistics=self.statistics.state(), outputs=self.outputs,
                                   parameters=self.parameters, resolved=self.resolved))

    @classmethod
    def load(cls, path: Path) -> PartialRun:
        tree = state_file.load(path)
        return cls(tree["identity"], tree["next_chunk"], restore(tree["statistics"]), tree["outputs"],
                   tree["parameters"], tree["resolved"])


@dataclasses.dataclass
class StreamControl:
    """What :func:`~simulator.engine.host.run_stream` runs beyond a plain run: a chunk range, a start state, a hook.

    ``on_chunk(next_chunk, snapshot)`` is called after every chunk; ``snapshot()`` returns
    ``(statistics, outputs, parameters)`` so far (built only when called). The hook may raise to stop the run.
    """

    first_chunk: int = 0
    last_chunk: int | None = None  # exclusive; None: to the end
    statistics: RunStatistics | ChunkLog | None = None  # the state to continue from (a resumed run, a shard)
    outputs: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    parameters: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    on_chunk: Callable | None = None

    @classmethod
    def resuming(cls, partial: PartialRun, last_chunk: int | None = None, on_chunk: Callable | None = None):
        return cls(partial.next_chunk, last_chunk, partial.statistics, partial.outputs, partial.parameters, on_chunk)


def chunk_count(cfg: Config) -> tuple[int, int]:
    """``(B, C)``: the rounded chunk size and the number of chunks of a streamed run."""
    chunk = round_chunk(cfg.engine.chunk_size, cfg.engine.paths)
    return chunk, -(-cfg.engine.paths // chunk)


def identity(cfg: Config, first_chunk: int = 0, last_chunk: int | None = None) -> dict:
    """What a saved state must match to continue a run: seed, paths, chunk size and range, and a SHA-256 of the
    config with the settings that do not change results neutralised (plots, terminal output, progress, cache,
    checkpoint interval)."""
    chunk, chunks = chunk_count(cfg)
    neutral = dataclasses.replace(
        cfg, report=dataclasses.replace(cfg.report, plots=False, print_summary=False, progress=False),
        engine=dataclasses.replace(cfg.engine, compilation_cache=True, checkpoint_minutes=0.0))
    return dict(seed=cfg.engine.seed, paths=cfg.engine.paths, chunk=chunk, first_chunk=first_chunk,
                last_chunk=chunks if last_chunk is None else last_chunk,
                config=hashlib.sha256(repr(neutral).encode()).hexdigest())
