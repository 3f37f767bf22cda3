"""The columns of a stored bar: its key, its values and everything a write stores."""

from __future__ import annotations

BAR_KEY = ["symbol", "timeframe", "ts"]
BAR_VALUES = ["open", "high", "low", "close", "volume"]
STORED_COLUMNS = [*BAR_KEY, *BAR_VALUES, "source"]
