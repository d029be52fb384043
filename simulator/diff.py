"""``python -m simulator.diff RUN_A RUN_B [--out FILE.md]``: see :mod:`simulator.app.diff_cmd`."""

from __future__ import annotations

if __name__ == "__main__":
    from simulator.app.diff_cmd import main

    main()
