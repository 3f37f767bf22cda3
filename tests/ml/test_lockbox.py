"""The lockbox: the last 20% of every series, an embargo of the horizon before it, split per series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.lockbox import Lockbox
from ml.volatility.targets import realised_vol_target


def _bars(n: int, start: str = "2020-01-01") -> pd.DataFrame:
    idx = pd.date_range(start, periods=n, freq="D", name="ts")
    close = 100 * np.exp(np.cumsum(np.random.default_rng(n).normal(0, 0.01, n)))
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=idx)


def test_default_is_the_last_fifth_with_an_embargo_of_the_horizon():
    bars = _bars(100)
    selection, lockbox = Lockbox(horizon=5).split(bars)
    assert len(lockbox) == 20 and lockbox.index[0] == bars.index[80] and lockbox.index[-1] == bars.index[-1]
    assert len(selection) == 75 and selection.index[-1] == bars.index[74]
    assert Lockbox(horizon=5).bounds(100) == (75, 80)
    assert Lockbox(fraction=0.25, horizon=0).bounds(10) == (7, 7)  # ceil(2.5) = 3 bars locked


def test_no_selection_label_reaches_into_the_lockbox():
    bars = _bars(250)
    box = Lockbox(fraction=0.2, horizon=5)
    selection, lockbox = box.split(bars)
    # a label of selection bar t spans t..t+h: computed on the full series, the last one still ends before
    target = realised_vol_target(bars, 5)
    last_label_end = bars.index.get_loc(selection.index[-1]) + 5
    assert last_label_end < bars.index.get_loc(lockbox.index[0])
    # perturbing the lockbox leaves every selection-bar target (computed on the full series) unchanged
    shocked = bars.copy()
    shocked.loc[lockbox.index, ["open", "high", "low", "close"]] *= 3.0
    shocked.loc[lockbox.index[::2], "close"] *= 1.5
    pd.testing.assert_series_equal(realised_vol_target(shocked, 5).loc[selection.index], target.loc[selection.index])


def test_long_frames_are_split_per_symbol_and_timeframe():
    a = _bars(100).assign(symbol="A", timeframe="1d")
    b = _bars(50, "2021-01-01").assign(symbol="B", timeframe="1d")
    c = _bars(10, "2021-01-01").assign(symbol="A", timeframe="1h")
    frame = pd.concat([b, a, c]).reset_index()  # ts as a column, shuffled order of series
    selection, lockbox = Lockbox(horizon=2).split(frame.sample(frac=1.0, random_state=0))
    counts = lockbox.groupby(["symbol", "timeframe"]).size().to_dict()
    assert counts == {("A", "1d"): 20, ("A", "1h"): 2, ("B", "1d"): 10}
    assert selection.groupby(["symbol", "timeframe"]).size().to_dict() == {("A", "1d"): 78, ("A", "1h"): 6,
                                                                           ("B", "1d"): 38}
    for key, lock in lockbox.groupby(["symbol", "timeframe"]):
        sel = selection[(selection["symbol"] == key[0]) & (selection["timeframe"] == key[1])]
        assert sel["ts"].max() < lock["ts"].min()
        assert lock["ts"].is_monotonic_increasing


def test_split_series_dict_and_bad_settings():
    sel, lock = Lockbox(horizon=3).split_series({"X": _bars(40), "Y": _bars(60)})
    assert (len(sel["X"]), len(lock["X"]), len(sel["Y"]), len(lock["Y"])) == (29, 8, 45, 12)
    with pytest.raises(ValueError, match="fraction"):
        Lockbox(fraction=1.0)
    with pytest.raises(ValueError, match="horizon"):
        Lockbox(horizon=-1)
    with pytest.raises(ValueError, match="too short"):
        Lockbox(horizon=10).split(_bars(10))
    with pytest.raises(AttributeError):
        Lockbox().fraction = 0.5  # frozen
