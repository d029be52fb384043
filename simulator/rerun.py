"""``python -m simulator.rerun ...``: the same as ``python -m simulator rerun ...`` (:mod:`simulator.app.rerun`)."""

from __future__ import annotations

if __name__ == "__main__":
    from simulator.app.rerun import main

    main()  # reads sys.argv[1:]
