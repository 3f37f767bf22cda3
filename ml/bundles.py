"""One registered model per task, many series: fitted estimators keyed by symbol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ml.datasets import BAR_COLUMNS


@dataclass
class SymbolModels:
    """Fitted per-symbol estimators behind one interface.

    Attributes:
        models: symbol -> fitted estimator with ``predict_frame(bars) -> DataFrame``.
        default_symbol: whose estimator serves a symbol that has none of its own.
        metadata: free-form facts for the registry (model name, horizon, data ranges...).
    """

    models: dict[str, Any]
    default_symbol: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def for_symbol(self, symbol: str) -> Any:
        """The estimator for ``symbol`` (the default one when the symbol has none)."""
        return self.models.get(symbol, self.models[self.default_symbol])

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predict for a long frame with ``symbol``, ``ts`` and OHLCV columns, row-aligned with it.

        Each symbol's rows are handed to its estimator as a bars frame (sorted by ``ts``).
        """
        parts = []
        if frame.empty:
            return pd.DataFrame(columns=["forecast", "lower", "upper"], dtype="float64")
        for symbol, group in frame.groupby("symbol", sort=False):
            bars = group.set_index(pd.DatetimeIndex(group["ts"], name="ts"))[BAR_COLUMNS].astype("float64")
            out = self.for_symbol(str(symbol)).predict_frame(bars.sort_index())
            out = out.reindex(bars.index)
            out.index = group.index
            parts.append(out)
        return pd.concat(parts).loc[frame.index].reset_index(drop=True)
