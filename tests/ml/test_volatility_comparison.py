"""The retrain comparison (pure): the window after the champion's data, frozen vs walk-forward QLIKE."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.volatility.comparison import compare_on_window, pooled_qlike, recent_window_start
from ml.volatility.registry import make_model


def _bars(n=600, seed=0):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    idx = pd.date_range("2015-01-01", periods=n, freq="D", name="ts")
    return pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99, "close": close,
                         "volume": 1e6}, index=idx)


def test_window_starts_after_the_champions_data_when_enough_bars_are_new():
    bars = _bars(300)
    assert recent_window_start(bars, None, 126, 40) == 300 - 126
    assert recent_window_start(bars, str(bars.index[249]), 126, 40) == 250  # 50 unseen bars >= 40
    assert recent_window_start(bars, str(bars.index[279]), 126, 40) == 300 - 126  # 20 unseen: the last 126
    assert recent_window_start(bars.iloc[:100], None, 126, 40) == 0


def test_frozen_champion_and_walk_forward_candidate_are_scored_on_the_same_window():
    bars = _bars()
    champion = make_model("ewma", 5).fit(bars.iloc[:450])
    scores, rows = compare_on_window(bars, champion, "ewma", 5, 450, 21)
    assert scores["window"] == [str(bars.index[450]), str(bars.index[-1])]
    assert {"champion", "candidate"} <= set(scores) and scores["champion"]["qlike"] > 0
    assert set(rows["side"]) == {"champion", "candidate"}
    assert rows[rows["side"] == "champion"].index.min() == bars.index[450]
    qlike = pooled_qlike(rows)
    assert qlike["champion"] == pytest.approx(scores["champion"]["qlike"], rel=0.05)
