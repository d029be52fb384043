"""Count the fused loops (XLA kernels) the engine runs per step: a measure that machine load does not change.

Run from the repository root::

    python benchmarks/fusions.py                       # scenario=hybrid, the default run's strategies
    python benchmarks/fusions.py scenario=onprem engine.prng=philox

It compiles :func:`simulator.engine.scan.simulate_chunk_jit` for one chunk (``--paths``, default 1,024; the counts
do not depend on it), reads the optimised HLO (``jax.jit(...).lower(...).compile().as_text()``), finds the daily
``lax.scan`` (the ``while`` loop nested in the monthly one) and counts, in its body and every computation it calls
(conditional branches, calls; not the bodies of the fusions themselves):

* ``fusion``: fused elementwise loops (each one pass over its arrays on CPU, one kernel launch on GPU);
* ``other``: the other instructions that do work (copies, dynamic slices and updates, reductions, sorts, custom
  calls...), i.e. everything but parameters, tuples, constants, bitcasts and control flow;
* ``fused ops``: the operations inside those fusions (a proxy for the arithmetic per element);
* ``conditional``: conditionals (each a branch on the host on CPU, a device-host round trip on GPU); only the
  branch taken when the predicate is true is counted (the engine's fusion boundaries and "some rate > 0" draws).

It also prints the same counts for the whole program, and the compile time (under load, that one is not reliable).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jax.numpy as jnp  # noqa: E402

from simulator.config.load import load_config  # noqa: E402
from simulator.engine.host import build_inputs, root_key  # noqa: E402
from simulator.engine.scan import simulate_chunk_jit  # noqa: E402

FREE = {"parameter", "get-tuple-element", "tuple", "constant", "bitcast", "while", "conditional", "call",
        "after-all", "partition-id", "replica-id"}
_HEADER = re.compile(r"^(?:ENTRY )?%?([\w.\-]+) .*\{\s*$")
_INSTR = re.compile(r"^\s*(?:ROOT )?%?[\w.\-]+ = .*?\s([a-z][a-z0-9\-]*)\(")
_CALLED = re.compile(r"(?:body|to_apply|true_computation|false_computation)=%?([\w.\-]+)"
                     r"|branch_computations=\{([^}]*)\}")


def computations(hlo: str) -> dict[str, list[str]]:
    """HLO text -> {computation name: its instruction lines}; the entry computation is also under ``"ENTRY"``."""
    out: dict[str, list[str]] = {}
    current = None
    for line in hlo.splitlines():
        head = _HEADER.match(line)
        if head and not line.startswith(" "):
            current = head.group(1)
            out[current] = []
            if line.startswith("ENTRY"):
                out["ENTRY"] = out[current]
        elif current is not None and line.strip() and line.strip() != "}":
            out[current].append(line)
    return out


def opcode(line: str) -> str | None:
    m = _INSTR.match(line)
    return m.group(1) if m else None


def called(line: str) -> list[str]:
    """Computations an instruction runs as control flow (loop bodies, branches, calls), not fusion bodies."""
    names = []
    for m in _CALLED.finditer(line):
        if m.group(1):
            names.append(m.group(1))
        else:  # lax.cond(pred, true_fn, false_fn) lowers to branches {false_fn, true_fn}: the engine's predicates
            # (materialise, "some rate > 0") are true at run time, so only the last branch runs
            names.append([n.strip().lstrip("%") for n in m.group(2).split(",") if n.strip()][-1])
    return names


def fused_ops(comps: dict[str, list[str]], line: str) -> int:
    """Instructions that compute (not parameters, constants, bitcasts, tuples) inside a fusion's body."""
    m = re.search(r"calls=%?([\w.\-]+)", line)
    if not m or m.group(1) not in comps:
        return 0
    return sum(1 for body_line in comps[m.group(1)] if (op := opcode(body_line)) is not None and op not in FREE)


def count(comps: dict[str, list[str]], root: str) -> Counter:
    """Instruction kinds run by ``root`` and the computations it calls (control flow only)."""
    tally: Counter = Counter()
    stack, seen = [root], set()
    while stack:
        name = stack.pop()
        if name in seen or name not in comps:
            continue
        seen.add(name)
        for line in comps[name]:
            op = opcode(line)
            if op is None:
                continue
            if op == "fusion":
                tally["fusion"] += 1
                tally["fused ops"] += fused_ops(comps, line)
            elif op == "conditional":
                tally["conditional"] += 1
            elif op not in FREE:
                tally["other"] += 1
                tally[f"other:{op}"] += 1
            if op != "fusion":
                stack += called(line)
    return tally


def loop_bodies(comps: dict[str, list[str]], root: str) -> list[str]:
    """Bodies of the while loops directly in ``root`` (or in its conditionals/calls)."""
    out, stack, seen = [], [root], set()
    while stack:
        name = stack.pop()
        if name in seen or name not in comps:
            continue
        seen.add(name)
        for line in comps[name]:
            op = opcode(line)
            if op == "while":
                out += re.findall(r"body=%?([\w.\-]+)", line)
            elif op in ("conditional", "call"):
                stack += called(line)
    return out


def step_body(comps: dict[str, list[str]]) -> str:
    """The daily scan's body: the while loop inside the monthly one (the largest such body if several)."""
    inner = [b for outer in loop_bodies(comps, "ENTRY") for b in loop_bodies(comps, outer)]
    if not inner:
        raise RuntimeError("no nested while loop found in the optimised HLO")
    return max(inner, key=lambda b: count(comps, b)["fusion"])


def measure(overrides: list[str], paths: int, save_hlo: str | None = None) -> dict:
    cfg = load_config(overrides)
    inputs, grid = build_inputs(cfg)
    key = root_key(cfg.engine.seed, getattr(cfg.engine, "prng", "threefry"))
    ids = jnp.arange(paths, dtype=jnp.uint32)
    t0 = time.process_time()
    compiled = simulate_chunk_jit.lower(inputs, key, ids, grid).compile()
    cpu = time.process_time() - t0
    text = compiled.as_text()
    if save_hlo:
        Path(save_hlo).write_text(text)
    comps = computations(text)
    body = step_body(comps)
    return dict(step=count(comps, body), program=count(comps, "ENTRY"), compile_cpu_s=cpu,
                strategies=len(cfg.strategies))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("overrides", nargs="*", default=[], help="config overrides (default: scenario=hybrid)")
    ap.add_argument("--paths", type=int, default=1024)
    ap.add_argument("--ops", action="store_true", help="also list the non-fusion instructions by opcode")
    ap.add_argument("--save-hlo", metavar="PATH", help="write the optimised HLO text there")
    args = ap.parse_args(argv)
    overrides = args.overrides or ["scenario=hybrid"]
    m = measure(overrides, args.paths, args.save_hlo)
    step, prog = m["step"], m["program"]
    print(f"# {' '.join(overrides)}: {m['strategies']} strategies, {args.paths} paths, "
          f"compile {m['compile_cpu_s']:.1f} s CPU")
    print(f"per step: {step['fusion']} fusions ({step['fused ops']} operations inside them), {step['other']} other "
          f"kernels, {step['conditional']} conditionals")
    print(f"whole program: {prog['fusion']} fusions, {prog['other']} other kernels, "
          f"{prog['conditional']} conditionals")
    if args.ops:
        for k, v in sorted(step.items()):
            if k.startswith("other:"):
                print(f"  step {k[6:]}: {v}")


if __name__ == "__main__":
    main()
