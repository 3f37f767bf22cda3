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
