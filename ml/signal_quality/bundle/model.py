"""The registered model (:class:`ScorerBundle`): a fitted scorer and all it needs to compute its inputs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ml.signal_quality.bundle.pooling import pooled_signals
from ml.signal_quality.bundle.sets import HISTORY_COLUMNS
from ml.signal_quality.features import SignalFeatureConfig, build_signal_features, caller_columns


@dataclass(frozen=True)
class SymbolView:
    """What serving needs for one symbol: the scorer, the feature config and that symbol's history."""

    scorer: Any
    feature_config: SignalFeatureConfig
    history: pd.DataFrame


@dataclass
class ScorerBundle:
    """A fitted signal-quality scorer plus everything needed to compute its inputs (see module doc).

    Attributes:
        scorer: Fitted scorer with ``score_signals``/``score_one`` and ``threshold_``.
        feature_config: Feature (and barrier) parameters used in training.
        feature_columns: Column order the scorer was fitted on.
        strategy_params: Strategy name -> parameter sets pooled in training.
        history: Resolved training outcomes (``HISTORY_COLUMNS``).
        metadata: Free-form facts for the registry (model name, timeframe, data ranges...).
    """

    scorer: Any
    feature_config: SignalFeatureConfig
    feature_columns: list[str]
    strategy_params: dict[str, list[dict]]
    history: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=HISTORY_COLUMNS))
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def barrier(self):
        """The triple-barrier parameters of the labels (also used to resolve live outcomes)."""
        return self.feature_config.barrier

    @property
    def threshold(self) -> float:
        """Score at or above which a signal is taken."""
        return float(self.scorer.threshold_)

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score precomputed feature rows (the MLflow pyfunc entry point).

        Args:
            frame: One row per signal with every column of ``feature_columns`` (``side`` among
                them); extra columns are ignored.

        Returns:
            Frame with ``score``, ``confidence``, ``prediction``, row-aligned with ``frame``
            (fresh ``RangeIndex``).
        """
        missing = [c for c in self.feature_columns if c not in frame.columns]
        if missing:
            raise ValueError(f"missing feature columns: {missing[:5]}{'...' if len(missing) > 5 else ''}")
        X = self._in_order(frame).astype("float64")
        return self.scorer.score_signals(X, X["side"].to_numpy()).reset_index(drop=True)

    def _in_order(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame[feature_columns]``, without the copy when the columns already are in that order."""
        return frame if list(frame.columns) == self.feature_columns else frame[self.feature_columns]

    def history_for(self, symbol: str | None) -> pd.DataFrame:
        """Resolved training outcomes of ``symbol`` (all symbols when None; empty when unknown)."""
        if symbol is None:
            return self.history
        return self.history[self.history["symbol"] == symbol]

    def for_symbol(self, symbol: str) -> SymbolView:
        """Scorer, feature config and the symbol's own history (the serving layer's view)."""
        return SymbolView(self.scorer, self.feature_config, self.history_for(symbol))

    def context_symbols(self, symbol: str | None = None) -> list[str]:
        """The series whose closes the features of ``symbol`` read (none unless ``feature_config.cross_asset``):
        the training symbols, then the reference symbols, without ``symbol`` itself."""
        config = self.feature_config
        if not getattr(config, "cross_asset", False):
            return []
        names = [*self.metadata.get("symbols", []), *config.reference_symbols]
        return [s for s in dict.fromkeys(names) if s != symbol]

    def signals(self, bars: pd.DataFrame, strategy: str) -> pd.DataFrame:
        """Signals of ``strategy`` generated as in training (pooled over its parameter sets)."""
        return pooled_signals(bars, strategy, self.strategy_params.get(strategy, []))

    def features(self, bars: pd.DataFrame, signals: pd.DataFrame, strategy: str, symbol: str | None = None,
                 history: pd.DataFrame | None = None, keep_caller: bool = False,
                 context: tuple[pd.DataFrame, pd.DataFrame] | None = None,
                 closes: Mapping[str, pd.Series] | None = None) -> pd.DataFrame:
        """Feature rows of ``signals`` (in ``feature_columns`` order) with the training feature code (any
        ``strategy``: one not in :data:`ml.strategies.STRATEGIES` has no strategy indicator set). A
        strategy-supplied column the scorer uses but a signal lacks is NaN; with ``keep_caller`` the given ones
        it does not use follow the feature columns (they are stored with the score, for later training).
        ``context``: :func:`~ml.signal_quality.features.bar_context` of the bars, when the caller has it;
        ``closes``: the other series' closes (:meth:`context_symbols`) for the cross-asset columns."""
        hist = self.history_for(symbol) if history is None else history
        X = build_signal_features(bars, signals, hist, strategy, self.feature_config, context=context, closes=closes,
                                  symbol=symbol)
        for col in caller_columns(self.feature_columns):
            if col not in X:
                X[col] = np.nan
        if keep_caller:
            return X[self.feature_columns + [c for c in caller_columns(X.columns) if c not in self.feature_columns]]
        return self._in_order(X)
