"""Entry point: ``python -m simulator scenario=NAME [key=value ...]``.

Also ``python -m simulator rerun RUN_DIR [key=value ...]`` (re-run a saved run, :mod:`simulator.app.rerun`) and
``python -m simulator combine SWEEP_DIR`` (combine a multirun's jobs, :mod:`simulator.app.combine`) and
``python -m simulator merge RUN_DIR [--rerun-missing]`` (merge a sharded run, :mod:`simulator.app.merge`).
"""

from __future__ import annotations

import sys


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "rerun":
        from simulator.app.rerun import main as rerun

        rerun(sys.argv[2:])
    elif command == "merge":
        from simulator.app.merge import main as merge

        merge(sys.argv[2:])
    elif command == "combine":
        from simulator.app.combine import main as combine

        combine(sys.argv[2:])
    else:
        from simulator.app.run import main as run

        run()


if __name__ == "__main__":
    main()
