"""``python -m simulator.diff RUN_A RUN_B [--out FILE.md]``: what changed between two finished runs.

Reads each run directory's ``results.nc`` (the kept paths; its ``resolved_config`` attribute, or
``config_resolved.yaml``), ``summary.csv`` (ranks, admissibility) and ``recommendation.csv`` (best, runner-up), and
prints :func:`simulator.report.run_diff_markdown.diff_markdown`. A missing or unfinished run directory gets one
line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import xarray as xr
from omegaconf import OmegaConf

from simulator.config.errors import ConfigError, error_line


def load_run(run_dir: Path):
    """``(Dataset, resolved YAML, Decision)`` of a finished run directory; ConfigError when it is not one."""
    from simulator.decision.run_diff import Decision

    if not (run_dir / "results.nc").is_file():
        raise ConfigError(f"{run_dir}: not a finished run directory (no results.nc)")
    for name in ("summary.csv", "recommendation.csv"):
        if not (run_dir / name).is_file():
            raise ConfigError(f"{run_dir}: {name} is missing (written by every run with results.nc)")
    ds = xr.load_dataset(run_dir / "results.nc")
    resolved_file = run_dir / "config_resolved.yaml"
    resolved = resolved_file.read_text() if resolved_file.is_file() else str(ds.attrs.get("resolved_config", ""))
    decision_cfg = OmegaConf.create(resolved).get("decision", {})
    table = pd.read_csv(run_dir / "summary.csv", index_col="strategy")
    rec = pd.read_csv(run_dir / "recommendation.csv", keep_default_na=False).iloc[0]
    pick = lambda name: str(rec[name]) if str(rec[name]) not in ("", "nan", "None") else None  # noqa: E731
    decision = Decision(table[["rank", "objective", "objective_se", "admissible"]], pick("best"), pick("runner_up"),
                        str(decision_cfg.get("objective", "mean")), float(decision_cfg.get("level", 0.95)))
    return ds, resolved, decision


def diff_report(run_a: Path, run_b: Path) -> str:
    """The Markdown report comparing two run directories."""
    from simulator.decision.run_diff import config_diff, decision_changes
    from simulator.report.run_diff_markdown import diff_markdown

    ds_a, yaml_a, dec_a = load_run(run_a)
    ds_b, yaml_b, dec_b = load_run(run_b)
    changes = decision_changes(ds_a, ds_b, dec_a, dec_b)
    return diff_markdown(str(run_a), str(run_b), config_diff(yaml_a, yaml_b), changes, decisions=(dec_a, dec_b),
                         level=dec_b.level, paths=(ds_a.sizes["path"], ds_b.sizes["path"]))


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv``, print the report, and write it to ``--out`` when given."""
    parser = argparse.ArgumentParser(prog="python -m simulator.diff",
                                     description="What changed between two runs, with SEs (paired when seeds match).")
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--out", type=Path, help="also write the report to this Markdown file")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        text = diff_report(args.run_a, args.run_b)
    except ConfigError as exc:
        print(error_line(exc), file=sys.stderr)
        sys.exit(2)
    print(text, end="")
    if args.out is not None:
        args.out.write_text(text)
