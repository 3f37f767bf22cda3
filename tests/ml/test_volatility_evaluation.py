"""Tests of the walk-forward evaluation and plots (ml.volatility.evaluation, ml.volatility.plots)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from ml.datasets import load_sample
from ml.volatility import EwmaModel, HarModel, plots
from ml.volatility.evaluation import (
    WalkForwardConfig,
    combine_results,
    dm_tests,
    evaluate_models,
    first_test_index,
    qlike_ratios,
    select_best,
    walk_forward_forecasts,
)


class SpyModel(EwmaModel):
    """EWMA that records the last training bar of every fit."""

    seen: ClassVar[list] = []

    def _fit_core(self, bars: pd.DataFrame) -> None:
        SpyModel.seen.append(bars.index[-1])
        super()._fit_core(bars)


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return load_sample("GOOG").iloc[:700]


@pytest.fixture(scope="module")
def result(bars: pd.DataFrame):
    models = {"ewma": EwmaModel(), "har_gk_log": HarModel(), "har_gk": HarModel(log=False)}
    return evaluate_models(bars, models, WalkForwardConfig(refit_every=21, test_fraction=0.4))


def test_results_frame(result, bars: pd.DataFrame) -> None:
    res = result.results
    assert set(res.index) == {"ewma", "har_gk_log", "har_gk"}
    assert {"qlike", "mse", "rmse", "mae", "dir_acc", "coverage", "width", "n"} <= set(res.columns)
    assert (res["qlike"] > 0).all() and res["coverage"].between(0.6, 1.0).all()
    fc = result.forecasts
    assert fc.index.min() == bars.index[first_test_index(len(bars), result.config)]
    assert list(fc.columns) == ["model", "forecast", "lower", "upper", "realised", "current"]
    assert fc.groupby("model").size().eq(len(bars) - first_test_index(len(bars), result.config)).all()


def test_training_scores_its_forecasts_with_the_live_accuracy_function(result) -> None:
    """Walk-forward metrics are what monitoring and the API would report on the same forecasts."""
    from ml.monitoring import volatility_live_metrics

    for name, fc in result.forecasts.groupby("model"):
        live = volatility_live_metrics(fc.rename(columns={"realised": "actual", "forecast": "predicted",
                                                          "current": "trailing"}))
        assert live == pytest.approx(result.results.loc[name].drop("seconds").to_dict())


def test_per_model_results_combine_to_the_joint_evaluation(result, bars: pd.DataFrame) -> None:
    """The flow evaluates one model per task; combining the parts gives the joint evaluation."""
    parts = [evaluate_models(bars, {name: model}, result.config)
             for name, model in {"ewma": EwmaModel(), "har_gk_log": HarModel(), "har_gk": HarModel(log=False)}.items()]
    combined = combine_results(parts)
    cols = result.results.columns.drop("seconds")
    pd.testing.assert_frame_equal(combined.results[cols], result.results[cols])
    pd.testing.assert_frame_equal(combined.forecasts, result.forecasts)
    with pytest.raises(ValueError, match="evaluated twice"):
        combine_results([parts[0], parts[0]])
    with pytest.raises(ValueError, match="no walk-forward"):
        combine_results([])


def test_purged_refits(bars: pd.DataFrame) -> None:
    SpyModel.seen = []
    cfg = WalkForwardConfig(horizon=5, refit_every=50, test_fraction=0.3, coverage=0.8)
    fc = walk_forward_forecasts(bars, SpyModel(cal_fraction=0.0), cfg)
    start = first_test_index(len(bars), cfg)
    origins = range(start, len(bars), 50)
    assert len(SpyModel.seen) == len(origins)
    for origin, last in zip(origins, SpyModel.seen):
        assert bars.index.get_loc(last) == origin - cfg.purge - 1
    assert len(fc) == len(bars) - start


def test_rolling_window(bars: pd.DataFrame) -> None:
    fc = walk_forward_forecasts(bars, HarModel(), WalkForwardConfig(window=300))
    assert fc["forecast"].notna().all()


def test_select_best_ratios_and_dm(result) -> None:
    res = result.results
    assert select_best(res) == res["qlike"].idxmin()
    assert select_best(res, coverage_band=(2.0, 3.0), default="ewma") == "ewma"
    ratios = qlike_ratios(res, ["har_gk_log", "har_gk"])
    assert ratios[["har_gk_log", "har_gk"]].min() == pytest.approx(1.0)
    dm = dm_tests(result.forecasts, "har_gk_log", horizon=5)
    assert set(dm.index) == {"ewma", "har_gk"} and dm["pvalue"].between(0, 1).all()


def test_plots_return_figures(result) -> None:
    one = result.forecasts[result.forecasts["model"] == "har_gk_log"]
    for fig in (
        plots.forecast_vs_realised(one),
        plots.interval_calibration(one),
        plots.feature_importance(pd.Series(np.arange(5.0), index=list("abcde"))),
    ):
        assert isinstance(fig, Figure)
    with pytest.raises(ValueError):
        plots.forecast_vs_realised(result.forecasts)
