"""The store queries behind monitoring in data time: bars between two bar times, the last fired trigger's
data time, a version's last pass, series filters of the outcome backfill and the bars stored since a time."""

from datetime import datetime, timedelta

import pandas as pd

from store import monitoring as store
from store.bars import upsert_bars
from store.db import get_engine
from store.models import VolatilityPrediction, utcnow


def _bars(symbol: str, start: str, n: int, timeframe: str = "1d") -> pd.DataFrame:
    ts = pd.bdate_range(start, periods=n)
    return pd.DataFrame({"symbol": symbol, "timeframe": timeframe, "ts": ts, "open": 1.0, "high": 1.1, "low": 0.9,
                         "close": 1.0, "volume": 10.0, "source": "t"})


def test_bars_between_counts_distinct_bar_times_of_the_series(clean_db):
    upsert_bars(clean_db, pd.concat([_bars("A", "2018-01-01", 30), _bars("B", "2018-01-01", 30),
                                     _bars("A", "2018-01-01", 30, "1h"), _bars("C", "2019-01-01", 30)]))
    first, tenth = datetime(2018, 1, 1), datetime(2018, 1, 12)  # business days: 10 bars from the 1st to the 12th
    assert store.bars_between(clean_db, ["A"], "1d", first, tenth) == 9  # after the first, up to the tenth
    assert store.bars_between(clean_db, ["A", "B"], "1d", first, tenth) == 9  # same bar times: counted once
    assert store.bars_between(clean_db, ["C"], "1d", first, tenth) == 0
    assert store.bars_between(clean_db, ["A"], "1d", None, tenth) == 0
    assert store.bars_between(clean_db, [], "1d", first, tenth) == 0
    assert store.bars_between(clean_db, ["A"], "1d", tenth, first) == 0


def test_last_fired_data_ts_ignores_suppressed_triggers_and_last_pass_is_per_version(clean_db):
    name = "abtpro-volatility"
    assert store.last_fired_data_ts(clean_db, name) is None and store.last_pass(clean_db, name, "1") is None
    store.record_trigger(clean_db, model_name=name, model_version="1", reasons=[], status="fired", mode="record",
                         data_ts=datetime(2018, 2, 5))
    store.record_trigger(clean_db, model_name=name, model_version="1", reasons=[], status="suppressed", mode="none",
                         data_ts=datetime(2018, 2, 9))
    store.record_trigger(clean_db, model_name="other", model_version="1", reasons=[], status="fired", mode="record",
                         data_ts=datetime(2018, 3, 1))
    assert store.last_fired_data_ts(clean_db, name) == datetime(2018, 2, 5)
    for end in (datetime(2018, 1, 5), datetime(2018, 1, 12)):
        store.save_monitoring(clean_db, model_name=name, model_version="1", task="volatility", window_end=end,
                              decision="ok")
    assert store.last_pass(clean_db, name, "1")["window_end"] == datetime(2018, 1, 12)
    assert store.last_pass(clean_db, name, "2") is None


def test_unresolved_forecasts_of_some_series_and_series_ingested_since(clean_db):
    before = utcnow() - timedelta(seconds=1)
    upsert_bars(clean_db, _bars("A", "2018-01-01", 5))
    with get_engine(clean_db).begin() as conn:
        conn.execute(VolatilityPrediction.__table__.insert(), [
            {"symbol": s, "timeframe": tf, "predicted": 0.01, "confidence": 0.9, "features": {}, "horizon": 1440,
             "as_of": datetime(2018, 1, 2)} for s, tf in (("A", "1d"), ("B", "1d"), ("A", "1h"))])
    assert len(store.unresolved_volatility(clean_db)) == 3
    assert store.unresolved_volatility(clean_db, ["A"])["timeframe"].tolist() == ["1d", "1h"]
    assert store.unresolved_volatility(clean_db, ["A"], ["1d"])["symbol"].tolist() == ["A"]
    assert store.unresolved_signals(clean_db, ["A"]).empty
    assert store.series_ingested_since(clean_db, before) == (["A"], ["1d"])
    assert store.series_ingested_since(clean_db, utcnow() + timedelta(minutes=1)) == ([], [])
