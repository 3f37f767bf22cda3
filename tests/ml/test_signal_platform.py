"""Resolved platform signals as training rows (ml.signal_quality.platform): alignment, pooling, purging, digest."""

import numpy as np
import pandas as pd
import pytest

from ml.signal_quality.bundle import SignalSet
from ml.signal_quality.labels import LABEL_COLUMNS
from ml.signal_quality.platform import (
    platform_digest,
    platform_signal_set,
    platform_signal_sets,
    training_digest,
    usable_rows,
)
from ml.signal_quality.recipe import pool_sets
from ml.signal_quality.validation import PurgedWalkForwardCV

COLUMNS = ["side", "rsi", "vol_ratio", "strategy_sma_crossover"]


def _row(score_id, ts, exit_ts, label, features, side=1, strategy="my_breakout", symbol="GOOG", user="u_x",
         ret=0.01, barrier="reported"):
    return {"score_id": score_id, "user": user, "symbol": symbol, "timeframe": "1d", "strategy": strategy,
            "side": side, "signal_ts": pd.Timestamp(ts) if ts else pd.NaT,
            "exit_ts": pd.Timestamp(exit_ts) if exit_ts else pd.NaT, "label": label, "ret": ret,
            "barrier": barrier, "features": features}


def _rows(*rows):
    return pd.DataFrame(list(rows))


def test_features_are_aligned_to_the_training_columns():
    rows = _rows(_row(1, "2024-01-02", "2024-01-05", 1.0, {"side": 1.0, "rsi": 30.0, "extra_only_here": 9.0}),
                 _row(2, "2024-01-03", "2024-01-04", 0.0, {"rsi": "55.5", "vol_ratio": None}, side=-1),
                 _row(3, "2024-01-04", "2024-01-09", 1.0, {"rsi": 20.0, "strategy_sma_crossover": 1.0},
                      strategy="sma_crossover"))
    s = platform_signal_set(rows, COLUMNS)
    assert list(s.X.columns) == COLUMNS and (s.X.dtypes == "float64").all()
    assert list(s.X.index) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-04")]
    assert s.X["rsi"].tolist() == [30.0, 55.5, 20.0]
    assert s.X["side"].tolist() == [1.0, -1.0, 1.0]  # taken from the row when the stored features lack it
    assert np.isnan(s.X["vol_ratio"]).all()  # a column no stored row has is NaN
    assert s.X["strategy_sma_crossover"].isna().tolist() == [True, True, False]
    assert "extra_only_here" not in s.X.columns
    assert set(LABEL_COLUMNS) | {"strategy"} <= set(s.labels.columns)
    assert s.labels["exit_time"].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-04"),
                                              pd.Timestamp("2024-01-09")]
    assert s.labels["entry_time"].tolist() == list(s.X.index)
    assert s.labels["label"].tolist() == [1.0, 0.0, 1.0] and s.labels["side"].tolist() == [1, -1, 1]
    assert s.labels["strategy"].tolist() == ["my_breakout", "my_breakout", "sma_crossover"]
    assert ((s.weights > 0) & (s.weights <= 1)).all() and s.weights.iloc[1] < 1  # rows 1 and 2 overlap
    assert s.history.empty  # the service reads platform outcomes from the database, the bundle does not repeat them
    assert "user" not in s.X.columns and "score_id" not in s.X.columns


def test_unusable_rows_are_dropped():
    rows = _rows(_row(1, "2024-01-02", "2024-01-05", 1.0, {"rsi": 1.0}),
                 _row(2, "2024-01-02", None, 1.0, {"rsi": 2.0}),  # no exit time
                 _row(3, "2024-01-02", "2024-01-05", np.nan, {"rsi": 3.0}),  # no outcome
                 _row(4, "2024-01-06", "2024-01-05", 0.0, {"rsi": 4.0}),  # exit before the signal
                 _row(5, "2024-01-02", "2024-01-05", 0.5, {"rsi": 5.0}),  # not a 0/1 label
                 _row(6, "2024-01-02", "2024-01-05", 1.0, {"rsi": 6.0}, side=0))  # no side
    assert usable_rows(rows)["score_id"].tolist() == [1]
    assert platform_signal_set(rows, COLUMNS).X["rsi"].tolist() == [1.0]


def test_sets_per_symbol_and_strategy_pool_with_bar_sets():
    rows = _rows(_row(1, "2024-01-10", "2024-01-12", 1.0, {"rsi": 1.0}),
                 _row(2, "2024-01-11", "2024-01-13", 0.0, {"rsi": 2.0}, strategy="sma_crossover"),
                 _row(3, "2024-01-12", "2024-01-15", 1.0, {"rsi": 3.0}, symbol="MSFT"))
    sets = platform_signal_sets(rows, COLUMNS)
    assert sorted(sets) == ["GOOG|my_breakout@platform", "GOOG|sma_crossover@platform", "MSFT|my_breakout@platform"]
    bars_set = _bar_set(pd.date_range("2024-01-01", periods=20, freq="D"))
    pooled = pool_sets({"GOOG|sma_crossover": bars_set}, sets)
    assert len(pooled.X) == 23 and pooled.n_platform == 3 and list(pooled.X.columns) == COLUMNS
    assert pooled.X.index.is_monotonic_increasing and pooled.weights is not None
    assert len(pooled.history) == len(bars_set.history)  # platform rows add no bundle history
    assert pool_sets({"GOOG|sma_crossover": bars_set}).n_platform == 0


def _bar_set(times: pd.DatetimeIndex, hold_days: int = 1) -> SignalSet:
    X = pd.DataFrame({"side": 1.0, "rsi": np.arange(len(times), dtype=float), "vol_ratio": 1.0,
                      "strategy_sma_crossover": 1.0}, index=times)
    labels = pd.DataFrame({c: np.nan for c in LABEL_COLUMNS}, index=times).assign(
        side=1, entry_time=times, exit_time=times + pd.Timedelta(days=hold_days), ret=0.0,
        label=np.resize([0.0, 1.0], len(times)), strategy="sma_crossover")
    history = labels.assign(symbol="GOOG")[["symbol", "strategy", "side", "exit_time", "label", "ret"]]
    return SignalSet(X, labels, pd.Series(1.0, index=times), history)


def test_purged_cv_purges_platform_rows_by_their_exit_time():
    times = pd.date_range("2024-01-01", periods=40, freq="D")
    bars_set = _bar_set(times)
    # two platform signals at the same early time: one exits at once, one stays open into the last test fold
    rows = _rows(_row(1, "2024-01-05 12:00", "2024-01-06", 1.0, {"rsi": 1.0}),
                 _row(2, "2024-01-05 12:00", "2024-02-08", 0.0, {"rsi": 2.0}))
    pooled = pool_sets({"GOOG|sma_crossover": bars_set}, platform_signal_sets(rows, COLUMNS))
    lab = pooled.labels
    is_platform = lab["group"].str.endswith("@platform").to_numpy()
    t1 = lab["exit_time"].to_numpy()
    short = np.flatnonzero(is_platform & (t1 == np.datetime64("2024-01-06")))[0]
    long_ = np.flatnonzero(is_platform & (t1 == np.datetime64("2024-02-08")))[0]
    cv = PurgedWalkForwardCV(n_splits=3, min_train_fraction=0.4, embargo_pct=0.0)
    splits = list(cv.split(pooled.X.index, lab["exit_time"]))
    last_train, last_test = splits[-1]
    assert pooled.X.index[last_test[0]] <= pd.Timestamp("2024-02-08")  # the long label overlaps the last test fold
    assert short in last_train and long_ not in last_train  # purged by (t0, t1), not by t0 alone
    first_train, first_test = splits[0]
    test_start = pooled.X.index[first_test[0]]
    assert long_ not in first_train and pd.Timestamp("2024-02-08") >= test_start


def test_digest_changes_with_new_outcomes_only():
    rows = _rows(_row(1, "2024-01-02", "2024-01-05", 1.0, {"rsi": 30.0}),
                 _row(2, "2024-01-03", "2024-01-04", 0.0, {"rsi": 50.0}))
    base = training_digest("bars123", rows)
    assert base != "bars123" and base == training_digest("bars123", rows.iloc[::-1].reset_index(drop=True))
    assert training_digest("bars123", None) == "bars123"
    assert training_digest("bars123", rows.iloc[:0]) == "bars123"
    assert training_digest("bars123", rows.assign(label=[np.nan, np.nan])) == "bars123"  # nothing usable
    assert training_digest("bars123", rows.assign(user="u_other")) == base  # the pseudonym is not content
    more = pd.concat([rows, _rows(_row(3, "2024-01-04", "2024-01-06", 1.0, {"rsi": 10.0}))], ignore_index=True)
    assert training_digest("bars123", more) != base
    assert training_digest("bars123", rows.assign(label=[0.0, 0.0])) != base
    changed = rows.copy()
    changed.at[0, "features"] = {"rsi": 31.0}
    assert platform_digest(changed) != platform_digest(rows)
    assert training_digest("bars456", rows) != base


def test_empty_rows_give_an_empty_set():
    s = platform_signal_set(pd.DataFrame(columns=["score_id", "user", "symbol", "timeframe", "strategy", "side",
                                                  "signal_ts", "exit_ts", "label", "ret", "barrier", "features"]),
                            COLUMNS)
    assert s.X.empty and list(s.X.columns) == COLUMNS
    assert platform_signal_sets(pd.DataFrame(columns=["symbol", "strategy", "side", "signal_ts", "exit_ts",
                                                      "label"]), COLUMNS) == {}


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_aware_times_become_naive_utc(tz):
    rows = _rows(_row(1, "2024-01-02", "2024-01-05", 1.0, {"rsi": 1.0}))
    rows["signal_ts"] = rows["signal_ts"].dt.tz_localize(tz)
    rows["exit_ts"] = rows["exit_ts"].dt.tz_localize(tz)
    s = platform_signal_set(rows, COLUMNS)
    assert s.X.index.tz is None and s.labels["exit_time"].dt.tz is None
    assert s.X.index[0] == pd.Timestamp("2024-01-02", tz=tz).tz_convert("UTC").tz_localize(None)


def test_caller_features_join_the_columns_once_enough_rows_carry_them():
    from ml.signal_quality.platform import caller_feature_columns

    rows = _rows(*[_row(i, f"2024-01-{1 + i % 28:02d}", f"2024-02-{1 + i % 28:02d}", float(i % 2),
                        {"rsi": 30.0, "caller_confidence": 0.5 + i / 100, **({"caller_z": 1.0} if i < 5 else {}),
                         "caller_bad": float("nan")}) for i in range(40)])
    assert caller_feature_columns(rows, min_rows=30) == ["caller_confidence"]  # z: 5 rows; bad: never finite
    assert caller_feature_columns(rows, min_rows=3) == ["caller_confidence", "caller_z"]
    assert caller_feature_columns(None) == [] and caller_feature_columns(rows.iloc[:0]) == []
    s = platform_signal_set(rows, [*COLUMNS, "caller_confidence"])
    assert s.X["caller_confidence"].iloc[0] == pytest.approx(0.5)
