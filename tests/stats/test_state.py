"""The state of a partial run: RunStatistics saved and loaded to the bit, merged generically, written atomically."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from simulator.stats import state
from simulator.stats.accumulators import Moments
from simulator.stats.collector import ChunkLog, RunStatistics, restore

S, RUNS, CATS = 3, 2, 4


def _chunk(rng, n: int) -> dict[str, np.ndarray]:
    """Engine-like host outputs of ``n`` paths (every input RunStatistics reads), costs ~1e7 so rounding matters."""
    by_category = rng.lognormal(13.0, 1.0, (n, S, CATS))
    by_category[rng.random(n) < 0.2] = 0.0  # ties in the pairwise counts
    return dict(
        cost_by_category=by_category, cash_by_category=by_category * 1.1, cost=by_category.sum(axis=-1),
        delay=np.where(rng.random((n, S)) < 0.5, 0.0, rng.exponential(5.0, (n, S))),
        run_lateness_days=rng.normal(0.0, 10.0, (n, S, RUNS)),
        spend=by_category[..., :2].sum(-1), shortfall=by_category[..., 2:].sum(-1),
        delivered_gpu_hours=rng.lognormal(9.0, 0.3, (n, S)),
        peak_cash=rng.lognormal(14.0, 0.5, (n, S)), cash_need=rng.lognormal(14.0, 0.5, (n, S)),
    )


def _empty() -> RunStatistics:
    return RunStatistics(S, RUNS, CATS, capex_column=1, budget_usd=2e6, capex_budget_usd=None,
                         relative_accuracy=1e-2, funding_usd=1.5e6)


def _chunks(count: int = 7, seed: int = 3) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [_chunk(rng, n) for n in [64] * (count - 1) + [37]]


def _assert_same(a: RunStatistics, b: RunStatistics) -> None:
    """Every Dataset variable equal to the bit (NaN equal to NaN)."""
    (va, ca), (vb, cb) = a.data_vars(), b.data_vars()
    assert va.keys() == vb.keys() and ca.keys() == cb.keys()
    for name in va:
        np.testing.assert_array_equal(va[name][1], vb[name][1], err_msg=name, strict=True)
    for name in ca:
        np.testing.assert_array_equal(ca[name], cb[name], err_msg=name)


def _sequential(chunks) -> RunStatistics:
    stats = _empty()
    for c in chunks:
        stats.add(c)
    return stats


def test_saved_statistics_load_to_the_bit_and_continue_the_fold(tmp_path):
    chunks = _chunks()
    whole = _sequential(chunks)
    partial = _sequential(chunks[:3])
    state.save(tmp_path / "s.npz", partial.state())
    loaded = restore(state.load(tmp_path / "s.npz"))
    _assert_same(loaded, partial)
    for c in chunks[3:]:
        loaded.add(c)
    _assert_same(loaded, whole)
    assert loaded.moments["spend"].count == whole.paths and isinstance(loaded.moments["spend"].count, int)


def test_merging_each_chunk_in_order_is_the_sequential_fold():
    chunks = _chunks()
    merged = _empty()
    for c in chunks:
        delta = _empty()
        delta.add(c)
        merged.merge(delta)
    _assert_same(merged, _sequential(chunks))


def test_shards_of_chunk_logs_fold_into_exactly_the_sequential_fold(tmp_path):
    """Chan's merge is order-dependent: folding shard totals would differ; folding each chunk in order does not."""
    chunks = _chunks(9)
    logs = []
    for k, part in enumerate((chunks[:3], chunks[3:5], chunks[5:])):
        log = ChunkLog(_empty)
        for c in part:
            log.add(c)
        state.save(tmp_path / f"shard_{k}.npz", log.state())
        logs.append(restore(state.load(tmp_path / f"shard_{k}.npz")))
    merged = _empty()
    for log in logs:
        log.fold_into(merged)
    _assert_same(merged, _sequential(chunks))
    naive = _empty()  # shard totals merged: the same to rounding, not to the bit
    for part in (chunks[:3], chunks[3:5], chunks[5:]):
        naive.merge(_sequential(part))
    np.testing.assert_allclose(naive.moments["cost"].m2, merged.moments["cost"].m2, rtol=1e-12)


def test_a_new_accumulator_is_saved_for_free(tmp_path):
    """Anything added later (a dict of accumulators, an entry of an existing dict) is saved, loaded and merged."""
    stats = _sequential(_chunks(2))
    x = np.random.default_rng(0).normal(size=(50, 2))
    stats.replicates = {"cost": Moments.of(x)}
    stats.moments["extra"] = Moments.of(x[:, :1])
    state.save(tmp_path / "s.npz", stats.state())
    loaded = restore(state.load(tmp_path / "s.npz"))
    np.testing.assert_array_equal(loaded.replicates["cost"].m2, stats.replicates["cost"].m2)
    np.testing.assert_array_equal(loaded.moments["extra"].m2, stats.moments["extra"].m2)
    loaded.merge(stats)
    assert loaded.replicates["cost"].count == 100


def test_settings_must_agree_to_merge():
    other = RunStatistics(S, RUNS, CATS, capex_column=1, budget_usd=3e6, capex_budget_usd=None,
                          relative_accuracy=1e-2, funding_usd=1.5e6)
    with pytest.raises(ValueError, match="different settings"):
        _empty().merge(other)


def test_a_killed_save_leaves_the_previous_file(tmp_path, monkeypatch):
    """A crash while writing (here: the write raises half-way), a leftover or truncated temporary file: the previous
    state still loads, and no temporary file is read."""
    path = tmp_path / "checkpoint.npz"
    first = _sequential(_chunks(2))
    state.save(path, first.state())
    (tmp_path / ".checkpoint.npz.abc.tmp").write_bytes(path.read_bytes()[:100])  # a kill mid-write, earlier

    def crash(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        state.save(path, _sequential(_chunks(5)).state())
    monkeypatch.undo()
    _assert_same(restore(state.load(path)), first)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".checkpoint.npz.abc.tmp", "checkpoint.npz"]


def test_the_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        state.save(tmp_path / "s.npz", {"x": np.arange(3)})
    finally:
        os.umask(old)
    assert (tmp_path / "s.npz").stat().st_mode & 0o777 == 0o644


def test_only_the_listed_classes_save_and_load(tmp_path):
    manifest = {"class": "pathlib:Path", "fields": {}}
    with pytest.raises(ValueError, match="simulator.stats.state.CLASSES"):
        state.decode(manifest, {})  # a file never makes the loader import or build anything else

    @dataclasses.dataclass
    class Stray:
        x: int = 1

    with pytest.raises(TypeError, match="cannot save a .*Stray"):
        state.encode({"stray": Stray()})
