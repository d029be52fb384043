"""The summary table's noise wording follows ``decision.confidence``."""

from types import SimpleNamespace

import pandas as pd

from simulator.report.markdown import _ranking


def _metrics(confidence: float) -> pd.DataFrame:
    m = pd.DataFrame(
        {
            "rank": [1], "admissible": [True], "excluded_because": [""], "objective": [1e6], "objective_se": [1e4],
            "p_cheapest_feasible": [1.0], "p_cheapest_feasible_se": [0.0], "expected_regret": [0.0],
            "expected_regret_se": [0.0], "borderline": [""],
        },
        index=pd.Index(["hybrid"], name="strategy"),
    )
    m.attrs.update(confidence=confidence, level=0.95)
    return m


def test_borderline_header_uses_the_confidence_z():
    analysis = SimpleNamespace(recommendation=SimpleNamespace(objective="mean"))
    assert "within 1.96 SE" in "\n".join(_ranking(analysis, _metrics(0.95)))
    assert "within 2.58 SE" in "\n".join(_ranking(analysis, _metrics(0.99)))

