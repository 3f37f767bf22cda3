"""Classification / trading metrics and the diagnostic plots of the signal scorer."""

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from ml.classification_metrics import (
    calibration_table,
    classification_report,
    expected_calibration_error,
    max_drawdown,
    taken_vs_all,
    threshold_sweep,
    trading_metrics,
)
from ml.signal_quality.plots import plot_calibration, plot_feature_importance, plot_roc, plot_threshold_sweep


def test_calibration_table_and_ece_on_perfect_bins():
    p = np.repeat([0.2, 0.8], 10)
    y = np.r_[[1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [1] * 8 + [0] * 2]
    assert expected_calibration_error(y, p) == pytest.approx(0.0)
    table = calibration_table(y, p, n_bins=10, strategy="uniform")
    assert table["n"].tolist() == [10, 10] and table["obs_rate"].tolist() == pytest.approx([0.2, 0.8])
    assert expected_calibration_error(y, np.full(20, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(20, 0.9)) == pytest.approx(0.4)


def test_classification_report_at_threshold():
    y = np.array([1, 1, 0, 0, np.nan])
    p = np.array([0.9, 0.4, 0.6, 0.1, 0.5])
    rep = classification_report(y, p, threshold=0.5)
    assert rep["n"] == 4 and rep["auc"] == pytest.approx(0.75)
    assert rep["precision"] == 0.5 and rep["recall"] == 0.5 and rep["kept_frac"] == 0.5
    assert rep["brier"] == pytest.approx(np.mean([0.01, 0.36, 0.36, 0.01]))


def test_trading_metrics_and_drawdown():
    r = np.array([0.02, -0.01, -0.03, 0.04, np.nan])
    assert max_drawdown(r) == pytest.approx(0.04)
    tm = trading_metrics(r)
    assert tm["n"] == 4 and tm["win_rate"] == 0.5 and tm["mean_ret"] == pytest.approx(0.005)
    assert tm["sharpe"] == pytest.approx(0.005 / np.std(r[:4], ddof=1))
    times = pd.date_range("2020-01-01", periods=5, freq="91D")
    annual = trading_metrics(r, times)["sharpe"]
    assert annual == pytest.approx(tm["sharpe"] * np.sqrt(4 / ((times[3] - times[0]).days / 365.25)))


def test_taken_vs_all_and_sweep():
    r = np.array([0.01, -0.01, 0.02, -0.02])
    s = np.array([0.7, 0.4, 0.8, 0.55])
    table = taken_vs_all(r, s, 0.6, labels=(r > 0).astype(float))
    assert table.loc["taken", "win_rate"] == 1.0 and table.loc["all", "win_rate"] == 0.5
    assert table.loc["taken", "kept_frac"] == 0.5 and table.loc["skipped", "n"] == 2
    sweep = threshold_sweep((r > 0).astype(float), s, r)
    assert len(sweep) == 7 and sweep.loc[0, "kept_frac"] == 0.75 and sweep.loc[4, "n_kept"] == 2 and sweep.loc[5, "n_kept"] == 1


def test_plots_return_figures_that_render():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=200)
    y = (rng.uniform(size=200) < p).astype(float)
    figs = [plot_calibration(y, p), plot_roc(y, p), plot_threshold_sweep(threshold_sweep(y, p)),
            plot_feature_importance(pd.Series({"a": 0.6, "b": 0.3, "c": 0.1}))]
    for fig in figs:
        assert isinstance(fig, Figure)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        assert buf.getbuffer().nbytes > 1000
