"""The lockbox scorecard: metric functions on known arrays, and no lockbox bar reaching any selection step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.datasets import load_sample
from ml.metrics import qlike
from ml.scorecard import (
    ScorecardConfig,
    rank_signal_candidates,
    score_lockbox,
    scorecard_table,
    select_settings,
    signal_metrics,
    sizing_scores,
    volatility_scores,
)
from ml.signal_quality.validation import CombinatorialPurgedCV
from ml.volatility.targets import realised_vol_target


def test_signal_metrics_on_known_signals():
    idx = pd.date_range("2020-01-01", periods=8, freq="D")
    oos = pd.DataFrame({"score": [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1], "threshold": 0.55,
                        "label": [1, 1, 1, 0, 0, 1, 0, 0], "ret": [0.02, 0.01, 0.03, -0.01, -0.02, 0.01, -0.01, -0.03]},
                       index=idx)
    m = signal_metrics(oos)
    assert m["kept_frac"] == pytest.approx(0.5)
    assert m["win_all"] == pytest.approx(0.5) and m["win_kept"] == pytest.approx(0.75)
    assert m["win_ratio"] == pytest.approx(1.5)
    assert m["precision"] == pytest.approx(0.75) and m["recall"] == pytest.approx(0.75)  # 3 of 4 successes taken
    assert m["mean_score"] == pytest.approx(0.5) and m["base_rate"] == pytest.approx(0.5)
    assert m["mean_score_kept"] == pytest.approx(0.75) and m["success_kept"] == pytest.approx(0.75)
    assert m["roi_kept"] == pytest.approx(0.05) and m["roi_all"] == pytest.approx(0.0)
    assert m["ret_lift_bp"] == pytest.approx(1e4 * (0.05 / 4 - 0.0))
    assert m["auc"] == pytest.approx(14 / 16)  # 14 of the 16 (success, failure) pairs ranked right
    assert m["corr_score_label"] > 0.5 and m["corr_score_ret"] > 0.5


def test_volatility_scores_ratios_and_dm():
    rng = np.random.default_rng(0)
    idx = pd.date_range("2020-01-01", periods=400, freq="D")
    realised = pd.Series(np.exp(rng.normal(-4.5, 0.4, 400)), index=idx)
    current = realised.shift(1)

    def frame(fc):
        return pd.DataFrame({"forecast": fc, "lower": fc * 0.5, "upper": fc * 2.0}, index=idx)

    good = realised * np.exp(rng.normal(0, 0.1, 400))
    forecasts = {"mine": frame(good), "garch_t": frame(realised * np.exp(rng.normal(0, 0.6, 400))),
                 "har_gk_log": frame(realised * np.exp(rng.normal(0, 0.3, 400))),
                 "har_pk_log": frame(realised * np.exp(rng.normal(0, 0.5, 400)))}
    v = volatility_scores(forecasts, realised, current, "mine", horizon=5)
    assert v["best_har"] == "har_gk_log"
    assert v["ratio_garch"] < v["ratio_best_har"] < 1.0
    assert v["dm_stat_garch"] < 0 and v["dm_p_garch"] < 0.01
    assert v["coverage"] == pytest.approx(1.0)  # every realised value within a factor 2 of the good forecast
    assert v["n"] == 400


def test_sizing_scores_flags_follow_the_rule():
    rng = np.random.default_rng(1)
    idx = pd.date_range("2010-01-01", periods=800, freq="B")
    vol = np.where(np.arange(800) % 200 < 100, 0.005, 0.03)
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0.0003, vol))), index=idx)
    forecast = pd.Series(vol, index=idx)  # a perfect vol forecast on a two-regime series
    out = sizing_scores(close, forecast, target_vol=0.01)
    assert set(out) == {"long_only", "sma200_trend"}
    for cell in out.values():
        assert cell["met"] == (cell["mdd_ratio"] <= 0.80 and cell["sharpe_vt"] >= cell["sharpe_fix"])
    assert out["long_only"]["mdd_ratio"] < 1.0  # de-risking the volatile regime cuts the drawdown


def _scale_returns_from(bars: pd.DataFrame, start: int, factor: float) -> pd.DataFrame:
    """``bars`` with every log return from bar ``start`` on multiplied by ``factor`` (OHLC moved together)."""
    out = bars.copy()
    r = np.log(bars["close"]).diff().to_numpy()
    new_close = bars["close"].to_numpy().copy()
    new_close[start:] = new_close[start - 1] * np.exp(np.cumsum(factor * r[start:]))
    ratio = new_close / bars["close"].to_numpy()
    for col in ("open", "high", "low", "close"):
        out[col] = bars[col].to_numpy() * ratio
    out["volume"] = bars["volume"].to_numpy() * np.where(np.arange(len(bars)) >= start, 7.0, 1.0)
    return out


SMALL = ScorecardConfig(
    vol_candidates=("ewma", "garch_t", "har_gk_log", "lhar_gk_ext"), vol_refit_every=126,
    strategies=("rsi_mean_reversion",),
    signal_candidates={"xgboost": ("xgboost", {"n_estimators": 40, "n_jobs": 1}), "logistic": ("logistic", {})},
    min_keeps=(0.3, 0.5), cpcv=CombinatorialPurgedCV(4, 2, embargo_pct=0.01),
)


@pytest.fixture(scope="module")
def goog_run():
    bars = {"GOOG": load_sample("GOOG")}
    selection = select_settings(bars, SMALL)
    return bars, selection, score_lockbox(bars, selection, SMALL)


@pytest.mark.parametrize("part", ["lockbox", "embargo_and_lockbox"])
def test_perturbing_the_lockbox_changes_no_selected_setting(goog_run, part):
    bars, selection, scores = goog_run
    selection_end, lockbox_start = SMALL.lockbox.bounds(len(bars["GOOG"]))
    start = lockbox_start if part == "lockbox" else selection_end
    shocked = {"GOOG": _scale_returns_from(bars["GOOG"], start, 3.0)}
    assert not np.allclose(shocked["GOOG"]["close"].iloc[start:], bars["GOOG"]["close"].iloc[start:])
    pd.testing.assert_frame_equal(shocked["GOOG"].iloc[:start], bars["GOOG"].iloc[:start])
    again = select_settings(shocked, SMALL)
    assert again.settings() == selection.settings()
    assert again.settings()["vol_fitted"]["GOOG"]  # the fitted parameters are part of what is compared
    # ... while the lockbox scores do see the perturbation
    rescored = score_lockbox(shocked, again, SMALL)
    assert rescored.volatility["GOOG"]["qlike"] != pytest.approx(scores.volatility["GOOG"]["qlike"])
    assert not rescored.signals["score"].equals(scores.signals["score"])


def test_scorecard_rows_are_scored_on_the_lockbox_only(goog_run):
    bars, selection, scores = goog_run
    start = selection.lockbox_start["GOOG"]
    assert start == bars["GOOG"].index[SMALL.lockbox.bounds(len(bars["GOOG"]))[1]]
    assert scores.signals.index.min() >= start and scores.forecasts["GOOG"].index.min() == start
    table = scorecard_table(scores, selection)
    assert list(table.columns) == ["metric", "target", "measured", "met"]
    row = table[table["metric"].str.startswith("vol QLIKE / GARCH-t GOOG")].iloc[0]
    assert row["met"] == (row["measured"] <= 0.90)
    assert row["measured"] == pytest.approx(scores.volatility["GOOG"]["ratio_garch"], abs=1e-4)
    assert selection.signal_candidate in SMALL.signal_candidates and selection.signal_min_keep in SMALL.min_keeps
    assert selection.vol_model in SMALL.vol_candidates
    wf = scores.sizing_walk_forward["GOOG"]  # GOOG has more than five years: the walk-forward cells are scored
    assert set(wf) == {"long_only", "sma200_trend"} and wf["long_only"]["start"] < str(start.date())
    assert table["metric"].str.startswith("sizing walk-forward: cells meeting").sum() == 1
    ref = scores.volatility_reference["lhar_gk_ext"]["GOOG"]
    b = bars["GOOG"]
    lock = b.index >= start
    realised = realised_vol_target(b, SMALL.vol_horizon)[lock]
    garch = selection.vol_fitted["GOOG"]["garch_t"].predict(b)[lock]
    ok = realised.notna()
    assert ref["ratio_garch"] == pytest.approx(ref["qlike"] / qlike(realised[ok], garch[ok]))

def test_signal_candidates_must_keep_enough_in_every_split():
    table = pd.DataFrame({"win_ratio": [1.30, 1.08, 1.10, 1.05], "auc": [0.60, 0.55, 0.52, 0.58],
                          "splits_kept_ok": [0.4, 1.0, 1.0, 0.9]},
                         index=pd.MultiIndex.from_tuples([("a", 0.3), ("a", 0.4), ("b", 0.4), ("b", 0.3)]))
    ranked = rank_signal_candidates(table)
    assert ranked.index.tolist() == [("b", 0.4), ("a", 0.4), ("b", 0.3), ("a", 0.3)]
