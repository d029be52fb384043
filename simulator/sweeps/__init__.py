"""Sweeps: in-engine knob sweeps on the results Dataset, Hydra multirun aggregation, break-even and decision maps."""
