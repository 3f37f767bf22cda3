"""Tests for ml.strategies: interface, semantics, batch == single, and no look-ahead."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from ml.datasets import load_sample
from ml.strategies import (
    STRATEGIES,
    DonchianBreakout,
    ParamSpec,
    RSIMeanReversion,
    SMACrossover,
    Strategy,
    make_strategy,
    positions_batch,
    sma_matrix,
)


@pytest.fixture(scope="module")
def goog() -> pd.DataFrame:
    return load_sample("GOOG")


def bars_from_close(close: np.ndarray) -> pd.DataFrame:
    close = np.asarray(close, dtype=float)
    idx = pd.DatetimeIndex(pd.date_range("2020-01-01", periods=len(close), freq="D"), name="ts")
    return pd.DataFrame(
        {"open": close, "high": close + 0.5, "low": close - 0.5, "close": close, "volume": 1.0},
        index=idx,
    )


def test_registry_and_defaults():
    assert set(STRATEGIES) == {"rsi_mean_reversion", "sma_crossover", "donchian_breakout"}
    assert make_strategy("sma_crossover").params() == {"fast": 10, "slow": 30}
    assert RSIMeanReversion().params() == {"period": 14, "lower": 30.0, "upper": 70.0}
    assert DonchianBreakout().params() == {"window": 20, "exit_window": 10}
    assert make_strategy("sma_crossover", fast=5) == SMACrossover(5, 30)
    with pytest.raises(KeyError):
        make_strategy("nope")


@pytest.mark.parametrize("cls", list(STRATEGIES.values()))
def test_param_space_and_frozen(cls):
    space = cls.param_space()
    assert set(space) == set(cls().params())
    for spec in space.values():
        assert isinstance(spec, ParamSpec) and spec.kind in ("int", "float") and spec.low < spec.high
    strat = cls()
    assert isinstance(strat, Strategy)
    with pytest.raises(dataclasses.FrozenInstanceError):
        strat.__setattr__(next(iter(space)), 3)


def test_invalid_params_raise():
    with pytest.raises(ValueError):
        SMACrossover(fast=30, slow=10)
    with pytest.raises(ValueError):
        RSIMeanReversion(lower=70, upper=30)
    assert not SMACrossover.is_valid({"fast": 20, "slow": 20})
    assert SMACrossover.is_valid({"fast": 5, "slow": 20})


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_positions_and_signals_shape(goog, name):
    strat = make_strategy(name)
    pos = strat.positions(goog)
    assert pos.index.equals(goog.index)
    assert set(np.unique(pos)) <= {-1, 0, 1}
    sig = strat.signals(goog)
    assert list(sig.columns) == ["side", "strength"] and sig.index.name == "ts"
    assert sig["side"].dtype == np.int64 and set(sig["side"]) <= {-1, 1}
    assert (sig["strength"] >= 0).all() and len(sig) > 5
    # one row per entry/flip: the position changes to the signalled side at exactly these bars
    prev = pos.shift(1, fill_value=0)
    events = pos[(pos != 0) & (pos != prev)]
    assert events.index.equals(sig.index) and (events.to_numpy() == sig["side"].to_numpy()).all()


@pytest.mark.parametrize(
    "name, sets",
    [
        ("sma_crossover", [{"fast": f, "slow": s} for f in (3, 10, 20) for s in (25, 50)]),
        ("rsi_mean_reversion", [{"period": p, "lower": lo, "upper": 100 - lo} for p in (5, 14) for lo in (20, 35)]),
        ("donchian_breakout", [{"window": w, "exit_window": e} for w in (10, 40) for e in (5, 20)]),
    ],
)
def test_batch_matches_single(goog, name, sets):
    batch = positions_batch(name, goog, sets)
    assert batch.shape == (len(goog), len(sets))
    for j, params in enumerate(sets):
        np.testing.assert_array_equal(batch[:, j], make_strategy(name, **params).positions(goog).to_numpy())


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_no_look_ahead(goog, name):
    """Perturbing the future must not change positions or signals of the past."""
    cut = 1200
    future = goog.copy()
    rng = np.random.default_rng(0)
    future.iloc[cut:] = future.iloc[cut:] * rng.uniform(0.5, 1.5, size=(len(goog) - cut, 1))
    strat = make_strategy(name)
    pd.testing.assert_series_equal(strat.positions(goog).iloc[:cut], strat.positions(future).iloc[:cut])
    sig_a, sig_b = strat.signals(goog), strat.signals(future)
    pd.testing.assert_frame_equal(sig_a[sig_a.index < goog.index[cut]], sig_b[sig_b.index < goog.index[cut]])


def test_sma_matrix_matches_pandas_rolling(goog):
    close = goog["close"].to_numpy()
    got = sma_matrix(close, np.array([1, 7, 50]))
    for j, w in enumerate((1, 7, 50)):
        np.testing.assert_allclose(got[:, j], pd.Series(close).rolling(w).mean(), rtol=1e-10)


def test_sma_crossover_semantics():
    # falls, then rises: fast crosses above slow once, then falls again -> crosses below
    close = np.r_[np.linspace(20, 10, 15), np.linspace(10, 30, 15), np.linspace(30, 5, 20)]
    pos = SMACrossover(fast=2, slow=5).positions(bars_from_close(close)).to_numpy()
    assert (pos[:16] == 0).all()  # no cross while the trend is down
    first_long = np.argmax(pos == 1)
    assert 15 <= first_long <= 18 and pos[first_long:30].min() == 1
    assert pos[-1] == -1


def test_donchian_breakout_semantics():
    close = np.r_[np.full(10, 10.0), 12.0, 12.5, 13.0, 13.0, 13.0, 7.0, 7.0, 7.0]
    pos = DonchianBreakout(window=5, exit_window=3).positions(bars_from_close(close)).to_numpy()
    assert (pos[:10] == 0).all()
    assert pos[10] == 1  # close 12 > highest high 10.5 of the 5 previous bars
    assert pos[13] == 1  # 13 is not below the 3-bar low (12.0): still long
    assert pos[15] == -1  # 7 < lowest low of the previous 5 bars: flip to short


def test_rsi_semantics():
    close = np.r_[np.linspace(100, 60, 25), np.linspace(60, 100, 25)]
    strat = RSIMeanReversion(period=5, lower=30, upper=70)
    pos = strat.positions(bars_from_close(close)).to_numpy()
    assert pos[10] == 1  # steady fall: oversold -> long
    assert pos[-1] == -1  # steady rise: overbought -> short
    sig = strat.signals(bars_from_close(close))
    assert list(sig["side"]) == [1, -1]
