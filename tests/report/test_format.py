"""Formatting: one money formatter and one number formatter, read the same in reports, plots and sweeps."""

import subprocess
import sys

import numpy as np
import pytest

from simulator.report.format import money_pm, money_tick, number_pm, value_label


@pytest.mark.parametrize(
    ("value", "se", "text"),
    [
        (4_150_000.0, 140_000.0, "$4.15M ± 0.14M"),
        (4_150_000.0, None, "$4.15M"),
        (-1_500_000.0, None, "-$1.50M"),
        (12_345.0, None, "$12k"),
        (0.0, None, "$0"),
        (np.nan, 1.0, "—"),
    ],
)
def test_money(value, se, text):
    assert money_pm(value, se) == text


def test_money_tick_is_the_same_formatter():
    assert money_tick(2_500_000.0, 0) == money_pm(2_500_000.0) == "$2.50M"


def test_numbers_round_to_their_standard_error():
    assert number_pm(0.4321, 0.0123) == "0.432 ± 0.012"
    assert number_pm(3.0, 0.0) == "3.00 ± 0.00"  # a constant
    assert number_pm(0.5, None, 3) == "0.500"


@pytest.mark.parametrize(("value", "text"), [(3.1, "3.1"), (1024, "1,024"), (0.0125, "0.0125"),
                                             (250_000.0, "250,000"), ("hybrid", "hybrid"), (np.float32(2.5), "2.5")])
def test_value_label(value, text):
    assert value_label(value) == text


def test_no_module_picks_the_matplotlib_backend():
    """Importing the plot modules leaves a notebook's backend alone (the command line sets MPLBACKEND itself)."""
    code = (
        "import matplotlib; matplotlib.use('svg')\n"
        "import simulator.report.plots, simulator.report.decision_plots, simulator.sweeps.plots\n"
        "import simulator.report.figures, simulator.app.run, simulator.app.combine\n"
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "MPLBACKEND"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
