"""The pure parts of the market replay: steps, the app simulator's signals, the faulty feed, the timeline figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingestion.sources import read_sample
from ml.replay import AppSimulator, FeedFaults, faulty_feed, interval_coverage, replay_steps, timeline_figure
from ml.strategies import make_strategy


def _held(symbols=("SP500", "GOOG")) -> pd.DataFrame:
    return read_sample(list(symbols), holdback_days=365, held_back=True)


def test_steps_hold_the_kth_bar_of_every_series():
    held = _held()
    steps = replay_steps(held)
    per_series = held.groupby("symbol").size()
    assert len(steps) == per_series.max()
    assert sum(len(s) for s in steps) == len(held)  # every held-back bar exactly once
    first = steps[0].set_index("symbol")["ts"]
    assert first["SP500"] == held[held.symbol == "SP500"]["ts"].min()
    assert first["GOOG"] == held[held.symbol == "GOOG"]["ts"].min()
    assert all(s["symbol"].is_unique for s in steps)


def test_holdback_splits_each_daily_series_without_overlap():
    known, held = read_sample(["SP500"], holdback_days=365), _held(["SP500"])
    assert known["ts"].max() < held["ts"].min()
    assert len(known) + len(held) == len(read_sample(["SP500"]))
    assert held["ts"].min().year == 2018 and held["ts"].max().year == 2018
    assert read_sample(["EURUSD"], holdback_days=365, held_back=True).empty  # only daily series are held back


def test_app_simulator_reports_exactly_the_signals_of_the_strategy_on_the_newest_bar():
    bars = read_sample(["SP500"]).set_index("ts")[["open", "high", "low", "close", "volume"]].astype(float)
    history, future = bars.iloc[:-120], bars.iloc[-120:]
    app = AppSimulator({("SP500", "1d"): history}, strategies=["sma_crossover"], lookback=400)
    fired = []
    for ts, row in future.iterrows():
        step = pd.DataFrame([{"symbol": "SP500", "timeframe": "1d", "ts": ts, **row.to_dict()}])
        fired += app.observe(step)
    expected = make_strategy("sma_crossover").signals(bars.iloc[-520:])
    expected = expected[expected.index >= future.index[0]]
    assert [(s.ts, s.side) for s in fired] == [(ts, "BUY" if side > 0 else "SELL")
                                              for ts, side in expected["side"].items()]
    assert fired, "the 120 bars should hold at least one crossover"


def test_faulty_feed_delivers_every_bar_once_correctly_and_counts_faults():
    steps = replay_steps(_held())
    pushes = faulty_feed(steps, FeedFaults(duplicate_every=7, late_every=11, corrupt_every=13))
    assert len(pushes) == len(steps)
    sent = pd.concat([p for p, _ in pushes], ignore_index=True)
    good = sent[sent["high"] >= sent["low"]]
    keys = ["symbol", "ts"]
    assert set(map(tuple, good[keys].to_numpy())) == set(map(tuple, pd.concat(steps)[keys].to_numpy()))
    faults = {k: sum(c[k] for _, c in pushes) for k in ("duplicate", "late", "corrupt")}
    assert faults["corrupt"] == int((sent["high"] < sent["low"]).sum()) > 0
    assert faults["late"] > 0 and faults["duplicate"] > 0
    assert len(sent) == len(pd.concat(steps)) + faults["duplicate"] + faults["corrupt"]


def test_timeline_figure_and_coverage():
    ts = pd.date_range("2018-01-01", periods=30, freq="B")
    fc = pd.DataFrame({"as_of": ts, "predicted": 0.01, "lower": 0.005, "upper": 0.02,
                       "actual": np.r_[np.full(20, 0.01), np.full(10, 0.03)], "model_version": ["1"] * 15 + ["2"] * 15})
    signals = pd.DataFrame({"signal_ts": ts, "outcome": np.tile([1.0, 0.0], 15), "taken": [True, False] * 15})
    triggers = pd.DataFrame({"data_ts": [ts[20]], "status": ["fired"], "reasons": [["qlike up"]]})
    fig = timeline_figure(fc, signals, triggers, "SP500")
    assert len(fig.axes) == 2 and any("v2" in t.get_text() for t in fig.axes[0].texts)
    assert interval_coverage(fc) == 20 / 30
