"""``python -m simulator.merge ...``: the same as ``python -m simulator merge ...`` (:mod:`simulator.app.merge`)."""

from __future__ import annotations

if __name__ == "__main__":
    from simulator.app.merge import main

    main()  # reads sys.argv[1:]
