"""Batch volatility forecasts with the registered :class:`~ml.bundles.SymbolModels`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ml.bundles import SymbolModels
from ml.features import compute_features
from ml.inference.explanations import volatility_explanations
from ml.inference.inputs import BadInputError, bars_of, column, feature_dicts, groups, positions

DEFAULT_COVERAGE = 0.9


@dataclass(frozen=True)
class Forecast:
    """One volatility forecast (per-bar units) over ``horizon_bars``, with its interval and features."""

    symbol: str
    as_of: datetime
    horizon_bars: int
    coverage: float
    predicted: float
    lower: float
    upper: float
    features: dict[str, float | None]
    explanation: dict[str, Any] | None = None


def symbol_models(model: Any) -> SymbolModels:
    """``model`` if it is the registered volatility shape, else a ``TypeError`` saying what it is."""
    if not isinstance(model, SymbolModels):
        raise TypeError(f"the volatility model is a {type(model).__name__}, expected the SymbolModels "
                        f"flows.volatility registers")
    return model


def predict(model: Any, bars: Mapping[str, pd.DataFrame], requests: pd.DataFrame, *,
            explain: bool = False) -> list[Forecast]:
    """Volatility forecasts for a batch of (symbol, origin), one feature pass per symbol.

    Args:
        model: The registered :class:`~ml.bundles.SymbolModels`.
        bars: Symbol -> bars (``ts`` index, OHLCV) up to at least its last origin.
        requests: One row per forecast: ``symbol``, optional ``as_of`` (a bar timestamp; missing/None
            = the symbol's last bar) and ``coverage`` of the interval (in (0, 1), default 0.9).
        explain: Add each forecast's top contributions (HAR linear terms, XGBoost TreeSHAP, an
            ensemble's weighted member terms; see :mod:`ml.inference.explanations`) to each result.

    Returns:
        One :class:`Forecast` per row of ``requests``, in order.
    """
    models = symbol_models(model)
    rows = requests.reset_index(drop=True)
    symbols = column(rows, "symbol").astype(str)
    coverage = pd.to_numeric(column(rows, "coverage", DEFAULT_COVERAGE), errors="coerce").to_numpy(float)
    if not ((coverage > 0) & (coverage < 1)).all():
        raise BadInputError("coverage", "coverage must be strictly between 0 and 1")
    stamps = column(rows, "as_of", pd.NaT)
    out: list[Forecast | None] = [None] * len(rows)
    for (symbol,), idx in groups(symbols).items():
        frame = bars_of(bars, symbol)
        pos = positions(frame, stamps.iloc[idx], "as_of", symbol)
        for i, forecast in zip(idx, _forecasts(models.for_symbol(symbol), symbol, frame, pos, coverage[idx], explain)):
            out[i] = forecast
    return out  # type: ignore[return-value]


def _forecasts(estimator: Any, symbol: str, frame: pd.DataFrame, pos: np.ndarray, coverage: np.ndarray,
               explain: bool) -> list[Forecast]:
    """Forecasts of one symbol at bar positions ``pos`` (one feature pass, one model pass per coverage)."""
    window = frame.iloc[: pos.max() + 1]
    feats = compute_features(window)
    unique = sorted(set(pos.tolist()))
    expl = volatility_explanations(estimator, window, feats, unique) if explain else {}
    features = dict(zip(unique, feature_dicts(feats, unique)))
    bands = {cov: estimator.predict_frame(window, coverage=cov)[["forecast", "lower", "upper"]].to_numpy(float)
             for cov in sorted(set(coverage.tolist()))}
    out = []
    for p, cov in zip(pos.tolist(), coverage.tolist()):
        fc, lo, hi = bands[cov][p]
        if not np.isfinite(fc):
            raise BadInputError("as_of", f"not enough history before {window.index[p]} to forecast "
                                         f"{symbol!r} ({p + 1} bars available)")
        out.append(Forecast(symbol, window.index[p].to_pydatetime(), int(estimator.horizon), cov, float(fc),
                            float(lo), float(hi), features[p], expl.get(p)))
    return out
