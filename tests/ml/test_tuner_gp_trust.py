"""Trust-region constrained GP-UCB: gp_safe plus local steps near the best safe pulls and plain GP-UCB steps."""

from __future__ import annotations

import numpy as np

from ml.strategies import ParamSpec
from ml.tuner import METHODS, RL_GP_TRUST, tune
from ml.tuner.base import grid_points
from ml.tuner.gp_safe import drawdown_margin, gp_safe_bandit
from ml.tuner.gp_trust import gp_trust_bandit
from tests.ml.test_tuner_gp_safe import SPACE, FakeBacktest, check_small_grid_and_bad_options

LATTICE = {"a": ParamSpec(0, 29, "int", 1), "b": ParamSpec(0, 29, "int", 1)}  # 900 arms


def _points(result) -> list[tuple]:
    return [tuple(p.values()) for p, _ in result.history]


def needle(p: dict) -> float:
    """A smooth hill with its top at (20, 8) and a one-arm spike beside it at (21, 9)."""
    hill = -((p["a"] - 20) ** 2 + (p["b"] - 8) ** 2) / 50.0
    return hill + (3.0 if (p["a"], p["b"]) == (21, 9) else 0.0)


def test_registered():
    assert METHODS[RL_GP_TRUST] is gp_trust_bandit
    res = tune(needle, LATTICE, 20, seed=0, method=RL_GP_TRUST)
    assert res.n_evaluations == 20


def test_finds_the_safe_optimum_of_a_constrained_surface():
    """FakeBacktest: 12 % of the grid safe, the safe optimum on the edge of the safe disk."""
    optimum = max(FakeBacktest()(p) for p in grid_points(SPACE))
    counts = [gp_trust_bandit(FakeBacktest(), SPACE, 150, seed).evaluations_to_reach(optimum - 1e-9) or np.inf
              for seed in range(5)]
    assert np.median(counts) <= 35  # 8 % of the 441 arms
    assert max(counts) <= 60


def test_finds_a_needle_beside_the_incumbent():
    counts = [gp_trust_bandit(needle, LATTICE, 200, seed).evaluations_to_reach(2.5) or np.inf for seed in range(5)]
    assert np.median(counts) <= 40 and max(counts) <= 60  # of 900 arms


def _local_share(res, margin) -> float:
    """Share of the pulls after the start within 3 grid levels (each axis) of one of the 3 best safe pulls so far
    (the trust region: half-width 1, grown up to 3 while it holds no untried arm)."""
    idx = [np.array([round(p["x"] / 0.05), round(p["y"] / 0.05)]) for p, _ in res.history]
    local = []
    for t in range(10, len(idx)):
        safe = [i for i in range(t) if margin(res.history[i][0]) is not None and margin(res.history[i][0]) <= 0]
        top = sorted(safe, key=lambda i: res.history[i][1], reverse=True)[:3]
        local.append(bool(top) and min(np.abs(idx[t] - idx[i]).max() for i in top) <= 3)
    return float(np.mean(local))


def test_local_steps_pull_beside_the_best_safe_points():
    margin = drawdown_margin(FakeBacktest())
    shares = {k: [_local_share(gp_trust_bandit(FakeBacktest(), SPACE, 80, seed, local_every=k), margin)
                  for seed in range(3)] for k in (0, 3, 1)}
    assert np.mean(shares[1]) >= 0.95  # every step local once a safe point is known
    assert np.mean(shares[1]) > np.mean(shares[3]) > np.mean(shares[0])


def test_distinct_budgeted_grid_points_and_deterministic():
    obj = FakeBacktest()
    res = gp_trust_bandit(obj, SPACE, 60, seed=3)
    grid = {tuple(p.values()) for p in grid_points(SPACE)}
    assert res.n_evaluations == 60 == len(set(_points(res))) == obj.calls and set(_points(res)) <= grid
    assert _points(gp_trust_bandit(FakeBacktest(), SPACE, 60, seed=3)) == _points(res)
    assert _points(gp_trust_bandit(FakeBacktest(), SPACE, 60, seed=4)) != _points(res)


def test_without_local_and_plain_steps_it_is_gp_safe():
    a = gp_trust_bandit(FakeBacktest(), SPACE, 50, seed=1, local_every=0, mix=0)
    b = gp_safe_bandit(FakeBacktest(), SPACE, 50, seed=1)
    assert _points(a) == _points(b)


def test_known_validity_rule_is_never_broken():
    """``valid``: arms known to be invalid (here x > 0.95, as FakeBacktest) are never pulled."""
    class WithStrategy(FakeBacktest):
        class strategy:  # stands in for a Strategy class
            @staticmethod
            def is_valid(p: dict) -> bool:
                return p["x"] <= 0.95

    obj = WithStrategy()
    res = gp_trust_bandit(obj, SPACE, 120, seed=0, valid="auto", fail_tol=3)
    assert res.n_evaluations == 120 and all(p["x"] <= 0.95 for p, _ in res.history)
    assert all(obj.metrics(p) is not None for p, _ in res.history)


def test_large_grid_scored_by_subsets():
    space = {"a": ParamSpec(0, 99, "int", 1), "b": ParamSpec(0, 99, "int", 1)}  # 10,000 arms > max_arms

    def peak(p):
        return -((p["a"] - 70) ** 2 + (p["b"] - 30) ** 2) / 100.0

    res = gp_trust_bandit(peak, space, 60, seed=0, max_arms=1000, n_local=200)
    assert res.n_evaluations == 60 == len(set(_points(res))) and res.best_value >= -2.0


def test_small_grid_is_exhausted_and_bad_options_rejected():
    check_small_grid_and_bad_options(gp_trust_bandit, valid="yes", top_k=0, constraint="drawdown")
