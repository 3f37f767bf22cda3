"""The tuning report (pure): MLflow metrics overall and per window, and the markdown table."""

from __future__ import annotations

from ml import tuning_summary

SIDE = {"sharpe": 1.0, "max_drawdown": 0.1}
SUMMARY = {
    "oos_improvement": 0.25, "deflated_sharpe": 0.9, "pbo": 0.2, "recommended": True,
    "before": {"sharpe": 0.5, "total_return": 0.1}, "after": {"sharpe": 0.75, "total_return": 0.2},
    "windows": [{"window": 0, "test_start": "2020-01-01 00:00", "test_end": "2020-06-30 00:00",
                 "tuned_params": {"fast": 5}, "dsr": 0.8, "pbo": 0.1, "best_reward": 1.2,
                 "in_sample": {"default": SIDE, "tuned": {"sharpe": 2.0, "max_drawdown": 0.05}},
                 "out_of_sample": {"default": SIDE, "tuned": {"sharpe": 1.5, "max_drawdown": 0.07}}}],
}


def test_run_metrics_name_the_sides():
    assert tuning_summary.run_metrics(SUMMARY) == {
        "oos_improvement": 0.25, "deflated_sharpe": 0.9, "pbo": 0.2, "recommended": 1.0, "default_sharpe": 0.5,
        "default_total_return": 0.1, "tuned_sharpe": 0.75, "tuned_total_return": 0.2}


def test_window_metrics_are_keyed_by_window():
    assert tuning_summary.window_metrics(SUMMARY) == {0: {
        "window_dsr": 0.8, "window_pbo": 0.1, "window_best_reward": 1.2, "window_default_oos_sharpe": 1.0,
        "window_tuned_oos_sharpe": 1.5, "window_default_is_sharpe": 1.0, "window_tuned_is_sharpe": 2.0}}


def test_markdown_has_the_verdict_and_one_row_per_window():
    md = tuning_summary.markdown("sma on GOOG/1d (optuna)", 7, SUMMARY, "run1")
    assert md.startswith("# Tuning sma on GOOG/1d (optuna)\n\nOptimization `7`, MLflow run `run1`: **recommended**")
    assert "2020-01-01 .. 2020-06-30" in md and '{"fast": 5}' in md
    assert "**not recommended** (defaults stay)" in tuning_summary.markdown("t", 7, {**SUMMARY, "recommended": False},
                                                                            "r")
