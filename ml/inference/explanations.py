"""Per-prediction explanations: the top additive contributions to a model's output.

Used by :mod:`ml.inference` when a caller asks for explanations. Each explanation is a JSON-ready
dict ``{"method", "units", "contributions", "note"}`` whose ``contributions`` are
``{"feature", "value", "contribution"}`` sorted by decreasing |contribution|, at most ``TOP_K``.

* Signal scorers and XGBoost volatility models: TreeSHAP (XGBoost ``pred_contribs``,
  ``method="xgboost_pred_contribs"``); for volatility, of the trees' residual over the log-HAR base.
* HAR volatility models: their exact linear terms (``method="har_linear_terms"``, see
  :mod:`ml.inference.linear_explanations`). The intercept is the contribution named ``"intercept"``
  (value None), the log model's bias-correction constants are ``"smearing"`` and ``"scale"``; these
  are always shown when non-zero, so the note's total (ln forecast variance, or variance before the
  floor for a level HAR) = the shown contributions + the omitted ones (their count and sum in the note).
* Ensembles (log-linear in the members' ln variance): ``method="ensemble_log_linear_terms"``, each
  member's terms times its weight, named ``"<member>:<term>"`` (an XGBoost member's TreeSHAP plus
  ``"<member>:base"``, the rest of its ln variance); a member without additive terms (GARCH, EWMA, a
  level HAR) is one term ``"<member>"`` (value: its ln variance); plus the ensemble's ``"intercept"``
  and ``"scale"`` (``2 ln scale_``). They sum to the forecast's ln variance exactly.
* Anything else (GARCH, EWMA): ``method=None``, no contributions and a ``note`` saying why.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ml.inference import linear_explanations as linear

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


class Terms(NamedTuple):
    """Additive terms of forecasts at some bar positions (one row per position, one column per term)."""

    values: pd.DataFrame
    contributions: pd.DataFrame
    method: str
    units: str
    note: Callable[[float], str | None]  # of the row's total
    pinned: tuple[str, ...] = ()  # constant terms shown whenever non-zero


def _xgb_terms(member: Any, bars: pd.DataFrame, features: pd.DataFrame, rows: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """TreeSHAP ``(values, contributions)`` of an XGBoost volatility model's trees (over its base margin)."""
    import xgboost as xgb

    x = features.iloc[rows][list(member.feature_names_in_)]
    dm = xgb.DMatrix(x, base_margin=member._margin(bars).iloc[rows].to_numpy())
    contribs = member.booster_.get_booster().predict(dm, pred_contribs=True)[:, :-1]
    return x.reset_index(drop=True).astype(float), pd.DataFrame(contribs, columns=x.columns)


def _ensemble_terms(ens: Any, bars: pd.DataFrame, features: pd.DataFrame, rows: list[int]) -> Terms:
    from ml.volatility import HarModel, XgbModel

    values, contribs, whole = [], [], []
    for name, member, weight in zip(ens.members, ens.members_, ens.weights_):
        if isinstance(member, HarModel) and member.log:
            v, c = linear.har_terms(member, bars, rows)
        else:
            log_var = 2.0 * np.log(member.predict(bars).iloc[rows].to_numpy(float))
            if isinstance(member, XgbModel):
                v, c = _xgb_terms(member, bars, features, rows)
                v["base"], c["base"] = np.nan, log_var - c.sum(axis=1).to_numpy()
            else:
                whole.append(name)
                values.append(pd.DataFrame({name: log_var}))
                contribs.append(pd.DataFrame({name: float(weight) * log_var}))
                continue
        values.append(v.add_prefix(f"{name}:"))
        contribs.append(c.add_prefix(f"{name}:") * float(weight))
    n = len(rows)
    values.append(pd.DataFrame({"intercept": np.full(n, np.nan), "scale": np.full(n, float(ens.scale_))}))
    contribs.append(pd.DataFrame({"intercept": np.full(n, float(ens.intercept_)),
                                  "scale": np.full(n, 2.0 * np.log(float(ens.scale_)))}))
    extra = (f"; {', '.join(whole)} enter whole (weight x the member's ln variance, which has no additive "
             f"terms)" if whole else "")

    def note(total: float) -> str:
        return (f"exact terms of the log-linear ensemble: intercept + contributions (with scale when shown) = "
                f"ln forecast variance = {total:.6g}; '<member>:<term>' is the ensemble weight x the member's "
                f"term (log-HAR: linear terms; XGBoost: TreeSHAP, '<member>:base' its log-HAR margin, tree "
                f"bias and scale){extra}")

    return Terms(pd.concat(values, axis=1), pd.concat(contribs, axis=1), "ensemble_log_linear_terms",
                 "ln variance of the forecast", note, ("intercept", "scale"))


def volatility_terms(estimator: Any, bars: pd.DataFrame, features: pd.DataFrame,
                     positions: Sequence[int]) -> Terms | None:
    """Every additive term of ``estimator``'s forecast at ``positions``, or None when it has none."""
    from ml.volatility import EnsembleModel, HarModel, XgbModel

    rows = list(positions)
    if isinstance(estimator, HarModel) and hasattr(estimator, "coef_"):
        v, c = linear.har_terms(estimator, bars, rows)
        return Terms(v, c, linear.METHOD, linear.har_units(estimator),
                     lambda total: linear.har_note(estimator, total), linear.CONSTANTS)
    if isinstance(estimator, XgbModel) and hasattr(estimator, "booster_"):
        v, c = _xgb_terms(estimator, bars, features, rows)
        return Terms(v, c, "xgboost_pred_contribs",
                     "ln variance of the forecast (XGBoost member's residual over its log-HAR base)", lambda _: None)
    if isinstance(estimator, EnsembleModel) and hasattr(estimator, "members_"):
        return _ensemble_terms(estimator, bars, features, rows)
    return None


def _explanation(terms: Terms, i: int) -> dict[str, Any]:
    """The explanation of row ``i`` of ``terms``: pinned constants + the largest other terms, up to TOP_K."""
    names = list(terms.contributions.columns)
    c = terms.contributions.iloc[i].to_numpy(float)
    v = terms.values.iloc[i].to_numpy(float)
    constant = [n in terms.pinned for n in names]
    pinned = [j for j in range(len(names)) if constant[j] and c[j] != 0]
    others = [j for j in np.argsort(-np.abs(c), kind="stable") if not constant[j]]
    shown = pinned + others[: max(TOP_K - len(pinned), 0)]
    omitted = others[max(TOP_K - len(pinned), 0):]
    note = terms.note(float(np.sum(c)))
    if omitted and note is not None:
        note += f"; {len(omitted)} smaller terms not shown (sum {float(np.sum(c[omitted])):.6g})"
    shown.sort(key=lambda j: -abs(c[j]))
    return {"method": terms.method, "units": terms.units, "note": note,
            "contributions": [{"feature": names[j], "value": finite_or_none(v[j]),
                               "contribution": float(c[j])} for j in shown]}


def volatility_explanations(estimator: Any, bars: pd.DataFrame, features: pd.DataFrame,
                            positions: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Top additive contributions to the forecast at each bar position (see the module docstring).

    Args:
        estimator: A fitted volatility model (HAR, XGBoost, an ensemble of them, or another).
        bars: The bars the forecasts were made from.
        features: :func:`ml.features.compute_features` of ``bars``.
        positions: Bar positions to explain.

    Returns:
        Position -> explanation.
    """
    terms = volatility_terms(estimator, bars, features, positions)
    if terms is None:
        note = (f"{type(estimator).__name__} has no XGBoost member and no linear terms; contributions are "
                f"only available for HAR, XGBoost and ensemble volatility models")
        return {p: _unavailable(note) for p in positions}
    return {p: _explanation(terms, i) for i, p in enumerate(positions)}
