"""Live accuracy of a champion from its resolved predictions (pure): the one computation training reports,
the monitoring flow judges and the API's accuracy endpoint shows."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ml.classification_metrics import classification_report
from ml.metrics import (
    directional_accuracy,
    interval_coverage,
    mean_interval_width,
    volatility_metrics,
)


def _num(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def resolved(realised: object, forecast: object) -> np.ndarray:
    """Mask of the forecasts that count: realised vol known (finite) and positive, forecast finite."""
    y, p = (np.asarray(v, dtype="float64") for v in (realised, forecast))
    with np.errstate(invalid="ignore"):
        return np.isfinite(y) & (y > 0) & np.isfinite(p)


def volatility_accuracy(realised: object, forecast: object, current: object = None, lower: object = None,
                        upper: object = None) -> dict[str, float]:
    """The one accuracy computation of volatility forecasts (training, monitoring and the API use it).

    Only :func:`resolved` forecasts count. Directional accuracy is scored on those with a finite
    ``current`` level, interval coverage and width on those with both bounds (NaN = no interval).

    Args:
        realised: Realised volatility over each forecast's horizon (NaN while unresolved).
        forecast: Forecast volatility.
        current: Optional realised volatility up to each origin (for ``dir_acc``).
        lower: Optional lower interval bounds.
        upper: Optional upper interval bounds.

    Returns:
        ``n, qlike, mse, rmse, mae`` (:func:`ml.metrics.volatility_metrics`) plus ``dir_acc`` and
        ``coverage``, ``width`` when some counted forecast has what they need; ``{"n": 0.0}`` when
        nothing counts.
    """
    keep = resolved(realised, forecast)
    if not keep.any():
        return {"n": 0.0}
    y, p = (np.asarray(v, dtype="float64") for v in (realised, forecast))
    out = volatility_metrics(y[keep], p[keep])
    if current is not None:
        cur = np.asarray(current, dtype="float64")
        ok = keep & np.isfinite(cur)
        if ok.any():
            out["dir_acc"] = directional_accuracy(y[ok], p[ok], cur[ok])
    if lower is not None and upper is not None:
        lo, hi = (np.asarray(v, dtype="float64") for v in (lower, upper))
        ok = keep & ~np.isnan(lo) & ~np.isnan(hi)
        if ok.any():
            out["coverage"] = interval_coverage(y[ok], lo[ok], hi[ok])
            out["width"] = mean_interval_width(lo[ok], hi[ok])
    return out


def volatility_live_metrics(frame: pd.DataFrame) -> dict[str, float]:
    """Accuracy of live volatility forecasts: :func:`volatility_accuracy` of a frame of them.

    Args:
        frame: Columns ``predicted``, ``actual`` (realised vol, NaN when unresolved) and optionally
            ``lower``, ``upper`` (interval) and ``trailing`` (realised vol up to the origin).

    Returns:
        ``n, qlike, mse, rmse, mae`` and, when the columns exist, ``dir_acc``, ``coverage``, ``width``;
        ``{"n": 0.0}`` when nothing is resolved.
    """
    return volatility_accuracy(frame["actual"], frame["predicted"], frame.get("trailing"), frame.get("lower"),
                               frame.get("upper"))


def scorer_live_metrics(frame: pd.DataFrame, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy of resolved signal scores and the win rate of taken vs rejected signals.

    Args:
        frame: Columns ``score`` (P(success)), ``outcome`` (1/0, NaN when unresolved), optionally
            ``taken`` (bool: the score passed the user's threshold) and ``realised_return``.
        threshold: Score threshold for precision/recall when ``taken`` is absent.

    Returns:
        ``n, auc, brier, precision, recall, ...`` (:func:`ml.classification_metrics.classification_report`)
        plus ``win_rate_taken``, ``win_rate_rejected`` and ``mean_return_taken``/``_rejected``.
    """
    ok = frame[frame["outcome"].notna()]
    if ok.empty:
        return {"n": 0.0}
    y, p = ok["outcome"].astype(float).to_numpy(), ok["score"].astype(float).to_numpy()
    out = classification_report(y, p, threshold)
    taken = ok["taken"].astype(bool).to_numpy() if "taken" in ok else p >= threshold
    for label, mask in (("taken", taken), ("rejected", ~taken)):
        out[f"n_{label}"] = float(mask.sum())
        out[f"win_rate_{label}"] = float(y[mask].mean()) if mask.any() else float("nan")
        if "realised_return" in ok:
            rets = ok["realised_return"].astype(float).to_numpy()[mask]
            out[f"mean_return_{label}"] = float(np.nanmean(rets)) if mask.any() else float("nan")
    return out


def validation_value(validation: Mapping[str, float], metric: str, symbols: list[str] | None = None) -> float | None:
    """The validation value of ``metric``: the mean of its per-symbol values for ``symbols`` when the
    run logged them (``<metric>_<symbol>``), else ``<metric>_mean``, else ``<metric>``."""
    if symbols:
        per = [_num(validation.get(f"{metric}_{s}")) for s in symbols]
        per = [v for v in per if v is not None]
        if per:
            return float(np.mean(per))
    for key in (f"{metric}_mean", metric):
        if _num(validation.get(key)) is not None:
            return _num(validation.get(key))
    return None
