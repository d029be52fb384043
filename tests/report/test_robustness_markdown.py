"""summary.md leads with decision risk, then the margin's SE; the value-of-information section's wording."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from simulator.decision.prim import Box
from simulator.decision.robustness import Robustness
from simulator.decision.voi import Information
from simulator.report.markdown import recommendation_lines
from simulator.report.robustness_markdown import robustness_section


def analysis(streamed: bool = False) -> SimpleNamespace:
    table = pd.DataFrame({"kind": ["group", "prior", "prior"], "evppi": [40e3, 30e3, 100.0],
                          "evppi_se": [2e3, 2e3, 400.0]},
                         index=pd.Index(["workload.*", "workload.growth", "providers.x.spot_discount"], name="name"))
    table["share_of_evpi"] = table["evppi"] / 50e3
    info = Information(("rent", "own"), 50e3, 3e3, table, 8000, 100, 0.25, 0.01)
    box = Box({"workload.growth": (-np.inf, 1.8), "providers.x.on_demand": (2.6, np.inf)}, 0.7, 0.85, 0.2, 0.3, 8000)
    risk = Robustness("rent", 0.56, 0.005, 80e3, 2e3, 8000, 20000, 0.4 if streamed else None, info, "own", box)
    rec = SimpleNamespace(best="rent", runner_up="own", objective="mean cost of service", margin=1e5, margin_se=3e3,
                          p_best_cheaper=0.7, p_best_cheaper_se=0.005, z=1.96, within_noise=False)
    return SimpleNamespace(recommendation=rec, robustness=risk)


def test_decision_risk_comes_before_the_monte_carlo_precision():
    lines = recommendation_lines(analysis())
    text = "\n".join(lines)
    assert lines[1].startswith("Decision risk: rent is the cheapest admissible strategy on 56.0 ± 0.5% of paths")
    assert "$80.0k ± 2.0k" in lines[1] and "(EVPI)" in lines[2] and "25.0 ± 1.0% of the prior draws" in lines[2]
    assert text.index("Decision risk") < text.index("Margin over own") < text.index("standard errors")
    assert "at least 40.0%" in recommendation_lines(analysis(streamed=True))[1]


def test_value_of_information_section():
    text = "\n".join(robustness_section(analysis()))
    assert "learning workload.* before deciding is worth $40.0k ± 2.0k" in text
    assert "learning providers.x.spot_discount before deciding: worth nothing this run can tell (within noise)" in text
    assert "| **workload.*** | $40.0k ± 2.0k | 80% |" in text
    assert ("own wins when workload.growth < 1.8 and providers.x.on_demand > 2.6: coverage 70%, density 85%"
            in text)


def test_nothing_without_a_robustness_analysis():
    bare = analysis()
    bare.robustness = None
    assert robustness_section(bare) == []
    assert not any("Decision risk" in line for line in recommendation_lines(bare))
