"""The sizing policy over an expanding walk-forward (ml.scorecard.SizingWalkForward): causal, starts after the
first training window, and judged by the same rule as the lockbox cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.scorecard import SizingWalkForward

POLICY = SizingWalkForward(train_bars=500, refit_every=100, model="har_gk_log")


def _bars(n: int = 1100, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vol = np.where(np.arange(n) % 300 < 150, 0.006, 0.025)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, vol)))
    spread = np.abs(rng.normal(0, vol)) * close
    idx = pd.date_range("2000-01-03", periods=n, freq="B")
    return pd.DataFrame({"open": close * (1 + rng.normal(0, vol / 3)), "high": close + spread,
                         "low": close - spread, "close": close, "volume": 1e6}, index=idx)


@pytest.fixture(scope="module")
def bars_and_forecast():
    bars = _bars()
    return bars, POLICY.inputs(bars)["forecast"]


def test_trading_starts_after_the_first_training_window(bars_and_forecast):
    bars, forecast = bars_and_forecast
    assert forecast.iloc[:POLICY.train_bars].isna().all()
    assert forecast.iloc[POLICY.train_bars:].notna().mean() > 0.99
    cells = POLICY.evaluate(bars, pd.DataFrame({"forecast": forecast, "target": POLICY.target_vol(bars)}))
    assert cells == POLICY.evaluate(bars)  # the inputs it computes itself are the same
    assert set(cells) == {"long_only", "sma200_trend"}
    for cell in cells.values():
        assert cell["start"] == str(bars.index[POLICY.train_bars].date())
        assert cell["met"] == (cell["mdd_ratio"] <= 0.80 and cell["sharpe_vt"] >= cell["sharpe_fix"])


def test_forecasts_and_target_read_only_past_bars(bars_and_forecast):
    bars, forecast = bars_and_forecast
    cut = 800
    shocked = bars.copy()
    for col in ("open", "high", "low", "close"):
        shocked.iloc[cut:, shocked.columns.get_loc(col)] *= np.linspace(1.0, 3.0, len(bars) - cut)
    again = POLICY.forecasts(shocked)
    # a forecast at bar t reads bars <= t through models fitted on bars before the origin minus the purge
    pd.testing.assert_series_equal(again.iloc[:cut], forecast.iloc[:cut])
    assert not np.allclose(again.iloc[cut + 10:], forecast.iloc[cut + 10:])
    pd.testing.assert_series_equal(POLICY.target_vol(shocked).iloc[:cut], POLICY.target_vol(bars).iloc[:cut])


def test_too_short_a_series_is_refused():
    with pytest.raises(ValueError, match="nothing to trade"):
        POLICY.forecasts(_bars(n=400))


DE_RISK = POLICY.de_risk_only()


@pytest.fixture(scope="module")
def inputs(bars_and_forecast):
    bars, forecast = bars_and_forecast
    return pd.DataFrame({"forecast": forecast, "target": POLICY.target_vol(bars)})


def test_de_risk_only_is_the_declared_policy_capped_at_one():
    from dataclasses import replace

    from ml.scorecard.sizing_walkforward import DE_RISK_ONLY, DECLARED

    for first, second in ((DECLARED, DE_RISK_ONLY), (POLICY, DE_RISK)):
        assert second.max_leverage == 1.0 and second.name == "de_risk_only"
        # everything that makes the forecasts and the target is the first policy's: one walk-forward serves both
        assert replace(second, max_leverage=first.max_leverage, name=first.name) == first


def test_de_risk_only_scale_never_exceeds_one(bars_and_forecast, inputs):
    from ml.risk import compare_sizing, sma_trend_signal

    bars, _ = bars_and_forecast
    scale = DE_RISK.scale(inputs)
    assert scale.max() <= 1.0 and (POLICY.scale(inputs) > 1.0).any()  # the first policy does lever up here
    for cell in DE_RISK.evaluate(bars, inputs).values():
        assert cell["exposure_vt"] <= 1.0
    for signal in (None, sma_trend_signal(bars["close"], 200)):
        rets = compare_sizing(bars["close"], inputs["forecast"], inputs["target"], signal=signal,
                              max_leverage=DE_RISK.max_leverage).returns
        assert (rets["vol_target"].abs() <= rets["fixed"].abs()).all()  # never more at risk than the fixed size


def test_de_risk_only_position_is_the_fixed_one_when_the_forecast_is_below_target(bars_and_forecast, inputs):
    from ml.risk import compare_sizing, position_size

    bars, forecast = bars_and_forecast
    assert position_size(0.7, 0.01, 0.02, DE_RISK.max_leverage) == 0.7  # forecast half the target: the fixed size
    assert position_size(0.7, 0.04, 0.02, DE_RISK.max_leverage) == pytest.approx(0.35)  # cut above the target
    calm, hot = forecast < inputs["target"], forecast > inputs["target"]
    assert calm.sum() > 50 and hot.sum() > 50
    scale = DE_RISK.scale(inputs)
    assert (scale[calm] == 1.0).all()
    np.testing.assert_allclose(scale[hot], (inputs["target"] / forecast)[hot])
    rets = compare_sizing(bars["close"], forecast, inputs["target"], max_leverage=DE_RISK.max_leverage).returns
    traded_calm = rets.index[calm.reindex(rets.index)]
    pd.testing.assert_series_equal(rets.loc[traded_calm, "vol_target"], rets.loc[traded_calm, "fixed"],
                                   check_names=False)
