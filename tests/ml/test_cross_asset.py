"""Cross-asset context of the signal features: causal, as-of aligned, reference rule, NaN without data."""

import numpy as np
import pandas as pd
import pytest

from ml.datasets import load_sample
from ml.signal_quality.features import (
    CROSS_ASSET_COLUMNS,
    SignalFeatureConfig,
    bar_context,
    build_signal_features,
    cross_asset_context,
    reference_symbol,
)
from ml.signal_quality.features.cross_asset import as_of, breadth
from ml.strategies import make_strategy

CFG = SignalFeatureConfig(cross_asset=True)
CORR = "f_corr_ref_66"


@pytest.fixture(scope="module")
def samples():
    return {s: load_sample(s) for s in ("SP500", "NASDAQ", "GOOG")}


def closes_of(samples):
    return {s: b["close"] for s, b in samples.items()}


def test_reference_rule_skips_itself_and_missing():
    closes = {"SP500": pd.Series([1.0]), "NASDAQ": pd.Series([1.0])}
    assert reference_symbol("GOOG", closes, CFG) == "SP500"
    assert reference_symbol("SP500", closes, CFG) == "NASDAQ"
    assert reference_symbol("SP500", {"SP500": pd.Series([1.0])}, CFG) is None
    assert reference_symbol("GOOG", {}, CFG) is None


def test_as_of_takes_last_value_at_or_before():
    s = pd.Series([1.0, 2.0, 3.0], index=pd.to_datetime(["2020-01-02", "2020-01-04", "2020-01-06"]))
    idx = pd.DatetimeIndex(pd.to_datetime(["2020-01-01", "2020-01-04", "2020-01-05", "2020-01-09"]))
    assert as_of(s, idx).tolist()[1:] == [2.0, 2.0, 3.0]
    assert np.isnan(as_of(s, idx).iloc[0])


def test_breadth_is_share_above_own_sma_and_nan_without_others():
    idx = pd.date_range("2020-01-01", periods=6, freq="D")
    up = pd.Series(np.arange(1.0, 7.0), index=idx)
    down = pd.Series(np.arange(6.0, 0.0, -1), index=idx)
    b = breadth(idx, {"a": up, "b": down}, 3)
    assert b.iloc[:2].isna().all() and (b.iloc[2:] == 0.5).all()
    assert (breadth(idx, {"a": up}, 3).iloc[2:] == 1.0).all()
    assert breadth(idx, {}, 3).isna().all()


def test_truncating_the_future_changes_no_past_row(samples):
    bars, closes = samples["GOOG"], closes_of(samples)
    cut = bars.index[1500]
    full = pd.concat(bar_context(bars, CFG, closes=closes, symbol="GOOG"), axis=1)
    short_closes = {s: c[c.index <= cut] for s, c in closes.items()}
    past = pd.concat(bar_context(bars[bars.index <= cut], CFG, closes=short_closes, symbol="GOOG"), axis=1)
    pd.testing.assert_frame_equal(full.loc[past.index], past)
    assert past[[CORR, *CROSS_ASSET_COLUMNS]].iloc[-200:].notna().all().all()


def test_future_of_other_series_does_not_reach_a_bar(samples):
    bars, closes = samples["GOOG"], closes_of(samples)
    cut = bars.index[1000]
    shocked = {s: c.where(c.index <= cut, c * 3.0) for s, c in closes.items()}
    a = pd.concat(bar_context(bars, CFG, closes=closes, symbol="GOOG"), axis=1)
    b = pd.concat(bar_context(bars, CFG, closes=shocked, symbol="GOOG"), axis=1)
    pd.testing.assert_frame_equal(a.loc[:cut], b.loc[:cut])
    assert not a.loc[cut:, "x_ref_trend"].iloc[1:].equals(b.loc[cut:, "x_ref_trend"].iloc[1:])


def test_reference_feeds_the_shared_correlation_and_columns_do_not_depend_on_data(samples):
    bars, closes = samples["NASDAQ"], closes_of(samples)
    with_ctx = bar_context(bars, CFG, closes=closes, symbol="NASDAQ")[1]
    without = bar_context(bars, CFG, closes=None, symbol="NASDAQ")[1]
    assert list(with_ctx.columns) == list(without.columns)
    assert without[[CORR, *CROSS_ASSET_COLUMNS]].isna().all().all()
    corr = with_ctx[CORR].dropna()
    assert len(corr) > 4000 and corr.mean() > 0.7  # NASDAQ vs its reference SP500
    ref, _ = cross_asset_context(bars, closes, CFG, "NASDAQ")
    pd.testing.assert_series_equal(ref, closes["SP500"].reindex(bars.index).astype("float64"), check_names=False)


def test_off_by_default_keeps_the_old_features(samples):
    bars, closes = samples["GOOG"], closes_of(samples)
    signals = make_strategy("sma_crossover").signals(bars)
    signals = signals[signals["side"] != 0].iloc[-20:]
    old = build_signal_features(bars, signals, None, "sma_crossover", SignalFeatureConfig())
    ignored = build_signal_features(bars, signals, None, "sma_crossover", SignalFeatureConfig(), closes=closes,
                                    symbol="GOOG")
    pd.testing.assert_frame_equal(old, ignored)
    assert old[CORR].isna().all() and not set(CROSS_ASSET_COLUMNS) & set(old.columns)
    new = build_signal_features(bars, signals, None, "sma_crossover", CFG, closes=closes, symbol="GOOG")
    assert list(new.columns) == list(old.columns) + list(CROSS_ASSET_COLUMNS)
    assert new[[CORR, *CROSS_ASSET_COLUMNS]].notna().all().all()


def test_a_config_pickled_before_the_fields_existed_computes_the_old_features(samples):
    import pickle

    bars, closes = samples["GOOG"], closes_of(samples)
    cfg = SignalFeatureConfig()
    old = object.__new__(SignalFeatureConfig)  # the state an old pickle restores: no cross-asset fields
    state = {k: v for k, v in vars(cfg).items()
             if k not in ("cross_asset", "reference_symbols", "breadth_window", "regime_short", "regime_long")}
    object.__setattr__(old, "__dict__", state)
    old = pickle.loads(pickle.dumps(old))
    assert "cross_asset" not in vars(old) and old.cross_asset is False
    a = pd.concat(bar_context(bars, old, closes=closes, symbol="GOOG"), axis=1)
    b = pd.concat(bar_context(bars, cfg), axis=1)
    pd.testing.assert_frame_equal(a, b)


def test_training_settings_recorded_before_the_field_train_without_it():
    import json

    from ml.signal_quality.recipe import ModelSettings

    data = json.loads(ModelSettings(cross_asset=True).to_json())
    assert ModelSettings.from_json(json.dumps(data)).feature_config().cross_asset is True
    del data["cross_asset"]
    assert ModelSettings.from_json(json.dumps(data)).cross_asset is False


def test_training_sets_get_the_context_of_the_other_series(samples):
    from ml.signal_quality.bundle import prepare_signal_set, training_closes

    bars = {s: b.iloc[-900:] for s, b in samples.items() if s != "GOOG"}
    s = prepare_signal_set(bars["NASDAQ"], "NASDAQ", "sma_crossover", [{"fast": 10, "slow": 30}], CFG,
                           training_closes(bars))
    assert len(s.X) and s.X[[CORR, *CROSS_ASSET_COLUMNS]].iloc[-50:].notna().all().all()
    alone = prepare_signal_set(bars["NASDAQ"], "NASDAQ", "sma_crossover", [{"fast": 10, "slow": 30}], CFG)
    assert list(alone.X.columns) == list(s.X.columns) and alone.X[list(CROSS_ASSET_COLUMNS)].isna().all().all()
