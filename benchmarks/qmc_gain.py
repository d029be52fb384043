"""What randomised QMC (``engine.sampling=qmc``) buys: variance reduction at equal paths, and time to a decision.

Run from the repository root (or through ``python benchmarks/throughput.py --qmc``)::

    python benchmarks/qmc_gain.py                       # hybrid and steady, 6 months, 40 seeds x 4,096 paths
    python benchmarks/qmc_gain.py --reps 8 --paths 1024 --scenarios hybrid   # a smoke test

Notes
-----
For each scenario, ``K`` replications (seeds ``0 .. K-1``) of ``N`` paths are run with ``mc`` and with ``qmc``
(``engine.qmc_scrambles`` scrambles, so ``N / R`` Sobol points each). The best strategy ``b`` and the runner-up ``r``
are those of the pooled mean cost. Per replication: the best's mean cost, the top-two margin
``mean(cost_r - cost_b)``, ``P(late)`` of the best (of the strategy whose ``P(late)`` varies most under ``mc`` when
the best's is always 0) and the best's ``CVaR95``. The variance reduction factor of each is
``VRF = s^2_mc / s^2_qmc`` over the ``K`` replications; with normal estimates ``VRF / (sigma^2_mc / sigma^2_qmc)``
follows ``F(K - 1, K - 1)``, so the 95% interval is ``[VRF / F_0.975, VRF / F_0.025]``. ``SE ratio`` is the root
mean square of the reported QMC SE of the best's mean cost (the spread between scrambles) over the observed sd of
the estimate: near 1 when the SEs are honest.

Time to target: ``engine.paths=auto`` (chunks of ``--qmc-auto-chunk`` paths) until ``decision.target_relative_se``
and the top-two separation hold (:func:`simulator.decision.analyse.precision_rule`); the paths it needed and the wall
seconds of :func:`simulator.engine.host.simulate` after a warm-up call compiled the chunk (stopping-rule checks
included). The machine is shared: read wall times as indicative.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from simulator.config.load import load_config  # noqa: E402
from simulator.decision.analyse import precision_rule  # noqa: E402
from simulator.engine.host import build_inputs, run_paths, simulate  # noqa: E402
from simulator.stats.estimators import cvar_and_se, se_of_mean, some_run_late  # noqa: E402
from simulator.stats.replicates import path_groups  # noqa: E402


def _config(scenario: str, sampling: str, months: int, chunk: int):
    cfg = load_config([f"scenario={scenario}"])
    cfg.engine.horizon_months, cfg.engine.sampling, cfg.engine.chunk_size = months, sampling, chunk
    cfg.report.progress = False
    return cfg


def replications(scenario: str, sampling: str, reps: int, paths: int, months: int, chunk: int) -> dict:
    """Per-replication estimates (reps, S) of the mean cost, P(late) and CVaR95, the reported SE of each mean cost,
    and the seconds per replication."""
    cfg = _config(scenario, sampling, months, chunk)
    inputs, grid = build_inputs(cfg)
    groups = path_groups(np.arange(paths), cfg.engine.qmc_scrambles if sampling == "qmc" else 0)
    out = {"mean": [], "late": [], "cvar": [], "se": []}
    run_paths(inputs, grid, 10_000, chunk, chunk, 0)  # compile outside the timing
    t0 = time.perf_counter()
    for seed in range(reps):
        outputs, _, _ = run_paths(inputs, grid, seed, paths, chunk, 0)
        cost = outputs["cost"]
        out["mean"].append(cost.mean(axis=0))
        out["se"].append(se_of_mean(cost, axis=0, groups=groups))
        out["late"].append(some_run_late(outputs["run_lateness_days"]).mean(axis=0))
        out["cvar"].append([cvar_and_se(cost[:, s], 0.95)[0] for s in range(cost.shape[1])])
    result = {name: np.asarray(values, float) for name, values in out.items()}
    result["seconds"] = (time.perf_counter() - t0) / reps
    result["names"] = list(cfg.strategies)
    return result


def vrf(mc: np.ndarray, qmc: np.ndarray) -> tuple[float, float, float]:
    """``s^2_mc / s^2_qmc`` and its 95% F interval (module Notes)."""
    k1, k2 = len(mc) - 1, len(qmc) - 1
    ratio = float(np.var(mc, ddof=1) / np.var(qmc, ddof=1)) if np.var(qmc) > 0 else float("inf")
    return ratio, ratio / stats.f.ppf(0.975, k1, k2), ratio / stats.f.ppf(0.025, k1, k2)


def gain_rows(scenario: str, reps: int, paths: int, months: int, chunk: int) -> list[dict]:
    """The variance reduction of the four estimates on one scenario (one row each)."""
    mc = replications(scenario, "mc", reps, paths, months, chunk)
    qmc = replications(scenario, "qmc", reps, paths, months, chunk)
    pooled = np.concatenate([mc["mean"], qmc["mean"]]).mean(axis=0)
    best, runner = np.argsort(pooled)[:2]
    late = best if np.var(mc["late"][:, best]) > 0 else int(np.argmax(np.var(mc["late"], axis=0)))
    names = mc["names"]
    estimates = {
        f"mean cost ({names[best]})": (lambda r: r["mean"][:, best]),
        f"margin ({names[runner]} - {names[best]})": (lambda r: r["mean"][:, runner] - r["mean"][:, best]),
        f"P(late) ({names[late]})": (lambda r: r["late"][:, late]),
        f"CVaR95 ({names[best]})": (lambda r: r["cvar"][:, best]),
    }
    rows = []
    for label, pick in estimates.items():
        ratio, lo, hi = vrf(pick(mc), pick(qmc))
        rows.append(dict(scenario=scenario, estimate=label, value=float(pick(qmc).mean()),
                         sd_mc=float(np.std(pick(mc), ddof=1)), sd_qmc=float(np.std(pick(qmc), ddof=1)),
                         vrf=ratio, lo=lo, hi=hi))
    observed = np.std(qmc["mean"][:, best], ddof=1)
    rows[0]["se_ratio"] = float(np.sqrt(np.mean(qmc["se"][:, best] ** 2)) / observed)
    rows[0]["seconds"] = (mc["seconds"], qmc["seconds"])
    return rows


def time_to_target(scenario: str, sampling: str, months: int, chunk: int, max_paths: int) -> tuple[int, float]:
    """Paths and wall seconds (compile excluded) ``engine.paths=auto`` takes to meet the precision rule."""
    cfg = _config(scenario, sampling, months, chunk)
    cfg.engine.paths, cfg.engine.max_paths = "auto", max_paths
    inputs, grid = build_inputs(cfg)
    run_paths(inputs, grid, 10_000, chunk, chunk, 0)  # compile the chunk shape outside the timing
    t0 = time.perf_counter()
    sim = simulate(cfg, enough=precision_rule(cfg))
    return int(sim.outputs["cost"].shape[0]), time.perf_counter() - t0


def print_tables(scenarios: list[str], reps: int, paths: int, months: int, chunk: int, auto_chunk: int,
                 max_paths: int) -> None:
    print(f"\n### QMC vs MC: variance reduction at {paths:,} paths ({reps} seeds each, {months} months)\n")
    print("| scenario | estimate | value | sd MC | sd QMC | VRF | 95% interval |")
    print("|---|---|---|---|---|---|---|")
    notes = []
    for scenario in scenarios:
        rows = gain_rows(scenario, reps, paths, months, chunk)
        for row in rows:
            print(f"| {row['scenario']} | {row['estimate']} | {row['value']:.4g} | {row['sd_mc']:.3g} | "
                  f"{row['sd_qmc']:.3g} | {row['vrf']:.2f} | {row['lo']:.2f}-{row['hi']:.2f} |")
        mc_s, qmc_s = rows[0]["seconds"]
        notes.append(f"{scenario}: reported QMC SE / observed sd of the mean cost = {rows[0]['se_ratio']:.2f}; "
                     f"seconds per replication mc {mc_s:.2f}, qmc {qmc_s:.2f}")
    print("\n" + "\n".join(f"- {n}" for n in notes))
    print(f"\n### Time to decision.target_relative_se with engine.paths=auto (chunks of {auto_chunk:,}, "
          f"at most {max_paths:,} paths; compile excluded; shared machine, indicative)\n")
    print("| scenario | sampling | paths | seconds |")
    print("|---|---|---|---|")
    for scenario in scenarios:
        for sampling in ("mc", "qmc"):
            n, seconds = time_to_target(scenario, sampling, months, auto_chunk, max_paths)
            capped = " (cap)" if n >= max_paths else ""
            print(f"| {scenario} | {sampling} | {n:,}{capped} | {seconds:.1f} |")


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--qmc-scenarios", dest="scenarios", nargs="+", default=["hybrid", "steady"])
    ap.add_argument("--qmc-reps", dest="reps", type=int, default=40, help="seeds per sampling method")
    ap.add_argument("--qmc-paths", dest="paths", type=int, default=4096, help="paths per replication")
    ap.add_argument("--qmc-months", dest="months", type=int, default=6)
    ap.add_argument("--qmc-chunk", dest="chunk", type=int, default=4096)
    ap.add_argument("--qmc-auto-chunk", dest="auto_chunk", type=int, default=1024)
    ap.add_argument("--qmc-max-paths", dest="max_paths", type=int, default=65_536)


def run(args: argparse.Namespace) -> None:
    print_tables(args.scenarios, args.reps, args.paths, args.months, args.chunk, args.auto_chunk, args.max_paths)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser)
    run(parser.parse_args())
