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
    as_of_window,
    bar_cooldown_check,
    decide,
    due_passes,
    newest_resolved_by,
    pass_due,
    resolution_times,
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



def _live_loop(bars, origins, resolved_at, last_end, every_bars, start):
    """Monitoring run after every bar from ``start`` on (the live loop at its most eager): the passes it records."""
    passes, previous = [], last_end
    for as_of in bars[bars >= start]:
        newest = newest_resolved_by(origins, resolved_at, as_of)
        since = 0 if previous is None or newest is None else int(((bars > previous) & (bars <= newest)).sum())
        if pass_due(None if newest is None else newest.to_pydatetime(),
                    None if previous is None else previous.to_pydatetime(), True, since, every_bars).due:
            passes.append((as_of, newest))
            previous = newest
    return passes


def test_a_late_run_catches_up_every_pass_a_run_per_bar_would_have_made():
    bars = pd.bdate_range("2018-01-01", periods=80)
    origins = bars[:75]
    horizon = 5
    resolved_at = resolution_times(bars, origins, horizon, np.ones(len(origins), bool))
    assert resolved_at[0] == bars[5] and resolved_at.isna().sum() == 0  # 75 + 5 bars: all resolved
    last_end = bars[10]
    eager = _live_loop(bars, origins, resolved_at, last_end, 5, bars[11])
    late = due_passes(bars, origins, resolved_at, last_end, True, 5)
    assert [(p.as_of, p.window_end) for p in late] == eager
    assert len(late) == 12  # window ends 15, 20, ..., 70: a pass per 5 bars of data time
    assert all(p.as_of == p.window_end + pd.offsets.BDay(horizon) for p in late)  # due the bar it resolved
    assert [b - a for a, b in zip([last_end, *[p.window_end for p in late]], [p.window_end for p in late])] \
        == [pd.Timedelta(days=7)] * 12
    assert "advanced 5 bars" in late[0].reason
    # the same passes whether the loop ran every bar, weekly or once: run at 40 bars, then at the end
    part = due_passes(bars[:40], origins[:35], resolution_times(bars[:40], origins[:35], horizon,
                                                                 np.ones(35, bool)), last_end, True, 5)
    rest = due_passes(bars, origins, resolved_at, part[-1].window_end, True, 5)
    assert [(p.as_of, p.window_end) for p in [*part, *rest]] == eager


def test_catch_up_first_pass_and_nothing_due():
    bars = pd.bdate_range("2018-01-01", periods=30)
    origins = bars[:20]
    known = resolution_times(bars, origins, 5, np.arange(20) < 12)  # the backfill resolved 12 of them
    (first,) = due_passes(bars, origins, known, None, False, 5)  # a version's first pass: one pass, now
    assert first.as_of == bars[-1] and first.window_end == bars[11]
    assert due_passes(bars, origins, known, bars[11], True, 5) == []  # nothing resolved since its window end
    (only,) = due_passes(bars, origins, known, bars[6], True, 5)
    assert only.window_end == bars[11] and only.as_of == bars[16]
    (now,) = due_passes(bars, origins, known, bars[6], True, 0)
    assert now.as_of == bars[-1]
    found = due_passes(bars, origins, known, None, True, 5)  # the passes so far saw no resolved outcome
    assert found[0].window_end == bars[0] and found[0].as_of == bars[5] and "first resolved" in found[0].reason
    assert [p.window_end for p in found] == [bars[0], bars[5], bars[10]]  # then every 5 bars
    assert due_passes(bars, origins, pd.DatetimeIndex([pd.NaT] * 20), bars[6], True, 5) == []


def test_as_of_window_sees_only_what_was_known_then():
    bars = pd.bdate_range("2018-01-01", periods=30)
    frame = pd.DataFrame({"as_of": bars[:25], "actual": np.arange(25, dtype=float) + 1.0})
    frame["resolved_at"] = resolution_times(bars, frame["as_of"], 5, np.ones(25, bool))
    view = as_of_window(frame, "as_of", ["actual"], bars[14], window=10)
    assert list(view["as_of"]) == list(bars[5:15])  # made by then, the newest 10
    assert view["actual"].notna().sum() == 5 and view["actual"].dropna().index.max() == 9  # resolved by bar 14
    assert frame["actual"].notna().all()  # the stored frame is untouched
    assert len(as_of_window(frame, "as_of", ["actual"], None, window=10)) == 10
    gap = resolution_times(bars.delete(3), [bars[3], bars[0]], 2, [True, False])
    assert gap.isna().all()  # an origin that is no stored bar, and an unresolved forecast
