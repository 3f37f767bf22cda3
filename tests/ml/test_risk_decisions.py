"""The single-decision risk functions behind ``/ml/risk``: sizing, volatility stops and the regime."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml import risk


def test_size_targets_the_volatility_and_respects_the_cap():
    plan = risk.size_position(equity=100_000, price=50.0, predicted_vol=0.20, target_vol=0.10)
    assert plan.leverage == pytest.approx(0.5) and plan.notional == pytest.approx(50_000)
    assert plan.units == pytest.approx(1_000) and not plan.capped
    calm = risk.size_position(equity=100_000, price=50.0, predicted_vol=0.02, target_vol=0.10, max_leverage=3)
    assert calm.leverage == pytest.approx(3.0) and calm.capped
    assert risk.size_position(100_000, 50.0, 0.0, 0.10).units == 0.0  # no forecast, no risk
    with pytest.raises(ValueError):
        risk.size_position(-1, 50.0, 0.2, 0.1)


def test_stops_mirror_for_a_short_and_scale_with_the_square_root_of_the_horizon():
    long = risk.volatility_stops(100.0, 1, vol_per_bar=0.01, horizon_bars=4, stop_multiple=2, take_multiple=3)
    assert long.move == pytest.approx(0.02)
    assert long.stop_loss == pytest.approx(100 * math.exp(-0.04)) and long.take_profit == pytest.approx(100 * math.exp(0.06))
    short = risk.volatility_stops(100.0, -1, vol_per_bar=0.01, horizon_bars=4, stop_multiple=2, take_multiple=3)
    assert short.stop_loss > 100 > short.take_profit
    assert short.stop_loss == pytest.approx(100 * math.exp(0.04))
    assert long.risk_reward == pytest.approx((math.exp(0.06) - 1) / (1 - math.exp(-0.04)))
    with pytest.raises(ValueError):
        risk.volatility_stops(100.0, 0, 0.01, 4)


def test_regime_places_the_current_forecast_against_its_own_history():
    history = np.linspace(0.01, 0.03, 300)
    assert risk.volatility_regime(0.005, history).regime == "low"
    assert risk.volatility_regime(0.02, history).regime == "normal"
    high = risk.volatility_regime(0.029, history)
    assert high.regime == "high" and high.high_threshold == pytest.approx(np.quantile(history, 2 / 3))
    assert high.percentile == pytest.approx(np.mean(history <= 0.029)) and high.n_history == 300
    with pytest.raises(ValueError):
        risk.volatility_regime(0.02, history[:5])
