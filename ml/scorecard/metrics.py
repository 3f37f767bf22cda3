"""The scorecard's metrics, pure functions of out-of-sample arrays (signals, volatility, sizing)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ml.metrics import diebold_mariano, qlike_loss
from ml.monitoring import volatility_accuracy
from ml.risk import compare_sizing, sma_trend_signal
from ml.scorecard.config import MDD_RATIO
from ml.signal_quality.summary import oos_metrics
from ml.volatility.summary import GARCH, HAR_VARIANTS


def signal_metrics(oos: pd.DataFrame) -> dict[str, float]:
    """Scorecard metrics of scored signals.

    Args:
        oos: One row per signal with ``label`` (0/1), ``score``, ``threshold`` and side-adjusted ``ret``, indexed
            by signal time (the layout of :func:`ml.signal_quality.validation.walk_forward_predict`).

    Returns:
        :func:`ml.signal_quality.summary.oos_metrics` (AUC, precision/recall of taken signals, win rates all vs
        kept and their ratio, mean returns...) plus ``mean_score`` (all), ``mean_score_kept`` and
        ``success_kept`` (label mean of the taken signals), score quantiles ``score_p10/p50/p90``, the
        correlations of score with outcome (``corr_score_label``: point-biserial; ``corr_score_ret``: Spearman)
        and ROI vs take-all: ``roi_all``/``roi_kept`` (sum of per-trade returns, fixed notional) and
        ``ret_lift_bp`` (mean return per taken trade minus per trade of all, basis points).
    """
    out = oos_metrics(oos)
    s, y, r = (oos[c].to_numpy(dtype=float) for c in ("score", "label", "ret"))
    kept = s >= oos["threshold"].to_numpy(dtype=float)
    p10, p50, p90 = np.quantile(s, [0.1, 0.5, 0.9]) if s.size else (np.nan,) * 3
    two = s.size > 2 and np.std(s) > 0
    out.update(
        mean_score=float(s.mean()) if s.size else float("nan"),
        mean_score_kept=float(s[kept].mean()) if kept.any() else float("nan"),
        success_kept=float(y[kept].mean()) if kept.any() else float("nan"),
        score_p10=float(p10), score_p50=float(p50), score_p90=float(p90),
        corr_score_label=float(np.corrcoef(s, y)[0, 1]) if two and np.std(y) > 0 else float("nan"),
        corr_score_ret=float(stats.spearmanr(s, r).statistic) if two else float("nan"),
        roi_all=float(np.nansum(r)), roi_kept=float(np.nansum(r[kept])),
        ret_lift_bp=1e4 * (out["ret_kept"] - out["ret_all"]),
    )
    return out


def volatility_scores(forecasts: dict[str, pd.DataFrame], realised: pd.Series, current: pd.Series, model: str,
                      horizon: int, har_variants: tuple[str, ...] = HAR_VARIANTS) -> dict[str, float]:
    """Lockbox metrics of ``model`` and its ratios to GARCH-t and to the best plain HAR, with DM p-values.

    Args:
        forecasts: ``name -> frame`` with ``forecast``, ``lower``, ``upper`` on the scored bars (``model``,
            ``GARCH`` and the HAR variants among them).
        realised: Realised volatility target on the same bars (NaN = unresolved).
        current: Trailing realised volatility (directional accuracy).
        model: The promoted model.
        horizon: Forecast horizon (the DM test's HAC lags).

    Returns:
        ``qlike, mae, rmse, dir_acc, coverage, width`` of ``model`` (:func:`ml.monitoring.volatility_accuracy`),
        the same ratios for the baselines (``ratio_garch``, ``mae_ratio_garch``, ``rmse_ratio_garch``,
        ``ratio_best_har`` ...), the best HAR's name, and the two-sided Diebold-Mariano p-values on QLIKE losses
        (``dm_p_garch``, ``dm_p_best_har``; a negative ``dm_stat_*`` means ``model`` has the lower loss).
    """
    acc = {name: volatility_accuracy(realised.reindex(fc.index), fc["forecast"], current.reindex(fc.index),
                                     fc["lower"], fc["upper"]) for name, fc in forecasts.items()}
    hars = [h for h in har_variants if h in acc]
    best_har = min(hars, key=lambda h: acc[h]["qlike"]) if hars else None
    out: dict[str, Any] = {k: acc[model].get(k, float("nan")) for k in ("n", "qlike", "mae", "rmse", "dir_acc",
                                                                       "coverage", "width")}
    out["best_har"] = best_har
    for tag, base in (("garch", GARCH), ("best_har", best_har)):
        if base is None or base not in acc:
            continue
        out[f"ratio_{tag}"] = acc[model]["qlike"] / acc[base]["qlike"]
        out[f"mae_ratio_{tag}"] = acc[model]["mae"] / acc[base]["mae"]
        out[f"rmse_ratio_{tag}"] = acc[model]["rmse"] / acc[base]["rmse"]
        loss = {n: qlike_loss(realised.reindex(forecasts[n].index), forecasts[n]["forecast"]) for n in (model, base)}
        dm = diebold_mariano(loss[model], loss[base], horizon)
        out[f"dm_stat_{tag}"], out[f"dm_p_{tag}"] = dm.statistic, dm.pvalue
    return out


def sizing_scores(close: pd.Series, forecast: pd.Series, target_vol: float | pd.Series, max_leverage: float = 2.0,
                  periods_per_year: float = 252.0) -> dict[str, dict[str, float]]:
    """Fixed vs vol-targeted sizing (:func:`ml.risk.compare_sizing`) of an always-long and an SMA(200) trend
    strategy on the bars that have a forecast (``target_vol``: a number, or a causal per-bar series).

    Returns:
        ``strategy -> {sharpe_fix, sharpe_vt, mdd_fix, mdd_vt, mdd_ratio, met}``; ``met`` = drawdown at most
        ``0.80x`` fixed and Sharpe not lower.
    """
    out = {}
    for name, signal in (("long_only", None), ("sma200_trend", sma_trend_signal(close, 200))):
        out[name] = sizing_row(compare_sizing(close, forecast, target_vol=target_vol, signal=signal,
                                              max_leverage=max_leverage, periods_per_year=periods_per_year).table)
    return out


def sizing_row(table: pd.DataFrame) -> dict[str, float]:
    """One sizing cell from a :func:`ml.risk.compare_sizing` table: Sharpe, max drawdown and exposure of both
    sizings, ``mdd_ratio`` (vol-targeted / fixed) and ``met`` (ratio at most 0.80 and Sharpe not lower)."""
    row = {"sharpe_fix": float(table.loc["fixed", "sharpe"]), "sharpe_vt": float(table.loc["vol_target", "sharpe"]),
           "mdd_fix": float(table.loc["fixed", "max_drawdown"]),
           "mdd_vt": float(table.loc["vol_target", "max_drawdown"]),
           "exposure_vt": float(table.loc["vol_target", "mean_exposure"])}
    row["mdd_ratio"] = row["mdd_vt"] / row["mdd_fix"] if row["mdd_fix"] > 0 else float("nan")
    row["met"] = bool(row["mdd_ratio"] <= MDD_RATIO and row["sharpe_vt"] >= row["sharpe_fix"])
    return row
