"""The training signals of one (symbol, strategy): labels, weights, features and the resolved history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ml.signal_quality.bundle.pooling import pooled_signals
from ml.signal_quality.features import SignalFeatureConfig, build_signal_features
from ml.signal_quality.labels import average_uniqueness, triple_barrier_labels

HISTORY_COLUMNS = ["symbol", "strategy", "side", "exit_time", "label", "ret"]


@dataclass(frozen=True)
class SignalSet:
    """Labelled training signals of one (symbol, strategy) after the feature warm-up.

    Attributes:
        X: Feature rows indexed by signal time.
        labels: Triple-barrier outcomes aligned with ``X`` (with a ``strategy`` column).
        weights: Average-uniqueness sample weights aligned with ``X`` (NaN when unresolved).
        history: Every resolved outcome of the set (warm-up included) in ``HISTORY_COLUMNS``.
    """

    X: pd.DataFrame
    labels: pd.DataFrame
    weights: pd.Series
    history: pd.DataFrame


def prepare_signal_set(bars: pd.DataFrame, symbol: str, strategy: str, param_sets: list[dict],
                       config: SignalFeatureConfig, closes: Mapping[str, pd.Series] | None = None) -> SignalSet:
    """Signals, triple-barrier labels, uniqueness weights and features of one (symbol, strategy).

    ``closes`` (symbol -> close of every series of the training data, :func:`training_closes`) feed the
    cross-asset columns when ``config.cross_asset``.

    Signals before the slow trend window is warm (``config.trend_slow`` bars) are dropped from the
    training rows; their outcomes still count in the historical win-rate factor of later signals.
    """
    signals = pooled_signals(bars, strategy, param_sets)
    labels = triple_barrier_labels(bars, signals, config.barrier).assign(strategy=strategy)
    X = build_signal_features(bars, signals, labels, strategy, config, closes=closes, symbol=symbol)
    weights = average_uniqueness(labels, bars.index)
    warm = X.index >= bars.index[min(config.trend_slow, len(bars) - 1)]
    return SignalSet(X[warm], labels[warm], weights[warm], resolved_history(labels, symbol))


def training_closes(bars: Mapping[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """Symbol -> close of every series of the training data (the cross-asset context of each set)."""
    return {symbol: b["close"] for symbol, b in bars.items()}


def resolved_history(labels: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """The resolved rows of a label table in the bundle's ``HISTORY_COLUMNS`` layout."""
    done = labels[labels["label"].notna() & labels["exit_time"].notna()]
    out = done.assign(symbol=symbol)
    if "strategy" not in out:
        out = out.assign(strategy="")
    return out[HISTORY_COLUMNS]
