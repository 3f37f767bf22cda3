"""Per-prediction explanations: TreeSHAP contributions (XGBoost ``pred_contribs``) of the top features.

Used by :mod:`ml.inference` when a caller asks for explanations. A model without a tree booster
gets an explanation with ``method=None``, an empty ``contributions`` list and a ``note`` saying why.
Each explanation is a JSON-ready dict ``{"method", "units", "contributions", "note"}`` whose
``contributions`` are ``{"feature", "value", "contribution"}`` sorted by decreasing |contribution|.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

TOP_K = 8


def finite_or_none(value: Any) -> float | None:
    """``float(value)``, or None when it is NaN or infinite (JSON has neither)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _unavailable(note: str) -> dict[str, Any]:
    return {"method": None, "note": note, "contributions": []}


def signal_explanations(scorer: Any, X: pd.DataFrame) -> list[dict[str, Any] | None]:
    """Top TreeSHAP contributions (log-odds of the raw booster) of each row of ``X``, in row order."""
    if not hasattr(scorer, "feature_contributions"):
        return [_unavailable(f"{type(scorer).__name__} has no tree booster; no feature contributions")] * len(X)
    contrib = scorer.feature_contributions(X.reset_index(drop=True), top_k=TOP_K)
    out: list[dict[str, Any] | None] = [None] * len(X)
    for row, group in contrib.groupby("row", sort=True):
        out[int(row)] = {
            "method": "xgboost_pred_contribs",
            "units": "log-odds of the uncalibrated booster",
            "contributions": [{"feature": str(r.feature), "value": finite_or_none(r.value),
                               "contribution": float(r.contribution)} for r in group.itertuples()],
            "note": None,
        }
    return out


def _xgb_member(estimator: Any) -> tuple[Any, float] | None:
    """The XGBoost volatility model inside ``estimator`` and its weight on the output's ln variance."""
    from ml.volatility import EnsembleModel, XgbModel

    if isinstance(estimator, XgbModel):
        return estimator, 1.0
    if isinstance(estimator, EnsembleModel) and hasattr(estimator, "members_"):
        for member, weight in zip(estimator.members_, estimator.weights_):
            if isinstance(member, XgbModel):
                return member, float(weight)
    return None


def volatility_explanations(estimator: Any, bars: pd.DataFrame, features: pd.DataFrame,
                            positions: Sequence[int]) -> dict[int, dict[str, Any]]:
    """TreeSHAP contributions of the XGB member to the forecast's ln variance at each bar position.

    Args:
        estimator: A fitted volatility model (an XGBoost model, an ensemble with one, or another).
        bars: The bars the forecasts were made from.
        features: :func:`ml.features.compute_features` of ``bars``.
        positions: Bar positions to explain.

    Returns:
        Position -> explanation.
    """
    found = _xgb_member(estimator)
    if found is None:
        note = (f"{type(estimator).__name__} has no XGBoost member; feature contributions are only "
                f"available for XGBoost-based volatility models")
        return {p: _unavailable(note) for p in positions}
    import xgboost as xgb

    member, weight = found
    margin = member._margin(bars)
    rows = features.iloc[list(positions)][list(member.feature_names_in_)]
    dm = xgb.DMatrix(rows, base_margin=margin.iloc[list(positions)].to_numpy())
    contribs = member.booster_.get_booster().predict(dm, pred_contribs=True)[:, :-1] * weight
    names = list(rows.columns)
    units = ("ln variance of the forecast (XGBoost member's residual over its log-HAR base"
             + (f", times its ensemble weight {weight:.3g})" if weight != 1.0 else ")"))
    out = {}
    for i, p in enumerate(positions):
        order = np.argsort(-np.abs(contribs[i]))[:TOP_K]
        out[p] = {"method": "xgboost_pred_contribs", "units": units, "note": None,
                  "contributions": [{"feature": names[j], "value": finite_or_none(rows.iloc[i, j]),
                                     "contribution": float(contribs[i, j])} for j in order]}
    return out
