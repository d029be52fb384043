"""Save and load trees of arrays, accumulators and scalars exactly, as one ``.npz`` file written atomically.

A *tree* is nested ``dict`` (string keys), ``list``, the accumulators of :mod:`simulator.stats.accumulators` (the
dataclasses of :data:`CLASSES`: a file names a class only from that list, nothing is imported by name), NumPy arrays
and Python
scalars (``int``, ``float``, ``bool``, ``str``, ``None``). :func:`encode` turns it into a JSON manifest plus a flat
dict of arrays; every number is stored as a NumPy array, so float64 values come back to the bit.

:func:`save` writes the file atomically: a temporary file in the same directory, ``fsync``, then ``os.replace``
(and an ``fsync`` of the directory), so a reader sees the previous file or the new one, never a partial one; a
process killed while writing leaves at most a stray ``.tmp`` file, which :func:`load` never reads.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from simulator.stats.accumulators import CoMoments, LogSketch, Moments

CLASSES = {f"{c.__module__}:{c.__qualname__}": c for c in (Moments, CoMoments, LogSketch)}  # what a state may hold
MANIFEST = "__manifest__"
_SCALARS = {"int": int, "float": float, "bool": bool}


def encode(tree: Any) -> tuple[dict, dict[str, np.ndarray]]:
    """``(manifest, arrays)``: a JSON-able description of ``tree`` whose leaves point into ``arrays``."""
    arrays: dict[str, np.ndarray] = {}

    def walk(node):
        if node is None or isinstance(node, str):
            return node
        if isinstance(node, dict):
            if not all(isinstance(k, str) for k in node):
                raise TypeError("state dicts need string keys")
            return {"dict": {k: walk(v) for k, v in node.items()}}
        if isinstance(node, (list, tuple)):
            return {"list": [walk(v) for v in node]}
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            cls = type(node)
            if CLASSES.get(f"{cls.__module__}:{cls.__qualname__}") is not cls:
                raise TypeError(f"cannot save a {cls.__qualname__} in a state file (add it to CLASSES)")
            fields = {f.name: walk(getattr(node, f.name)) for f in dataclasses.fields(node)}
            return {"class": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
        for kind, typ in _SCALARS.items():  # bool before int would matter: type(True) is bool, checked exactly
            if type(node) is typ:
                key = f"a{len(arrays)}"
                arrays[key] = np.asarray(node)
                return {kind: key}
        if isinstance(node, (np.ndarray, np.generic)):
            key = f"a{len(arrays)}"
            arrays[key] = np.asarray(node)
            return {"array": key}
        raise TypeError(f"cannot save a {type(node).__name__} in a state file")

    return walk(tree), arrays


def decode(manifest: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The tree :func:`encode` described (dataclasses only from ``simulator.stats`` modules)."""
    if manifest is None or isinstance(manifest, str):
        return manifest
    (kind, value), *rest = manifest.items()
    if kind == "dict":
        return {k: decode(v, arrays) for k, v in value.items()}
    if kind == "list":
        return [decode(v, arrays) for v in value]
    if kind == "class":
        return _dataclass(value)(**{k: decode(v, arrays) for k, v in manifest["fields"].items()})
    if kind == "array":
        return np.array(arrays[value])
    return _SCALARS[kind](arrays[value][()])


def _dataclass(name: str) -> type:
    if name not in CLASSES:
        raise ValueError(f"a state file may only hold the classes of simulator.stats.state.CLASSES, not {name}")
    return CLASSES[name]


def save(path: Path, tree: Any) -> None:
    """Write ``tree`` to ``path`` (``.npz``) atomically (see module docstring)."""
    path = Path(path)
    manifest, arrays = encode(tree)
    arrays[MANIFEST] = np.asarray(json.dumps(manifest))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def load(path: Path) -> Any:
    """The tree saved in ``path`` by :func:`save`, every float to the bit."""
    with np.load(Path(path), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return decode(json.loads(str(arrays.pop(MANIFEST))), arrays)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
