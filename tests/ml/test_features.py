"""Tests of ml.features and its pandera contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.features import FeatureSchema, feature_schema
from ml.datasets import load_sample
from ml.features import (
    FEATURE_COLUMNS,
    FeatureConfig,
    compute_features,
    feature_columns,
    min_history,
    variance_proxy,
)

SMALL = FeatureConfig(vol_windows=(1, 5), atr_window=5, rsi_window=5, macd_fast=3, macd_slow=6, macd_signal=3,
                      bb_window=5, momentum_horizons=(2, 5), volume_window=5, corr_window=5)


def synthetic_bars(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0, 0.003, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.005, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.005, n)))
    idx = pd.date_range("2020-01-01", periods=n, freq="B", name="ts")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": rng.uniform(1e5, 2e5, n)}, index=idx)


@pytest.fixture(scope="module")
def sp500() -> pd.DataFrame:
    return load_sample("SP500")


def test_columns_index_and_schema(sp500: pd.DataFrame) -> None:
    feats = compute_features(sp500, reference_close=sp500["close"])
    assert list(feats.columns) == FEATURE_COLUMNS == feature_columns()
    assert feats.index.equals(sp500.index)
    FeatureSchema.validate(feats)
    assert feats.iloc[100:].drop(columns="corr_ref_66").notna().all().all()


def test_reference_none_gives_nan_column() -> None:
    feats = compute_features(synthetic_bars(), SMALL)
    assert feats["corr_ref_5"].isna().all()
    feature_schema(SMALL).validate(feats)


def test_config_hash_is_stable_and_sensitive() -> None:
    assert FeatureConfig().config_hash() == FeatureConfig().config_hash()
    assert FeatureConfig().config_hash() != FeatureConfig(rsi_window=10).config_hash()
    assert len(FeatureConfig().config_hash()) == 12


def test_short_window_matches_full_history(sp500: pd.DataFrame) -> None:
    full = compute_features(sp500, reference_close=sp500["close"])
    recent = compute_features(sp500.iloc[-min_history():], reference_close=sp500["close"])
    np.testing.assert_allclose(recent.iloc[-1].to_numpy(), full.iloc[-1].to_numpy(), rtol=1e-7, atol=1e-12)


def test_hand_computed_values() -> None:
    bars = synthetic_bars(60)
    feats = compute_features(bars, SMALL)
    t = 40
    r = np.log(bars["close"]).diff()
    assert feats["rv_cc_5"].iloc[t] == pytest.approx(np.sqrt(np.mean(r.iloc[t - 4:t + 1] ** 2)))
    hl = np.log(bars["high"] / bars["low"]).iloc[t - 4:t + 1]
    assert feats["rv_pk_5"].iloc[t] == pytest.approx(np.sqrt(np.mean(hl**2) / (4 * np.log(2))))
    assert feats["mom_5"].iloc[t] == pytest.approx(bars["close"].iloc[t] / bars["close"].iloc[t - 5] - 1)
    window = bars["close"].iloc[t - 4:t + 1]
    lower = window.mean() - 2 * window.std(ddof=0)
    assert feats["bb_pctb_5"].iloc[t] == pytest.approx((window.iloc[-1] - lower) / (4 * window.std(ddof=0)))
    assert feats["dow"].iloc[t] == bars.index[t].dayofweek and feats["month"].iloc[t] == bars.index[t].month


def test_garman_klass_and_rogers_satchell_formulas() -> None:
    bars = pd.DataFrame({"open": [100.0], "high": [110.0], "low": [95.0], "close": [105.0], "volume": [1.0]},
                        index=pd.DatetimeIndex(["2020-01-01"], name="ts"))
    h, l, c = np.log(1.1), np.log(0.95), np.log(1.05)
    assert variance_proxy(bars, "gk").iloc[0] == pytest.approx(0.5 * (h - l) ** 2 - (2 * np.log(2) - 1) * c**2)
    assert variance_proxy(bars, "rs").iloc[0] == pytest.approx((h - c) * h + (l - c) * l)


def test_rsi_extremes() -> None:
    bars = synthetic_bars(40)
    up = bars.assign(close=np.linspace(100, 140, 40))
    assert compute_features(up, SMALL)["rsi_5"].iloc[-1] == pytest.approx(100.0)
    flat = bars.assign(close=100.0)
    assert compute_features(flat, SMALL)["rsi_5"].iloc[-1] == pytest.approx(50.0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t=st.integers(min_value=10, max_value=110), seed=st.integers(0, 10_000), scale=st.floats(0.5, 2.0))
def test_no_look_ahead(t: int, seed: int, scale: float) -> None:
    bars = synthetic_bars(120)
    ref = bars["close"] * 1.5
    base = compute_features(bars, SMALL, reference_close=ref)
    rng = np.random.default_rng(seed)
    future = bars.copy()
    noise = np.exp(rng.normal(0, 0.05, (len(bars) - t - 1, 1)))
    future.iloc[t + 1:, :4] = future.iloc[t + 1:, :4].to_numpy() * noise * scale
    future.iloc[t + 1:, 4] = future.iloc[t + 1:, 4].to_numpy() * rng.uniform(0.1, 10, len(bars) - t - 1)
    ref_future = ref.copy()
    ref_future.iloc[t + 1:] = ref_future.iloc[t + 1:] * scale
    moved = compute_features(future, SMALL, reference_close=ref_future)
    pd.testing.assert_frame_equal(moved.iloc[: t + 1], base.iloc[: t + 1])
