"""``python -m simulator.priors scenario=NAME [key=value ...] [--out DIR]``: see :mod:`simulator.app.priors_cmd`."""

from __future__ import annotations

if __name__ == "__main__":
    from simulator.app.priors_cmd import main

    main()
