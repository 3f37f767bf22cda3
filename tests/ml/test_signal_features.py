"""Signal features: leak-free historical win rate, no look-ahead, training/serving parity."""

import numpy as np
import pandas as pd
import pytest

from ml.datasets import load_sample
from ml.signal_quality.features import SignalFeatureConfig, build_signal_features, historical_win_rate
from ml.signal_quality.labels import BarrierConfig, triple_barrier_labels
from ml.strategies import make_strategy

D = pd.Timestamp("2020-01-01")


def day(k: int) -> pd.Timestamp:
    return D + pd.Timedelta(days=k)


def constructed_history() -> pd.DataFrame:
    rows = [  # strategy, side, signal day, exit day, label
        ("s", 1, 1, 5, 1.0),   # A: resolved before the query -> counts
        ("s", 1, 2, 10, 1.0),  # B: signalled before, resolved AFTER the query -> must not count
        ("s", 1, 3, 6, 0.0),   # C: resolved AT the query time -> not strictly before -> must not count
        ("s", 1, 4, 4, 0.0),   # D: counts
        ("s", -1, 0, 2, 1.0),  # E: other side -> strategy-level prior only
        ("t", 1, 0, 1, 1.0),   # F: other strategy -> ignored
        ("s", 1, 5, None, np.nan),  # G: unresolved -> ignored
    ]
    return pd.DataFrame({
        "strategy": [r[0] for r in rows], "side": [r[1] for r in rows],
        "exit_time": pd.to_datetime([day(r[3]) if r[3] is not None else None for r in rows]),
        "label": [r[4] for r in rows], "ret": [0.01 if r[4] == 1 else -0.01 for r in rows],
    }, index=pd.DatetimeIndex([day(r[2]) for r in rows], name="ts"))


def query(history, k=2.0):
    return historical_win_rate(pd.DatetimeIndex([day(6)]), np.array([1]), history, "s",
                               lookback=50, prior_strength=k).iloc[0]


def test_historical_win_rate_uses_only_outcomes_resolved_strictly_before():
    row = query(constructed_history())
    # strategy level: A(1), D(0), E(1) -> (2 + 2*0.5) / (3 + 2) = 0.6; side level: A(1), D(0)
    assert row["hist_win_rate_strategy"] == pytest.approx(0.6)
    assert row["hist_n"] == 2
    assert row["hist_win_rate"] == pytest.approx((1 + 2 * 0.6) / (2 + 2))


def test_outcomes_resolved_at_or_after_the_signal_do_not_change_the_feature():
    base = query(constructed_history())
    flipped = constructed_history()
    flipped.iloc[[1, 2], flipped.columns.get_loc("label")] = [0.0, 1.0]  # B and C
    pd.testing.assert_series_equal(query(flipped), base)
    flipped.iloc[0, flipped.columns.get_loc("label")] = 0.0  # A was resolved before: it must matter
    assert query(flipped)["hist_win_rate"] < base["hist_win_rate"]


def test_win_rate_shrinks_to_prior_without_history_and_uses_lookback():
    empty = query(None)
    assert empty["hist_win_rate"] == 0.5 and empty["hist_n"] == 0
    hist = constructed_history()
    row = historical_win_rate(pd.DatetimeIndex([day(6)]), np.array([1]), hist, "s", lookback=1,
                              prior_strength=0.0).iloc[0]
    assert row["hist_n"] == 1 and row["hist_win_rate"] == 1.0  # only A, the latest resolved (day 5)


@pytest.fixture(scope="module")
def sp500_signals():
    bars = load_sample("SP500").iloc[:2000]
    signals = make_strategy("donchian_breakout").signals(bars)
    return bars, signals


def test_perturbing_the_future_leaves_past_features_unchanged(sp500_signals):
    bars, signals = sp500_signals
    cfg = SignalFeatureConfig()
    cut = bars.index[1500]
    future = bars.copy()
    rng = np.random.default_rng(0)
    shock = np.exp(np.cumsum(rng.normal(0, 0.03, (bars.index > cut).sum())))
    future.loc[future.index > cut, ["open", "high", "low", "close"]] *= shock[:, None]
    future.loc[future.index > cut, "volume"] *= 3.0
    feats = []
    for b in (bars, future):
        labels = triple_barrier_labels(b, signals, cfg.barrier)
        feats.append(build_signal_features(b, signals, labels, "donchian_breakout", cfg))
    past = signals.index <= cut
    pd.testing.assert_frame_equal(feats[0][past], feats[1][past])
    assert not feats[0][~past].equals(feats[1][~past])


def test_serving_on_recent_bars_matches_training_features(sp500_signals):
    bars, signals = sp500_signals
    cfg = SignalFeatureConfig()
    labels = triple_barrier_labels(bars, signals, cfg.barrier)
    train = build_signal_features(bars, signals, labels, "donchian_breakout", cfg)
    last = signals.iloc[[-1]]
    recent = bars.loc[:last.index[0]].iloc[-cfg.min_history_bars:]
    resolved = labels[labels["exit_time"] < last.index[0]]
    serve = build_signal_features(recent, last, resolved, "donchian_breakout", cfg)
    assert serve.drop(columns=[c for c in serve if "corr_ref" in c]).notna().all(axis=None)
    pd.testing.assert_frame_equal(serve, train.iloc[[-1]], rtol=1e-5)


def test_quality_factors_are_side_adjusted():
    idx = pd.date_range("2020-01-01", periods=400, freq="D", name="ts")
    close = 100 * np.exp(np.linspace(0, 0.5, 400) + 0.01 * np.sin(np.arange(400)))
    bars = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99, "close": close,
                         "volume": 1e6 + 1e5 * np.cos(np.arange(400))}, index=idx)
    signals = pd.DataFrame({"side": [1, -1], "strength": [0.3, 0.7]}, index=idx[[350, 351]])
    cfg = SignalFeatureConfig(use_shared_features=False, barrier=BarrierConfig(pt_mult=2.0, sl_mult=1.0))
    X = build_signal_features(bars, signals, None, "x", cfg)
    assert X["trend_align"].tolist() == [1.0, -1.0]  # uptrend: aligned for the buy only
    assert X["risk_reward"].tolist() == [2.0, 2.0] and X["strength"].tolist() == [0.3, 0.7]
    assert X["side"].tolist() == [1.0, -1.0] and X["momentum_align"].iloc[0] > 0 > X["momentum_align"].iloc[1]
    assert not any(c.startswith("f_") for c in X.columns)


def test_strategy_indicators_are_one_hot_over_registered_strategies():
    from ml.strategies import STRATEGIES

    bars = load_sample("GOOG").iloc[:600]
    signals = make_strategy("sma_crossover").signals(bars)
    cfg = SignalFeatureConfig(use_shared_features=False)
    X = build_signal_features(bars, signals, None, "sma_crossover", cfg)
    cols = [f"strategy_{name}" for name in STRATEGIES]
    assert set(cols) <= set(X.columns)
    assert (X["strategy_sma_crossover"] == 1).all() and (X[cols].sum(axis=1) == 1).all()
