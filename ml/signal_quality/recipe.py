"""What a signal-quality training run is made of, as plain values: the model settings (scorer, strategies,
barriers), the validation protocol (purged, embargoed walk-forward), the pooled training sets and the
settings key that tells an unforced pipeline whether the champion is up to date.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from ml.signal_quality import BarrierConfig, SignalFeatureConfig
from ml.signal_quality.bundle import DEFAULT_PARAM_GRIDS, ParamGrids, SignalSet, make_scorer
from ml.signal_quality.platform import PLATFORM_SUFFIX
from ml.signal_quality.validation import PurgedWalkForwardCV, pool_signal_sets
from ml.strategies import STRATEGIES


@dataclass(frozen=True)
class ModelSettings:
    """What is trained: scorer, its parameters, the primary strategies and the label/feature settings.

    Serialised as JSON on the MLflow run (tag ``model_settings``) so the champion can be re-trained
    under a new protocol or on new data when it has to be compared with a candidate.
    """

    model: str = "xgboost"
    strategies: tuple[str, ...] = tuple(STRATEGIES)
    param_grids: ParamGrids = field(default_factory=lambda: DEFAULT_PARAM_GRIDS)
    pt_mult: float = 1.5
    sl_mult: float = 1.5
    max_holding: int = 10
    vol_span: int = 50
    use_shared_features: bool = True
    scorer_params: dict[str, Any] = field(default_factory=dict)
    cross_asset: bool = False  # the cross-asset context (SignalFeatureConfig.cross_asset); see RESULTS.md

    def feature_config(self) -> SignalFeatureConfig:
        barrier = BarrierConfig(pt_mult=self.pt_mult, sl_mult=self.sl_mult, max_holding=self.max_holding,
                                vol_span=self.vol_span)
        return SignalFeatureConfig(barrier=barrier, use_shared_features=self.use_shared_features,
                                   cross_asset=self.cross_asset)

    def grid(self, strategy: str) -> list[dict]:
        return list(self.param_grids.get(strategy) or [{}])

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "strategies": list(self.strategies)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelSettings:
        data = json.loads(text)  # settings recorded before ``cross_asset`` existed trained without it
        return cls(**{"cross_asset": False, **data, "strategies": tuple(data["strategies"])})


@dataclass(frozen=True)
class Protocol:
    """How the out-of-sample score is measured (purged, embargoed walk-forward CV)."""

    n_splits: int = 5
    min_train_fraction: float = 0.4
    embargo_pct: float = 0.01

    def cv(self) -> PurgedWalkForwardCV:
        return PurgedWalkForwardCV(n_splits=self.n_splits, min_train_fraction=self.min_train_fraction,
                                   embargo_pct=self.embargo_pct)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class PooledSets:
    """Every (symbol, strategy) set pooled in time order, plus the history kept in the bundle."""

    X: pd.DataFrame
    labels: pd.DataFrame
    weights: pd.Series | None
    history: pd.DataFrame
    counts: dict[str, int]

    @property
    def n_platform(self) -> int:
        """Rows that are resolved platform signals (sets named ``...@platform``, :mod:`ml.signal_quality.platform`)."""
        return sum(n for name, n in self.counts.items() if name.endswith(PLATFORM_SUFFIX))


def pool_sets(sets: dict[str, SignalSet], platform: dict[str, SignalSet] | None = None) -> PooledSets:
    """Pool the prepared ``"<symbol>|<strategy>"`` sets, and the resolved platform signals' sets (``platform``,
    from :func:`ml.signal_quality.platform.platform_signal_sets`, aligned to the same columns), into one
    time-ordered training set (purged CV then purges every row by its ``(t0, t1)``)."""
    sets = {**sets, **(platform or {})}
    X, labels, weights = pool_signal_sets({name: (s.X, s.labels, s.weights) for name, s in sets.items()})
    histories = [s.history for s in sets.values() if len(s.history)] or [next(iter(sets.values())).history]
    history = pd.concat(histories, ignore_index=True)
    return PooledSets(X, labels, weights, history, {name: len(s.X) for name, s in sets.items()})


def model_settings(model: str, strategies: list[str] | None, param_grids: ParamGrids | None, pt_mult: float,
                   sl_mult: float, max_holding: int, vol_span: int, use_shared_features: bool, n_estimators: int,
                   max_depth: int, min_keep: float, calibration: str,
                   cross_asset: bool = ModelSettings.cross_asset) -> ModelSettings:
    """The settings of a training run from the flow's parameters (unknown strategies or scorer: ValueError)."""
    strategies = tuple(strategies or STRATEGIES)
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {sorted(STRATEGIES)}")
    grids = {s: list((param_grids or DEFAULT_PARAM_GRIDS).get(s) or [{}]) for s in strategies}
    make_scorer(model)  # validates the name early
    return ModelSettings(model, strategies, grids, pt_mult, sl_mult, max_holding, vol_span, use_shared_features,
                         {"n_estimators": n_estimators, "max_depth": max_depth, "min_keep": min_keep,
                          "calibration": calibration, "n_jobs": 2}, cross_asset)


def settings_key(settings: ModelSettings, protocol: Protocol) -> str:
    """Identity of the training settings (tag ``settings``; with the data digest it decides
    whether an unforced pipeline has anything to retrain)."""
    return json.dumps({"model": json.loads(settings.to_json()), "protocol": json.loads(protocol.to_json())},
                      sort_keys=True)
