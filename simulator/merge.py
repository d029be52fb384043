"""``python -m simulator.merge RUN_DIR [--rerun-missing]``: merge a sharded run's shards (:mod:`simulator.app.merge`)."""

from simulator.app.merge import main

if __name__ == "__main__":
    main()
