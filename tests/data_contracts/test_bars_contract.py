import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from data_contracts.bars import BarsFrameSchema, RawBarSchema, split_valid_invalid
from tests.helpers import corrupt_csv_frame, synthetic_bars

EXPECTED_REASON = {
    "negative volume": "volume: greater_than_or_equal_to(0)",
    "high < low": "high >= low",
    "non-numeric price": "open: not a number",
    "duplicate timestamp": "unique timestamp per symbol",
    "missing close": "close: not_nullable",
}


def test_valid_frame_passes_schema():
    frame = synthetic_bars(50)
    RawBarSchema.validate(frame)
    split = split_valid_invalid(frame)
    assert len(split.valid) == 50 and split.invalid.empty


def test_each_corruption_is_quarantined_with_its_reason():
    frame, kinds = corrupt_csv_frame(1000, 50)
    split = split_valid_invalid(frame)
    assert len(split.valid) == 950
    assert len(split.invalid) == 50
    bad_ts = dict(zip(split.invalid["ts"], split.invalid["reason"]))
    for row, kind in kinds.items():
        ts = frame.at[row, "ts"]
        matching = split.invalid[(split.invalid["ts"] == ts)]
        assert any(EXPECTED_REASON[kind] in r for r in matching["reason"]), (kind, bad_ts.get(ts))


def test_every_row_lands_in_exactly_one_side():
    frame, _ = corrupt_csv_frame(300, 20, seed=3)
    split = split_valid_invalid(frame)
    assert len(split.valid) + len(split.invalid) == len(frame)
    assert not split.valid.duplicated(["symbol", "timeframe", "ts"]).any()
    assert split.valid["ts"].is_monotonic_increasing


def test_duplicate_of_a_corrupt_row_keeps_the_valid_twin():
    frame = synthetic_bars(3)
    frame.loc[1, "ts"] = frame.loc[0, "ts"]
    frame.loc[0, "volume"] = -1.0
    split = split_valid_invalid(frame)
    assert len(split.valid) == 2
    assert split.invalid["reason"].tolist() == ["volume: greater_than_or_equal_to(0)"]


def test_unsorted_input_is_sorted_not_rejected():
    frame = synthetic_bars(20).sample(frac=1.0, random_state=0)
    split = split_valid_invalid(frame)
    assert len(split.valid) == 20
    assert split.valid["ts"].is_monotonic_increasing


def test_missing_column_is_a_source_error():
    with pytest.raises(ValueError, match="volume"):
        split_valid_invalid(synthetic_bars(5).drop(columns=["volume"]))


def test_bad_timestamp_and_low_above_body_reasons():
    frame = synthetic_bars(4).astype({"ts": object})
    frame.loc[1, "ts"] = "not-a-date"
    frame.loc[2, "low"] = frame.loc[2, ["open", "close"]].max() * 1.01
    split = split_valid_invalid(frame)
    reasons = split.invalid["reason"].tolist()
    assert any("ts: not a timestamp" in r for r in reasons)
    assert any("low <= min(open, close)" in r for r in reasons)
    assert len(split.valid) == 2


def test_bars_frame_schema_rejects_unsorted_index():
    bars = synthetic_bars(10).set_index("ts")[["open", "high", "low", "close", "volume"]]
    BarsFrameSchema.validate(bars)
    with pytest.raises(pa.errors.SchemaError):
        BarsFrameSchema.validate(bars.iloc[::-1])


def test_nan_price_fails_bars_frame_schema():
    bars = synthetic_bars(10).set_index("ts")[["open", "high", "low", "close", "volume"]]
    bars.iloc[3, 0] = np.nan
    with pytest.raises(pa.errors.SchemaError):
        BarsFrameSchema.validate(bars)
    assert pd.isna(bars.iloc[3, 0])


@pytest.mark.parametrize("column", ["open", "high", "low", "close", "volume"])
@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity", "-Infinity", "INF", "nan", "NaN", "NAN", "-nan",
                                  "1e999"])
def test_non_finite_text_is_quarantined_naming_the_column(column, text):
    frame = synthetic_bars(5).astype(object)
    frame.loc[2, column] = text
    split = split_valid_invalid(frame)
    assert len(split.valid) == 4
    assert split.invalid["reason"].tolist() == [f"{column}: not finite ({text!r})"]
    assert np.isfinite(split.valid[["open", "high", "low", "close", "volume"]].to_numpy()).all()


@pytest.mark.parametrize("column", ["open", "high", "low", "close", "volume"])
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_non_finite_float_is_quarantined_naming_the_column(column, value):
    frame = synthetic_bars(5)
    frame.loc[3, column] = value
    split = split_valid_invalid(frame)
    assert len(split.valid) == 4
    assert split.invalid["reason"].tolist() == [f"{column}: not finite ({value})"]


def test_nan_float_is_quarantined_as_missing():
    frame = synthetic_bars(5)
    frame.loc[1, "high"] = np.nan
    split = split_valid_invalid(frame)
    [reason] = split.invalid["reason"].tolist()
    assert len(split.valid) == 4 and "high: not_nullable" in reason.split("; ")


def test_raw_bar_schema_itself_rejects_infinity():
    frame = synthetic_bars(5)
    frame.loc[0, ["high", "close"]] = np.inf
    with pytest.raises(pa.errors.SchemaErrors, match="finite"):
        RawBarSchema.validate(frame, lazy=True)


@pytest.mark.parametrize("column", ["symbol", "timeframe"])
def test_control_characters_in_labels_are_quarantined(column):
    frame = synthetic_bars(3).astype({column: object})
    frame.loc[0, column] = "A\x00B"
    split = split_valid_invalid(frame)
    assert len(split.valid) == 2 and (split.invalid["reason"] == f"{column}: no control characters").all()


def test_a_column_of_booleans_is_not_a_timestamp():
    frame = synthetic_bars(2).assign(ts=[True, False])
    split = split_valid_invalid(frame)
    assert split.valid.empty and split.invalid["reason"].str.contains("ts: not a timestamp").all()


def test_timestamps_the_store_cannot_tell_apart_are_duplicates():
    frame = synthetic_bars(3).astype({"ts": "datetime64[ns]"})
    frame.loc[1, "ts"] = frame.loc[0, "ts"] + pd.Timedelta(nanoseconds=1)
    split = split_valid_invalid(frame)
    assert len(split.valid) == 2 and split.invalid["reason"].tolist() == ["unique timestamp per symbol"]
    assert split.valid["ts"].iloc[0] == frame.loc[0, "ts"]
