"""Monitoring decisions: accuracy decay vs validation, drift, the data-time cooldown and pass spacing."""

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from ml.drift import DriftReport, FeatureDrift
from ml.metrics import directional_accuracy
from ml.monitoring import (
    INSUFFICIENT,
    OK,
    RETRAIN,
    Tolerances,
    bar_cooldown_check,
    decide,
    pass_due,
    scorer_checks,
    scorer_live_metrics,
    validation_value,
    volatility_accuracy,
    volatility_checks,
    volatility_live_metrics,
)

VALIDATION = {"qlike_mean": 0.20, "coverage_mean": 0.90, "qlike_SYN": 0.25, "coverage_SYN": 0.88}


def _forecasts(n=200, bias=1.0, seed=0):
    rng = np.random.default_rng(seed)
    true = 0.01 * np.exp(rng.normal(0, 0.2, n))
    actual = true * np.exp(rng.normal(0, 0.3, n))
    predicted = true * bias
    return pd.DataFrame({"predicted": predicted, "actual": actual, "lower": predicted * 0.55,
                         "upper": predicted * 1.65, "trailing": true})


def test_live_volatility_metrics_ignore_unresolved():
    frame = _forecasts()
    frame.loc[:49, "actual"] = np.nan
    live = volatility_live_metrics(frame)
    assert live["n"] == 150 and {"qlike", "mae", "rmse", "dir_acc", "coverage"} <= set(live)
    assert volatility_live_metrics(frame.assign(actual=np.nan)) == {"n": 0.0}


def test_live_accuracy_scores_directions_and_intervals_only_where_known():
    """A resolved forecast without a trailing level or an interval counts for the losses only."""
    frame = _forecasts(n=100)
    frame["trailing"] *= np.exp(np.random.default_rng(1).normal(0, 0.2, 100))
    frame.loc[:19, "trailing"] = np.nan
    frame.loc[80:, ["lower", "upper"]] = np.nan
    frame.loc[90:, "actual"] = 0.0  # not a usable realised vol: not resolved
    live = volatility_live_metrics(frame)
    assert live["n"] == 90
    known = frame.iloc[20:90]
    assert live["dir_acc"] == directional_accuracy(known["actual"], known["predicted"], known["trailing"])
    assert 0 < live["dir_acc"] < 1 and live == volatility_accuracy(frame["actual"], frame["predicted"],
                                                                   frame["trailing"], frame["lower"], frame["upper"])
    inside = frame.iloc[:80]
    assert live["coverage"] == np.mean((inside["actual"] >= inside["lower"]) & (inside["actual"] <= inside["upper"]))
    assert volatility_live_metrics(frame.assign(trailing=np.nan, lower=np.nan)).keys() == {
        "n", "qlike", "mse", "rmse", "mae"}


def test_validation_value_prefers_the_monitored_symbols():
    assert validation_value(VALIDATION, "qlike", ["SYN"]) == 0.25
    assert validation_value(VALIDATION, "qlike", ["OTHER"]) == 0.20
    assert validation_value(VALIDATION, "auc") is None


def test_qlike_decay_beyond_tolerance_asks_for_retrain():
    tol = Tolerances()
    good = volatility_live_metrics(_forecasts())
    bad = volatility_live_metrics(_forecasts(bias=0.5))  # under-forecasts by half: QLIKE explodes
    validation = {"qlike_mean": good["qlike"], "coverage_mean": good["coverage"]}
    ok = decide(volatility_checks(good, validation, tol), int(good["n"]), None, tol)
    assert ok.status == OK and not ok.retrain
    decayed = decide(volatility_checks(bad, validation, tol), int(bad["n"]), None, tol)
    assert decayed.retrain and decayed.status == RETRAIN
    assert any(r.startswith("accuracy decay: live qlike") for r in decayed.reasons)
    assert any("coverage" in r for r in decayed.reasons)
    assert {c.name: c.passed for c in decayed.checks} == {"qlike": False, "coverage": False}


def test_qlike_tolerance_boundary():
    tol = Tolerances(max_qlike_increase=0.2)
    within = volatility_checks({"qlike": 0.239}, {"qlike_mean": 0.2}, tol)[0]
    beyond = volatility_checks({"qlike": 0.241}, {"qlike_mean": 0.2}, tol)[0]
    assert within.passed and not beyond.passed and beyond.limit == pytest.approx(0.24)


def test_too_few_outcomes_are_not_judged():
    tol = Tolerances(min_resolved=50)
    checks = volatility_checks({"qlike": 1.0}, {"qlike_mean": 0.2}, tol)
    decision = decide(checks, 10, None, tol)
    assert decision.status == INSUFFICIENT and not decision.retrain


def _drift(drifted: bool) -> DriftReport:
    feats = [FeatureDrift("rv_cc_22", 2.0 if drifted else 0.01, 0.6, 1e-20, 1.2, 500, 100, drifted),
             FeatureDrift("rsi_14", 0.02, 0.05, 0.6, 0.05, 500, 100, False)]
    share = 0.5 if drifted else 0.0
    return DriftReport(feats, share, drifted)


def test_drift_alone_asks_for_retrain_even_before_outcomes_resolve():
    tol = Tolerances()
    decision = decide([], 0, _drift(True), tol)
    assert decision.retrain and decision.reasons == ["feature drift: 50% of 2 features drifted (rv_cc_22)"]
    quiet = decide([], 0, _drift(False), tol)
    assert quiet.status == OK and not quiet.retrain


def test_scorer_checks_auc_floor_and_brier():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=400)
    informative = pd.DataFrame({"score": p, "outcome": (rng.uniform(size=400) < p).astype(float),
                                "realised_return": rng.normal(size=400)})
    noise = informative.assign(outcome=(rng.uniform(size=400) < 0.5).astype(float))
    tol = Tolerances(min_auc=0.6)
    live = scorer_live_metrics(informative)
    assert live["auc"] > 0.7 and live["win_rate_taken"] > live["win_rate_rejected"]
    validation = {"auc": live["auc"], "brier": live["brier"]}
    assert all(c.passed for c in scorer_checks(live, validation, tol))
    bad = scorer_live_metrics(noise)
    failed = [c.name for c in scorer_checks(bad, validation, tol) if not c.passed]
    assert "auc" in failed


def test_cooldown_counts_bars_of_data_time():
    last, now = datetime(2018, 2, 1), datetime(2018, 2, 20)
    assert bar_cooldown_check(None, 0, now, 20).allowed
    blocked = bar_cooldown_check(last, 13, now, 20)
    assert not blocked.allowed and "in cooldown: 13 of 20 bars" in blocked.reason
    assert bar_cooldown_check(last, 20, now, 20).allowed  # 20 bars later: allowed, however little wall time passed
    assert not bar_cooldown_check(last, 0, None, 20).allowed  # a window without a data time cannot leave it
    assert bar_cooldown_check(last, 0, now, 0).allowed


def test_a_pass_is_due_when_resolved_outcomes_advanced_every_bars():
    end, newer = datetime(2018, 1, 5), datetime(2018, 1, 12)
    assert pass_due(None, None, False, 0, 5).due  # first pass of a version
    assert not pass_due(None, None, True, 0, 5).due
    assert pass_due(newer, None, True, 0, 5).due  # first resolved outcomes
    assert pass_due(newer, end, True, 5, 5).due
    stale = pass_due(newer, end, True, 4, 5)
    assert not stale.due and stale.reason.startswith("no new data: resolved outcomes advanced 4 of 5 bars")
    assert not pass_due(end, end, True, 0, 5).due
    assert not pass_due(end, newer, True, 9, 5).due  # older than the last pass (e.g. a window that shrank)
    assert pass_due(end, end, True, 0, 0).due  # every_bars=0: every call is a pass

