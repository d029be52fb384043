"""What a coarser time step costs in accuracy: the main outputs at several ``engine.step_days`` against their SEs.

Run from the repository root (~1 minute per step size on 2 idle cores, compile included)::

    python benchmarks/step_size.py                                  # scenario=hybrid, 4,000 paths, 1/2/3.5/7 days
    python benchmarks/step_size.py --paths 10000 --steps 1 7 scenario=steady

Every step size runs the same paths (same seed, same path ids): the per-path priors (growth, drift, prices...) are
the same draws, only the step-level noise differs, so the difference to the 1-day step is estimated path by path
with its paired SE (``sd(d_i) / sqrt(n)``, ``d_i`` the per-path difference of the metric's influence value,
:func:`simulator.stats.estimators.difference_and_se`). Outputs, with the strategies ranked by mean cost at the
1-day step:

* mean cost of service of every strategy (USD, present value);
* the top-two margin, ``mean(cost_second - cost_best)``;
* P(late) of the best strategy (some training run finishes after its deadline);
* CVaR95 of the best strategy's cost (mean of the worst 5% of paths).

A difference within ~2 paired SEs is within noise at this path count. The run time is that of a second, identical
simulation (the compiled program reused): wall seconds and CPU seconds (all threads; steadier under load).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from simulator.config.load import load_config  # noqa: E402
from simulator.engine.host import simulate  # noqa: E402
from simulator.stats.estimators import difference_and_se, objective_value_and_se, some_run_late  # noqa: E402

LEVEL = 0.95


def run(overrides: list[str], step_days: float, paths: int) -> dict:
    cfg = load_config([*overrides, f"engine.step_days={step_days}", f"engine.paths={paths}",
                       f"report.path_level_paths={paths}", "report.progress=false"])
    t0 = time.perf_counter()
    sim = simulate(cfg)  # compiles this grid's program
    first = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    sim = simulate(cfg)  # the same program again: the run alone
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return dict(cost=np.asarray(sim.outputs["cost"], float), late=some_run_late(sim.outputs["run_lateness_days"]),
                wall=wall, cpu=cpu, compile=first - wall, strategies=list(cfg.strategies))


def metrics(r: dict, best: int, second: int) -> dict[str, tuple[np.ndarray, str]]:
    """Per-path values and the objective they are averaged by."""
    out = {f"mean {s}": (r["cost"][:, k], "mean") for k, s in enumerate(r["strategies"])}
    out["margin (2nd - best)"] = (r["cost"][:, second] - r["cost"][:, best], "mean")
    out["P(late) best"] = (r["late"][:, best].astype(float), "mean")
    out["CVaR95 best"] = (r["cost"][:, best], "cvar")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("overrides", nargs="*", default=[], help="config overrides (default: scenario=hybrid)")
    ap.add_argument("--paths", type=int, default=4000)
    ap.add_argument("--steps", type=float, nargs="+", default=[1.0, 2.0, 3.5, 7.0], help="engine.step_days values")
    args = ap.parse_args(argv)
    overrides = args.overrides or ["scenario=hybrid"]
    runs = {}
    for dt in args.steps:
        runs[dt] = run(overrides, dt, args.paths)
        print(f"# step_days={dt:g}: run {runs[dt]['wall']:.1f} s ({runs[dt]['cpu']:.1f} s CPU), compile "
              f"~{runs[dt]['compile']:.1f} s", flush=True)
    ref = runs[args.steps[0]]
    order = np.argsort(ref["cost"].mean(axis=0))
    best, second = int(order[0]), int(order[1])
    print(f"# {' '.join(overrides)}, {args.paths} paths, seed as configured; best at step {args.steps[0]:g}: "
          f"{ref['strategies'][best]}, second {ref['strategies'][second]}. Cells: value (SE); for coarser steps "
          f"value, difference to step {args.steps[0]:g} (paired SE) and z = difference / SE. Money in USD M.")
    names = list(metrics(ref, best, second))
    print("| output | " + " | ".join(f"step {dt:g} d" for dt in args.steps) + " |")
    print("|---|" + "---|" * len(args.steps))
    for name in names:
        scale = 1.0 if name.startswith("P(") else 1e-6
        x0, objective = metrics(ref, best, second)[name]
        v0, se0 = objective_value_and_se(x0, objective, LEVEL)
        cells = [f"{v0 * scale:.4g} ({se0 * scale:.2g})"]
        for dt in args.steps[1:]:
            x, _ = metrics(runs[dt], best, second)[name]
            v, _ = objective_value_and_se(x, objective, LEVEL)
            d, se = difference_and_se(x, x0, objective, LEVEL)
            z = d / se if se > 0 else float("nan")
            cells.append(f"{v * scale:.4g}, {d * scale:+.3g} ({se * scale:.2g}), z={z:+.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("| run time, wall (CPU) | " + " | ".join(f"{runs[dt]['wall']:.1f} s ({runs[dt]['cpu']:.1f} s)"
                                                    for dt in args.steps) + " |")


if __name__ == "__main__":
    main()
