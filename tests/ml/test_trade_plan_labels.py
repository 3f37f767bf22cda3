"""Triple-barrier labels with each signal's own trade plan (the outcome backfill resolves planned signals so)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flows.backfill import resolve_signals
from ml.signal_quality.labels import BarrierConfig, triple_barrier_labels


def _bars(n: int = 400, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    idx = pd.date_range("2020-01-01", periods=n, freq="D", name="ts")
    open_ = np.concatenate([[100.0], close[:-1]])
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * 1.003,
                         "low": np.minimum(open_, close) * 0.997, "close": close, "volume": 1e6}, index=idx)


def test_a_plan_overrides_the_barriers_per_signal_and_nan_keeps_the_config():
    bars, cfg = _bars(), BarrierConfig()
    ts = bars.index[100:300:10]
    plain = triple_barrier_labels(bars, pd.DataFrame({"side": 1}, index=ts), cfg)
    planned = triple_barrier_labels(bars, pd.DataFrame({"side": 1, "pt_mult": 6.0, "sl_mult": 0.3,
                                                        "max_holding": 3}, index=ts), cfg)
    assert (planned["pt_ret"] / planned["vol"]).round(9).eq(6.0).all()
    assert (planned["holding_bars"] <= 3).all() and (plain["holding_bars"] > 3).any()
    assert planned["barrier"].isin(["sl", "vertical"]).all()  # a 6-vol target is out of reach in 3 bars
    mixed = triple_barrier_labels(bars, pd.DataFrame({"side": 1, "pt_mult": [np.nan] * (len(ts) - 1) + [6.0]},
                                                     index=ts), cfg)
    pd.testing.assert_frame_equal(mixed.iloc[:-1], plain.iloc[:-1])


def test_the_backfill_resolves_a_planned_signal_with_its_plan():
    bars = _bars()
    pending = pd.DataFrame({"id": [1, 2], "symbol": "X", "timeframe": "1d", "side": ["BUY", "BUY"],
                            "signal_ts": [bars.index[150]] * 2, "pt_mult": [np.nan, 6.0],
                            "sl_mult": [np.nan, 0.2], "max_holding": [np.nan, 2.0]})
    rows = {r["score_id"]: r for r in resolve_signals(pending, bars, BarrierConfig())}
    assert set(rows) == {1, 2}
    expected = triple_barrier_labels(bars, pd.DataFrame({"side": [1]}, index=[bars.index[150]]), BarrierConfig())
    assert rows[1]["barrier"] == expected["barrier"].iloc[0]
    assert rows[1]["realised_return"] == pytest.approx(float(expected["ret"].iloc[0]))
    assert rows[2]["barrier"] in ("sl", "vertical")
    assert rows[2]["exit_ts"] <= bars.index[150 + 1 + 2].to_pydatetime()
