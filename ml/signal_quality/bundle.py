"""The registered signal-quality model and the training-set assembly it shares with serving.

One scorer is trained on the signals of every (symbol, strategy) set pooled (the strategy is a
feature; see ``benchmarks/RESULTS.md``: pooling is what lifts the out-of-sample AUC above chance).
:class:`ScorerBundle` keeps everything needed to score a new signal exactly as in training:

* the fitted scorer (:class:`~ml.signal_quality.scorer.SignalQualityScorer` or a baseline),
* the :class:`~ml.signal_quality.features.SignalFeatureConfig` (with its barrier parameters),
* the feature column order the scorer was fitted on,
* the strategy parameter sets whose signals were pooled (so live signals can be generated the
  same way with :meth:`ScorerBundle.signals`),
* the resolved outcomes of the training signals (``history``), per symbol and strategy, for the
  leak-free "historical win rate of similar signals" factor.

New signals are scored with it by the inference API (the BentoML service calls it)::

    bundle = registry.load_alias(registry.SIGNAL_QUALITY_MODEL).model
    signals = pd.DataFrame({"symbol": ["GOOG"], "strategy": ["rsi_mean_reversion"], "side": [1],
                            "strength": [0.4]})
    ml.inference.score(bundle, {"GOOG": bars}, signals)  # [SignalScore(score, confidence, ..., features)]

``bars`` are the stored bars up to (at least) the signal bar, ``ml.inference.history_bars(bundle)``
of them before it. The win-rate factor uses the bundle's training outcomes of that symbol unless
newer resolved outcomes are passed.

Pure: pandas/numpy/sklearn only (no MLflow, Prefect or BentoML).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ml.signal_quality.features import SignalFeatureConfig, build_signal_features, caller_columns
from ml.signal_quality.labels import average_uniqueness, triple_barrier_labels
from ml.signal_quality.scorer import LogisticSignalScorer, SignalQualityScorer, TakeAllBaseline
from ml.strategies import make_strategy

HISTORY_COLUMNS = ["symbol", "strategy", "side", "exit_time", "label", "ret"]

ParamGrids = dict[str, list[dict[str, int | float]]]
"""Strategy name -> parameter sets whose signals are pooled (training, serving and the benchmark)."""
DEFAULT_PARAM_GRIDS: ParamGrids = {
    "rsi_mean_reversion": [
        {"period": 2, "lower": 10.0, "upper": 90.0}, {"period": 3, "lower": 15.0, "upper": 85.0},
        {"period": 5, "lower": 25.0, "upper": 75.0}, {"period": 7, "lower": 30.0, "upper": 70.0},
        {"period": 14, "lower": 35.0, "upper": 65.0},
    ],
    "sma_crossover": [
        {"fast": 3, "slow": 10}, {"fast": 5, "slow": 20}, {"fast": 10, "slow": 30},
        {"fast": 20, "slow": 50}, {"fast": 50, "slow": 200},
    ],
    "donchian_breakout": [
        {"window": 5, "exit_window": 3}, {"window": 10, "exit_window": 5},
        {"window": 20, "exit_window": 10}, {"window": 55, "exit_window": 20},
    ],
}

SCORERS: dict[str, type] = {
    "xgboost": SignalQualityScorer,
    "logistic": LogisticSignalScorer,
    "take_all": TakeAllBaseline,
}


def make_scorer(name: str, **params: Any):
    """An unfitted scorer by name (``xgboost``, ``logistic``, ``take_all``); ``params`` it does not
    accept are ignored, so one settings dict can describe every candidate."""
    try:
        cls = SCORERS[name]
    except KeyError:
        raise ValueError(f"unknown scorer {name!r}; choose from {sorted(SCORERS)}") from None
    accepted = cls().get_params()
    return cls(**{k: v for k, v in params.items() if k in accepted})


def pooled_signals(bars: pd.DataFrame, strategy: str, param_sets: list[dict]) -> pd.DataFrame:
    """Signals of ``strategy`` under every parameter set, one per bar.

    Bars where the parameter sets disagree on the side are dropped; where they agree, the first
    set's signal (its strength) is kept.

    Args:
        bars: Bars frame (``ts`` index, OHLCV).
        strategy: Name in :data:`ml.strategies.STRATEGIES`.
        param_sets: Parameter dicts of that strategy (an empty list = its defaults).

    Returns:
        Frame indexed by ``ts`` with ``side`` and ``strength``, time-ordered.
    """
    frames = [make_strategy(strategy, **p).signals(bars) for p in (param_sets or [{}])]
    sig = pd.concat(frames).sort_index(kind="stable")
    conflict = sig.groupby(level=0)["side"].nunique() > 1
    sig = sig[~sig.index.isin(conflict[conflict].index)]
    return sig[~sig.index.duplicated(keep="first")]


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
                       config: SignalFeatureConfig) -> SignalSet:
    """Signals, triple-barrier labels, uniqueness weights and features of one (symbol, strategy).

    Signals before the slow trend window is warm (``config.trend_slow`` bars) are dropped from the
    training rows; their outcomes still count in the historical win-rate factor of later signals.
    """
    signals = pooled_signals(bars, strategy, param_sets)
    labels = triple_barrier_labels(bars, signals, config.barrier).assign(strategy=strategy)
    X = build_signal_features(bars, signals, labels, strategy, config)
    weights = average_uniqueness(labels, bars.index)
    warm = X.index >= bars.index[min(config.trend_slow, len(bars) - 1)]
    return SignalSet(X[warm], labels[warm], weights[warm], resolved_history(labels, symbol))


def resolved_history(labels: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """The resolved rows of a label table in the bundle's ``HISTORY_COLUMNS`` layout."""
    done = labels[labels["label"].notna() & labels["exit_time"].notna()]
    out = done.assign(symbol=symbol)
    if "strategy" not in out:
        out = out.assign(strategy="")
    return out[HISTORY_COLUMNS]


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

    def signals(self, bars: pd.DataFrame, strategy: str) -> pd.DataFrame:
        """Signals of ``strategy`` generated as in training (pooled over its parameter sets)."""
        return pooled_signals(bars, strategy, self.strategy_params.get(strategy, []))

    def features(self, bars: pd.DataFrame, signals: pd.DataFrame, strategy: str, symbol: str | None = None,
                 history: pd.DataFrame | None = None, keep_caller: bool = False,
                 context: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> pd.DataFrame:
        """Feature rows of ``signals`` (in ``feature_columns`` order) with the training feature code (any
        ``strategy``: one not in :data:`ml.strategies.STRATEGIES` has no strategy indicator set). A
        strategy-supplied column the scorer uses but a signal lacks is NaN; with ``keep_caller`` the given ones
        it does not use follow the feature columns (they are stored with the score, for later training).
        ``context``: :func:`~ml.signal_quality.features.bar_context` of the bars, when the caller has it."""
        hist = self.history_for(symbol) if history is None else history
        X = build_signal_features(bars, signals, hist, strategy, self.feature_config, context=context)
        for col in caller_columns(self.feature_columns):
            if col not in X:
                X[col] = np.nan
        if keep_caller:
            return X[self.feature_columns + [c for c in caller_columns(X.columns) if c not in self.feature_columns]]
        return self._in_order(X)
