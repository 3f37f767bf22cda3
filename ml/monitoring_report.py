"""The pure parts of one monitoring pass around :mod:`ml.monitoring`'s decision: which inputs are compared for
drift, the drift measurement itself, the metrics and the markdown report of the pass, and a JSON-safe copy of
what is stored.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ml.drift import DriftReport, DriftThresholds, drift_report
from ml.features import VOL_ESTIMATORS
from ml.monitoring import MonitoringDecision

#: Inputs of the volatility models whose memory is short next to the live window: the log return and the
#: 1- and 5-bar realised-volatility estimators (the HAR/GARCH inputs). Long-window features (22/66-bar
#: vol, momentum, MACD, RSI) are so autocorrelated that a 250-bar live window holds only a few independent
#: draws of them: on a *stable* simulated GARCH series their PSI exceeded 1 in over 10% of windows
#: (rv_cc_22: 90% quantile 1.65), so they would fire the trigger on noise.
VOLATILITY_DRIFT_FEATURES = ["log_ret", *(f"rv_{est}_{w}" for w in (1, 5) for est in VOL_ESTIMATORS)]
#: Inputs of the signal scorer compared by default: its volatility context at the signal bar (``vol_pct``,
#: the rank of the EWM volatility in the last 252 bars; ``vol_ratio``, 10- over 50-span EWM volatility;
#: the shared ``f_log_ret`` and ``f_rv_cc_1``) and its volume profile (``volume_z``, ``volume_rel``).
#: All are scale-free or short-memory, so one reference pooled over symbols is comparable with any live
#: window, and none is side-adjusted or a strategy one-hot, so a live strategy mix unlike the pooled
#: training mix does not read as drift. Measured on the bundled SP500/NASDAQ/GOOG signals (250-signal
#: windows vs the pooled reference, default thresholds): a synthetic doubling of SP500's volatility
#: drifted 3 of 6 in the first 250 signals after it (vol_pct, f_log_ret, f_rv_cc_1); windows of one
#: strategy only crossed the 50% share in 10% of cases; windows in time order in 32% (they include the
#: 2000-02, 2008 and 2020 volatility regimes). Left out: level features (``vol``, ``f_rv_*_5/22/66``,
#: ``f_atr_14``, MACD) and the win-rate history block (``hist_*``), which drifted in 40-100% of those
#: windows, and the side/strategy-dependent factors. A set of only the scale-free inputs (vol_ratio,
#: volume_z, volume_rel, f_volume_z_22) fired in < 1% of windows but missed the volatility doubling.
SIGNAL_DRIFT_FEATURES = ["vol_pct", "vol_ratio", "f_log_ret", "f_rv_cc_1", "volume_z", "volume_rel"]
VOLATILITY_VALIDATION = ("qlike", "mae", "rmse", "dir", "coverage")
SCORER_VALIDATION = ("auc", "brier", "precision", "recall", "ece", "base")


def clean(obj: Any) -> Any:
    """JSON-safe copy (NaN/inf -> None, numpy scalars -> Python)."""
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)),
                      parse_constant=lambda _: None)


def stored_features(features: pd.Series, index: pd.Index) -> pd.DataFrame:
    """The ``features`` JSON stored with each live row, as a numeric frame on ``index`` (missing -> NaN)."""
    return pd.DataFrame([f or {} for f in features], index=index).apply(pd.to_numeric, errors="coerce")


def measure_drift(reference: pd.DataFrame, live: pd.DataFrame, features: list[str],
                  thresholds: DriftThresholds) -> DriftReport:
    """Drift of ``features`` present in both frames (an empty report when none is)."""
    common = [c for c in features if c in reference.columns and c in live.columns]
    return drift_report(reference, live, common, thresholds) if common else DriftReport()


def validation_subset(validation: dict[str, float], prefixes: tuple[str, ...]) -> dict[str, float]:
    """The validation metrics a pass is compared with (names starting with one of ``prefixes`` + ``_``)."""
    return {k: v for k, v in validation.items() if k.split("_")[0] in prefixes}


def with_note(decision: MonitoringDecision, note: str | None) -> MonitoringDecision:
    """``decision`` with ``note`` appended to its reasons (unchanged without a note)."""
    if note is None:
        return decision
    return MonitoringDecision(decision.status, decision.retrain, [*decision.reasons, note], list(decision.checks))


def pass_metrics(live: dict, drift: DriftReport, decision: MonitoringDecision,
                 drift_available: bool = True) -> dict[str, float]:
    """The MLflow metrics of one pass: finite live metrics (``live_*``), the drifted share, whether a retrain
    is needed and each check's live/validation ratio (``ratio_*``)."""
    metrics = {f"live_{k}": float(v) for k, v in live.items() if v is not None and np.isfinite(v)}
    if drift_available:
        metrics["drift_share"] = float(drift.share_drifted)
    metrics["retrain_needed"] = float(decision.retrain)
    for check in decision.checks:
        if check.live is not None and check.validation:
            metrics[f"ratio_{check.name}"] = float(check.live / check.validation)
    return metrics


def pass_markdown(name: str, version: str, live: dict, decision: MonitoringDecision, drift: DriftReport,
                  trigger: str, drift_note: str | None = None) -> str:
    """The markdown report of one pass: decision, reasons, live metrics, checks and the most drifted features."""
    rows = "\n".join(f"| {c.name} | {c.live:.4g} | {c.validation:.4g} | {c.limit:.4g} | {'ok' if c.passed else 'FAIL'} |"
                     for c in decision.checks if c.live is not None and c.validation is not None)
    metrics = ", ".join(f"{k}={v:.4g}" for k, v in live.items() if isinstance(v, float) and np.isfinite(v))
    top = drift.to_frame().sort_values("psi", ascending=False).head(10) if drift.features else pd.DataFrame()
    return (f"# Monitoring of {name} v{version}\n\n**Decision: {decision.status}** — {trigger}\n\n"
            + "\n".join(f"- {r}" for r in decision.reasons)
            + f"\n\nLive metrics: {metrics}\n\n| check | live | validation | limit | |\n|---|---|---|---|---|\n{rows}\n\n"
            + (f"## Feature drift: not available\n\n{drift_note}" if drift_note else
               f"## Feature drift: {drift.share_drifted:.0%} of {len(drift.features)} features\n\n"
               + (top.round(4).to_markdown() if not top.empty else "no drift sample")))
