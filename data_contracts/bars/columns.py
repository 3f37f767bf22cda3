"""The columns of a raw bar and the control characters a symbol or timeframe may not contain."""

from __future__ import annotations

import re

KEY = ["symbol", "timeframe", "ts"]
PRICES = ["open", "high", "low", "close"]
NUMERIC = [*PRICES, "volume"]
RAW_COLUMNS = [*KEY, *NUMERIC]
CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # not in a symbol/timeframe (PostgreSQL text refuses NUL)
