"""walk_forward_tune: windows never overlap, defaults vs tuned are judged out of sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.datasets import load_sample
from ml.strategies import ParamSpec
from ml.tuner import RANDOM
from ml.tuner.env import RiskAdjustedReward
from ml.tuner.tuning import Evidence, verdict, walk_forward_tune, window_bounds

SPACE = {"fast": ParamSpec(5, 50, "int", 5), "slow": ParamSpec(20, 200, "int", 20)}


def test_window_bounds_do_not_overlap():
    bounds = window_bounds(1000, 4, train_multiple=2)
    assert bounds[0] == (0, 332, 498)
    for start, mid, end in bounds:
        assert start < mid < end <= 1000 and mid - start == 2 * (end - mid)


@pytest.fixture(scope="module")
def report():
    return walk_forward_tune(load_sample("GOOG"), "sma_crossover", method=RANDOM, budget=20, n_windows=3,
                             seed=0, space=SPACE)


def test_report_contents(report):
    w = report.windows
    assert len(w) == 3 and (w["n_evaluations"] == 20).all()
    assert (w["train_start"] < w["test_start"]).all() and (w["test_start"] < w["test_end"]).all()
    assert (w["test_start"].iloc[1:].to_numpy() > w["train_start"].iloc[:-1].to_numpy()).all()
    assert ((w["dsr"] >= 0) & (w["dsr"] <= 1)).all() and ((w["pbo"] >= 0) & (w["pbo"] <= 1)).all()
    assert (w["tuned_is_sharpe"] >= w["default_is_sharpe"] - 1.0).all()  # reward also charges drawdown
    assert report.best_params == w["tuned_params"].iloc[-1] and report.default_params == {"fast": 10, "slow": 30}
    assert report.oos_improvement == pytest.approx(w["tuned_oos_sharpe"].mean() - w["default_oos_sharpe"].mean())
    expected, reasons = verdict(report.oos_improvement, bool(w["tuned_oos_safe"].all()), report.deflated_sharpe,
                                report.pbo)
    assert report.recommended == expected and report.reasons == reasons
    assert report.deflated_sharpe == pytest.approx(w["dsr"].mean()) and report.pbo == pytest.approx(w["pbo"].mean())


def test_the_verdict_weighs_pbo_and_dsr_as_well():
    """A better, safe out-of-sample Sharpe is not enough: PBO must be below 0.5 and DSR above 0.5 (each failed
    test named); missing evidence (NaN: too few trials) recommends nothing."""
    assert verdict(0.2, True, 0.8, 0.2) == (True, [])
    ok, why = verdict(0.2, True, 0.8, 0.7)  # the case of the issue: PBO 0.7 was recommended before
    assert not ok and why == ["probability of backtest overfitting 0.70 is not below 0.5"]
    ok, why = verdict(0.2, True, 0.3, 0.2)
    assert not ok and why == ["deflated Sharpe ratio 0.30 is not above 0.5"]
    ok, why = verdict(-0.1, False, float("nan"), float("nan"))
    assert not ok and len(why) == 4
    assert verdict(0.2, True, 0.4, 0.6, Evidence(max_pbo=0.7, min_dsr=0.3)) == (True, [])


def test_not_recommended_when_drawdown_constraint_breached():
    strict = RiskAdjustedReward(max_drawdown=0.01)  # nothing can meet it
    rep = walk_forward_tune(load_sample("GOOG"), "sma_crossover", method=RANDOM, budget=8, n_windows=2,
                            seed=1, space=SPACE, reward=strict)
    assert not rep.recommended and not rep.windows["tuned_oos_safe"].any()


def test_not_recommended_when_tuned_does_not_beat_default_oos():
    # a market that trends up then reverses: whatever is tuned on the past is judged on the future
    close = np.r_[np.linspace(100, 200, 600), np.linspace(200, 100, 300)] * (1 + 0.01 * np.sin(np.arange(900)))
    idx = pd.DatetimeIndex(pd.date_range("2010-01-01", periods=900, freq="D"), name="ts")
    bars = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99, "close": close, "volume": 1.0},
                        index=idx)
    rep = walk_forward_tune(bars, "sma_crossover", method=RANDOM, budget=10, n_windows=2, seed=0, space=SPACE)
    assert rep.recommended == bool(rep.oos_improvement > 0 and rep.windows["tuned_oos_safe"].all())
