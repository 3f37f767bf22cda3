"""Triple-barrier labels and average-uniqueness weights on hand-built bars."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.signal_quality.labels import BarrierConfig, average_uniqueness, triple_barrier_labels

# constant closes -> EWM vol 0 -> floored at min_vol = 1%, so barriers sit at +-pt/sl %
CFG = BarrierConfig(pt_mult=1.0, sl_mult=1.0, max_holding=5, vol_span=4, min_vol=0.01)


def flat_bars(n: int = 30) -> pd.DataFrame:
    idx = pd.date_range("2020-01-01", periods=n, freq="D", name="ts")
    return pd.DataFrame({c: 100.0 for c in ("open", "high", "low", "close")} | {"volume": 1.0}, index=idx)


def label_one(bars, pos, side, cfg=CFG):
    signals = pd.DataFrame({"side": [side], "strength": [1.0]}, index=bars.index[[pos]])
    return triple_barrier_labels(bars, signals, cfg).iloc[0]


def test_take_profit_touch_uses_high_and_next_open_entry():
    bars = flat_bars()
    bars.iloc[8, bars.columns.get_loc("high")] = 101.5
    row = label_one(bars, 5, +1)
    assert row["entry_time"] == bars.index[6] and row["entry_price"] == 100.0
    assert row["barrier"] == "pt" and row["label"] == 1.0
    assert row["exit_time"] == bars.index[8] and row["holding_bars"] == 3
    assert row["ret"] == pytest.approx(0.01)


@pytest.mark.parametrize("side", [+1, -1])
def test_both_barriers_in_one_bar_count_as_stop_loss(side):
    bars = flat_bars()
    bars.iloc[8, bars.columns.get_loc("high")] = 101.5
    bars.iloc[8, bars.columns.get_loc("low")] = 98.5
    row = label_one(bars, 5, side)
    assert row["barrier"] == "sl" and row["label"] == 0.0
    assert row["ret"] == pytest.approx(-0.01)


def test_stop_gapped_through_fills_at_open():
    bars = flat_bars()
    bars.iloc[8, :4] = [97.0, 97.5, 96.5, 97.0]
    row = label_one(bars, 5, +1)
    assert row["barrier"] == "sl" and row["exit_price"] == 97.0
    assert row["ret"] == pytest.approx(-0.03)


def test_short_take_profit_is_the_lower_barrier():
    bars = flat_bars()
    bars.iloc[7, bars.columns.get_loc("low")] = 98.9
    row = label_one(bars, 5, -1)
    assert row["barrier"] == "pt" and row["ret"] == pytest.approx(0.01) and row["label"] == 1.0


@pytest.mark.parametrize("last_close, label", [(100.5, 1.0), (100.0, 0.0), (99.5, 0.0)])
def test_vertical_barrier_label_is_sign_of_return(last_close, label):
    bars = flat_bars()
    bars.iloc[10, :4] = [100.0, max(last_close, 100.0), min(last_close, 100.0), last_close]
    row = label_one(bars, 5, +1)  # entry bar 6, 5 bars held -> exit at the close of bar 10
    assert row["barrier"] == "vertical" and row["exit_time"] == bars.index[10]
    assert row["holding_bars"] == 5 and row["label"] == label
    assert row["ret"] == pytest.approx(last_close / 100.0 - 1.0)


def test_unresolved_signals_are_returned_with_nan_label():
    bars = flat_bars()
    signals = pd.DataFrame({"side": [1, 1, -1], "strength": 1.0}, index=bars.index[[5, 26, 29]])
    labels = triple_barrier_labels(bars, signals, CFG)
    assert len(labels) == 3 and labels.index.equals(signals.index)
    assert labels["label"].notna().tolist() == [True, False, False]
    assert labels["exit_time"].isna().tolist() == [False, True, True]


def test_barrier_hit_before_end_of_data_is_resolved():
    bars = flat_bars()
    bars.iloc[28, bars.columns.get_loc("high")] = 102.0
    row = label_one(bars, 26, +1)
    assert row["barrier"] == "pt" and row["label"] == 1.0


def test_average_uniqueness_halves_fully_overlapping_labels():
    bars = flat_bars()
    signals = pd.DataFrame({"side": [1, 1, 1], "strength": 1.0}, index=bars.index[[5, 5, 15]])
    labels = triple_barrier_labels(bars, signals, CFG)
    w = average_uniqueness(labels, bars.index)
    assert w.tolist() == pytest.approx([0.5, 0.5, 1.0])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), pt=st.floats(0.5, 3.0), sl=st.floats(0.5, 3.0), hold=st.integers(1, 15))
def test_label_invariants_on_random_walks(seed, pt, sl, hold):
    rng = np.random.default_rng(seed)
    n = 120
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0, 0.003, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.005, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.005, n)))
    idx = pd.date_range("2021-01-01", periods=n, freq="D", name="ts")
    bars = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": 1.0}, index=idx)
    pos = np.sort(rng.choice(np.arange(10, n), 20, replace=False))
    signals = pd.DataFrame({"side": rng.choice([-1, 1], 20), "strength": 1.0}, index=idx[pos])
    cfg = BarrierConfig(pt_mult=pt, sl_mult=sl, max_holding=hold, vol_span=10)
    lab = triple_barrier_labels(bars, signals, cfg).dropna(subset=["label"])
    assert (lab["holding_bars"] <= hold).all() and (lab["exit_time"] >= lab["entry_time"]).all()
    tp, stop = lab[lab["barrier"] == "pt"], lab[lab["barrier"] == "sl"]
    assert np.allclose(tp["ret"], tp["pt_ret"]) and (tp["label"] == 1).all()
    assert (stop["ret"] <= -stop["sl_ret"] + 1e-12).all() and (stop["label"] == 0).all()
    vert = lab[lab["barrier"] == "vertical"]
    assert ((vert["ret"] > 0) == (vert["label"] == 1)).all()
    assert (vert["ret"] < vert["pt_ret"]).all() and (vert["ret"] > -vert["sl_ret"]).all()
