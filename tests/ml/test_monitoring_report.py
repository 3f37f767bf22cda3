"""The pure parts of a monitoring pass: drift measurement, metrics, report, JSON-safe copies."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.drift import DriftReport, DriftThresholds
from ml.monitoring import Check, MonitoringDecision
from ml.monitoring_report import (
    SIGNAL_DRIFT_FEATURES,
    clean,
    measure_drift,
    pass_markdown,
    pass_metrics,
    stored_features,
    validation_subset,
    with_note,
)

DECISION = MonitoringDecision("retrain", True, ["qlike up"], [
    Check("qlike", 1.5, 1.0, 1.2, False, "qlike up"), Check("coverage", None, 0.9, 0.75, True, "")])


def test_clean_makes_nan_none_and_numpy_python():
    assert clean({"a": float("nan"), "b": np.float64(1.5), "c": [np.int64(2), float("inf")]}) == {
        "a": None, "b": 1.5, "c": [2, None]}


def test_stored_features_are_numeric_and_missing_rows_are_nan():
    frame = stored_features(pd.Series([{"x": 1, "y": "2.5"}, None, {"x": "bad"}]), pd.Index([10, 11, 12]))
    assert list(frame.index) == [10, 11, 12] and frame.loc[10, "y"] == 2.5
    assert frame.loc[11].isna().all() and np.isnan(frame.loc[12, "x"])


def test_drift_is_measured_on_the_shared_features_only():
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"vol_pct": rng.normal(0, 1, 500), "other": rng.normal(0, 1, 500)})
    live = pd.DataFrame({"vol_pct": rng.normal(3, 1, 250)})
    report = measure_drift(reference, live, SIGNAL_DRIFT_FEATURES, DriftThresholds())
    assert [f.feature for f in report.features] == ["vol_pct"] and report.drifted
    assert measure_drift(pd.DataFrame(), live, ["vol_pct"], DriftThresholds()) == DriftReport()


def test_validation_subset_and_note():
    validation = {"qlike_mean": 1.0, "coverage_GOOG": 0.9, "auc": 0.6, "qlikeish": 2.0}
    assert validation_subset(validation, ("qlike", "coverage")) == {"qlike_mean": 1.0, "coverage_GOOG": 0.9}
    assert with_note(DECISION, None) is DECISION
    noted = with_note(DECISION, "no reference")
    assert noted.reasons == ["qlike up", "no reference"] and noted.status == "retrain" and noted.checks == DECISION.checks


def test_pass_metrics_and_markdown():
    live = {"qlike": 1.5, "n": 60.0, "bad": float("nan"), "none": None}
    metrics = pass_metrics(live, DriftReport(share_drifted=0.25), DECISION)
    assert metrics == {"live_qlike": 1.5, "live_n": 60.0, "drift_share": 0.25, "retrain_needed": 1.0,
                       "ratio_qlike": 1.5}
    assert "drift_share" not in pass_metrics(live, DriftReport(), DECISION, drift_available=False)
    md = pass_markdown("m", "3", {"qlike": 1.5}, DECISION, DriftReport(), "trigger 7 fired (direct)")
    assert md.startswith("# Monitoring of m v3\n\n**Decision: retrain** — trigger 7 fired (direct)")
    assert "| qlike | 1.5 | 1 | 1.2 | FAIL |" in md and "no drift sample" in md
    assert "## Feature drift: not available\n\nwhy" in pass_markdown("m", "3", {}, DECISION, DriftReport(), "t", "why")
