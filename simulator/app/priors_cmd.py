"""``python -m simulator.priors [--out DIR] scenario=NAME [key=value ...]``: the effective priors, printed and drawn.

Prints :func:`simulator.config.prior_summary.prior_summary` as an aligned table and writes ``priors.png``
(:mod:`simulator.report.prior_plots`) into ``--out DIR`` (default: the current directory). Bad input gets the main
command's one-line errors (:func:`simulator.config.errors.error_line`) and exit code 2, with nothing written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from simulator.config.errors import ConfigError, error_line


def format_table(table: pd.DataFrame, source_width: int = 60) -> str:
    """The table as aligned plain text: text left, numbers (4 significant digits) right, sources cut to
    ``source_width``, ``*`` for a prior that differs from the defaults."""
    cells = [[str(row["prior"]), str(row["distribution"]), *(f"{row[q]:.4g}" for q in ("p10", "p50", "p90")),
              str(row["units"]), "*" if row["changed"] else "",
              row["source"] if len(row["source"]) <= source_width else row["source"][: source_width - 3] + "..."]
             for _, row in table.iterrows()]
    header = ["prior", "distribution", "p10", "p50", "p90", "units", "changed", "source"]
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    right = {2, 3, 4}
    return "\n".join("  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                     .rstrip() for r in [header, *cells])


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv``, load the config (one-line errors, exit 2), print the table and write ``priors.png``."""
    from simulator.config.load import load_config
    from simulator.config.prior_summary import prior_summary
    from simulator.report.prior_plots import save_prior_grid

    parser = argparse.ArgumentParser(prog="python -m simulator.priors",
                                     description="Every effective prior: distribution, P10/P50/P90, units, source.")
    parser.add_argument("--out", type=Path, default=Path("."), help="directory for priors.png (default: here)")
    parser.add_argument("overrides", nargs="*", help="scenario=NAME and key=value overrides, as for python -m simulator")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = load_config(args.overrides)
        if args.out.exists() and not args.out.is_dir():
            raise ConfigError(f"--out = {args.out}: not a directory")
    except Exception as exc:  # composition or validation: the user's input
        print(error_line(exc), file=sys.stderr)
        sys.exit(2)
    table = prior_summary(config, args.overrides)
    print(f"Effective priors of scenario {config.scenario} ({len(table)}; * = differs from the defaults)")
    print(format_table(table))
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"wrote {save_prior_grid(config, table, args.out)}")
