"""Paired comparisons on constructed cases: dominance of each order, regret and P(cheapest feasible) by hand."""

import numpy as np
import pytest

from simulator.stats.compare import (
    cheapest_feasible_probability,
    comparison_frames,
    dominance,
    expected_regret,
    win_probability,
)

RNG = np.random.default_rng(0)
X = RNG.lognormal(0.0, 0.5, 1000)


def test_pathwise_dominance():
    assert dominance(X, X + 0.1) == "pathwise"
    assert dominance(X + 0.1, X) is None


def test_first_order_but_not_pathwise():
    shuffled = RNG.permutation(X) + 0.05  # same law shifted up, paths no longer aligned
    assert np.any(X > shuffled)
    assert dominance(X, shuffled) == "first-order"
    assert dominance(shuffled, X) is None


def test_second_order_but_not_first():
    """A sure cost beats a gamble with the same mean for every risk-averse decision maker, not for every one."""
    sure = np.full(1000, 5.0)
    gamble = 5.0 + np.where(np.arange(1000) % 2 == 0, 1.0, -1.0)
    assert dominance(sure, gamble) == "second-order"
    assert dominance(gamble, sure) is None


def test_crossing_distributions_do_not_dominate():
    cheap_but_risky = RNG.normal(4.0, 2.0, 1000)
    dear_but_safe = RNG.normal(4.5, 0.1, 1000)
    assert dominance(cheap_but_risky, dear_but_safe) is None
    assert dominance(dear_but_safe, cheap_but_risky) is None


def test_identical_is_not_dominance():
    assert dominance(X, X.copy()) is None


def test_dominance_table_lists_only_holding_pairs():
    frame = comparison_frames(np.vstack([X, X + 1.0, np.full_like(X, 100.0)]), ["a", "b", "c"])["dominance"]
    assert set(map(tuple, frame[["dominant", "dominated", "order"]].values)) == {
        ("a", "b", "pathwise"),
        ("a", "c", "pathwise"),
        ("b", "c", "pathwise"),
    }


COSTS = np.array(
    [
        [1.0, 5.0, 3.0, 2.0],  # a
        [2.0, 4.0, 3.0, 9.0],  # b
        [3.0, 1.0, 4.0, 1.0],  # c
    ]
)


def test_regret_and_cheapest_by_hand():
    regret, _ = expected_regret(COSTS)
    best = np.array([1.0, 1.0, 3.0, 1.0])
    np.testing.assert_allclose(regret, (COSTS - best).mean(axis=1))
    p, se, none = cheapest_feasible_probability(COSTS)
    # path 3 is a tie between a and b (3.0): half each
    np.testing.assert_allclose(p, [(1 + 0.5) / 4, 0.5 / 4, 2 / 4])
    assert none == 0.0 and np.all(se > 0)


def test_infeasible_strategy_is_not_a_candidate():
    feasible = np.array([True, True, False])
    regret, _ = expected_regret(COSTS, feasible)
    best = np.array([1.0, 4.0, 3.0, 2.0])  # without c
    np.testing.assert_allclose(regret[:2], (COSTS[:2] - best).mean(axis=1))
    assert np.isnan(regret[2])
    p, _, _ = cheapest_feasible_probability(COSTS, feasible)
    np.testing.assert_allclose(p, [(2 + 0.5) / 4, (1 + 0.5) / 4, 0.0])  # path 1 goes to b (4 < 5)


def test_pathwise_feasibility_and_no_feasible_path():
    feasible = np.array([[True, False, False, True], [True, False, True, True], [False, False, True, True]])
    p, _, none = cheapest_feasible_probability(COSTS, feasible)
    assert none == pytest.approx(0.25)  # path 1: nothing feasible
    np.testing.assert_allclose(p, [1 / 4, 1 / 4, 1 / 4])  # path 0: a; path 2: b (3 < 4); path 3: c
    regret, _ = expected_regret(COSTS, feasible)
    np.testing.assert_allclose(regret, [(0 + 1) / 2, (1 + 0 + 8) / 3, (1 + 0) / 2])


def test_win_probability_counts_ties_half_and_is_complementary():
    p, se = win_probability(COSTS)
    assert p[0, 1] == pytest.approx((1 + 0 + 0.5 + 1) / 4)
    np.testing.assert_allclose(p + p.T, 1.0)
    np.testing.assert_allclose(np.diag(p), 0.5)
    np.testing.assert_allclose(se, se.T)
