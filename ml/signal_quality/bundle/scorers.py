"""The scorers a bundle can hold, by name (:data:`SCORERS`), and an unfitted one from a settings dict."""

from __future__ import annotations

from typing import Any

from ml.signal_quality.scorer import LogisticSignalScorer, SignalQualityScorer, TakeAllBaseline

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
