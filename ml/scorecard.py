"""The lockbox scorecard: the seed's success metrics, measured once on data no choice ever looked at.

Protocol (issue 19). Every series is cut by :class:`ml.lockbox.Lockbox` into a selection part, an embargo and a
lockbox (the last 20% of its bars). :func:`select_settings` sees only the selection parts:

* **volatility**: a walk-forward of the candidate models inside each selection part
  (:func:`ml.volatility.evaluation.evaluate_models`); the model to promote is the lowest mean QLIKE among
  those whose intervals pass the coverage band (:func:`ml.volatility.summary.choose_model`); it, GARCH-t and
  the plain HAR baselines are then fitted on each selection part (parameters and conformal residuals frozen),
  and so are the reference models (the pipeline's ``DEFAULT_MODEL``, declared in code beforehand), which are
  scored beside the promoted one but never chosen by the scorecard;
* **signal scorer**: every candidate (scorer x ``min_keep``, the fraction its automatic threshold keeps) is
  cross-validated by combinatorial purged CV (:class:`~ml.signal_quality.validation.CombinatorialPurgedCV`) on
  the signals of every selection part pooled; among the candidates that keep at least 30% of the signals in
  every split, the best mean win-rate lift over take-all is chosen (mean AUC breaks ties;
  :func:`rank_signal_candidates`), then fitted on all pooled selection signals: its threshold is chosen on its
  own calibration rows, inside the selection parts;
* **sizing**: the policy is declared before looking: target the selection part's per-bar volatility, leverage at
  most 2, on an always-long and an SMA(200) trend strategy.

:func:`score_lockbox` then scores the frozen choices once on the lockboxes. Forecasts and features inside a
lockbox read earlier bars only (as a deployed model would); labels and outcomes are those of the lockbox.

The metric functions (:func:`signal_metrics`, :func:`volatility_scores`, :func:`sizing_scores`) are pure
functions of arrays/frames and reuse :mod:`ml.metrics`, :mod:`ml.classification_metrics` and
:mod:`ml.signal_quality.summary`. :func:`scorecard_table` turns the results into (metric, target, measured,
met) rows.

Why the mean score is not a quality target: a *calibrated* scorer's score is P(success | features), so the mean
score of any set of signals equals (up to sampling error and calibration error) the success rate of that set;
the mean score of all signals equals the base rate of the labels (about 0.50 with symmetric barriers). A mean
score above 0.70 is therefore only reachable by a scorer that is over-confident or by signals that already win
70% of the time; the scorecard reports the mean score beside the base rate and the mean score of the *taken*
signals beside their success rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ml.lockbox import Lockbox
from ml.metrics import diebold_mariano, qlike_loss
from ml.monitoring import volatility_accuracy
from ml.risk import compare_sizing, sma_trend_signal
from ml.signal_quality import SignalFeatureConfig
from ml.signal_quality.bundle import DEFAULT_PARAM_GRIDS, make_scorer, prepare_signal_set
from ml.signal_quality.labels import BarrierConfig
from ml.signal_quality.summary import oos_metrics
from ml.signal_quality.validation import CombinatorialPurgedCV, pool_signal_sets, walk_forward_predict
from ml.volatility.evaluation import WalkForwardConfig, evaluate_models
from ml.volatility.registry import DEFAULT_MODEL, make_model
from ml.volatility.summary import GARCH, HAR_VARIANTS, choose_model, summary_table, with_ratios
from ml.volatility.targets import log_returns, realised_vol_target, trailing_realised_vol

#: The seed's targets (issue 19).
WIN_RATIO = 1.15
MIN_SERIES = 2
AUC = 0.56
MEAN_SCORE = 0.70
RATIO_GARCH = 0.90
RATIO_BEST_HAR = 0.97
MIN_CELLS = 4
MIN_KEPT = 0.30
COVERAGE_BAND = (0.87, 0.93)
MDD_RATIO = 0.80


@dataclass(frozen=True)
class ScorecardConfig:
    """Everything the scorecard chooses from, declared before any data is read.

    Attributes:
        lockbox_fraction: Share of each series locked away (the embargo is the longest label horizon).
        vol_horizon: Volatility forecast horizon in bars.
        vol_candidates: Volatility models the selection chooses from.
        vol_refit_every: Refit spacing of the selection walk-forward.
        vol_test_fraction: Share of each selection part forecast by the selection walk-forward.
        coverage: Nominal interval coverage.
        strategies: Primary strategies whose signals are scored (parameter sets of ``DEFAULT_PARAM_GRIDS``).
        barrier: Triple-barrier parameters of the signal labels.
        signal_candidates: Candidate scorers: ``name -> (scorer name, parameters)``.
        min_keeps: Fractions of the calibration rows the automatic threshold keeps (a grid for selection).
        cpcv: Splitter of the signal selection.
        max_leverage: Cap of the vol-targeted sizing.
        vol_reference: Volatility models scored beside the promoted one (not chosen: declared beforehand).
    """

    lockbox_fraction: float = 0.2
    vol_horizon: int = 5
    vol_candidates: tuple[str, ...] = ("ewma", GARCH, *HAR_VARIANTS, "lhar_gk_qlike", "lhar_gk_ext", "lhar_rs_ext")
    vol_refit_every: int = 63
    vol_test_fraction: float = 0.4
    coverage: float = 0.9
    strategies: tuple[str, ...] = tuple(DEFAULT_PARAM_GRIDS)
    barrier: BarrierConfig = field(default_factory=lambda: BarrierConfig(pt_mult=1.5, sl_mult=1.5, max_holding=10,
                                                                         vol_span=50))
    signal_candidates: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=lambda: {
        "xgboost": ("xgboost", {"n_jobs": 2}),
        "logistic": ("logistic", {}),
    })
    min_keeps: tuple[float, ...] = (0.3, 0.4, 0.5)
    cpcv: CombinatorialPurgedCV = field(default_factory=lambda: CombinatorialPurgedCV(6, 2, embargo_pct=0.01))
    max_leverage: float = 2.0
    vol_reference: tuple[str, ...] = (DEFAULT_MODEL,)

    @property
    def lockbox(self) -> Lockbox:
        """The lockbox, embargoed by the longest label (vertical barrier + entry bar, or the vol horizon)."""
        return Lockbox(self.lockbox_fraction, max(self.vol_horizon, self.barrier.max_holding + 1))

    def feature_config(self) -> SignalFeatureConfig:
        return SignalFeatureConfig(barrier=self.barrier)


# --------------------------------------------------------------------------- metrics (pure, from arrays)


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


def sizing_scores(close: pd.Series, forecast: pd.Series, target_vol: float, max_leverage: float = 2.0,
                  periods_per_year: float = 252.0) -> dict[str, dict[str, float]]:
    """Fixed vs vol-targeted sizing (:func:`ml.risk.compare_sizing`) of an always-long and an SMA(200) trend
    strategy on the bars that have a forecast.

    Returns:
        ``strategy -> {sharpe_fix, sharpe_vt, mdd_fix, mdd_vt, mdd_ratio, met}``; ``met`` = drawdown at most
        ``0.80x`` fixed and Sharpe not lower.
    """
    out = {}
    for name, signal in (("long_only", None), ("sma200_trend", sma_trend_signal(close, 200))):
        table = compare_sizing(close, forecast, target_vol=target_vol, signal=signal, max_leverage=max_leverage,
                               periods_per_year=periods_per_year).table
        row = {"sharpe_fix": float(table.loc["fixed", "sharpe"]), "sharpe_vt": float(table.loc["vol_target", "sharpe"]),
               "mdd_fix": float(table.loc["fixed", "max_drawdown"]),
               "mdd_vt": float(table.loc["vol_target", "max_drawdown"]),
               "exposure_vt": float(table.loc["vol_target", "mean_exposure"])}
        row["mdd_ratio"] = row["mdd_vt"] / row["mdd_fix"] if row["mdd_fix"] > 0 else float("nan")
        row["met"] = bool(row["mdd_ratio"] <= MDD_RATIO and row["sharpe_vt"] >= row["sharpe_fix"])
        out[name] = row
    return out


# --------------------------------------------------------------------------- selection (selection parts only)


@dataclass
class Selection:
    """What :func:`select_settings` chose from the selection parts, and the models fitted on them."""

    vol_model: str
    vol_table: pd.DataFrame
    vol_fitted: dict[str, dict[str, Any]]
    signal_candidate: str
    signal_min_keep: float
    signal_cv: pd.DataFrame
    scorer: Any
    feature_columns: list[str]
    target_vol: dict[str, float]
    lockbox_start: dict[str, pd.Timestamp]

    def settings(self) -> dict[str, Any]:
        """Every selected setting as plain values (model choices, hyperparameters, fitted parameters,
        threshold, sizing targets): equal for two runs exactly when nothing chosen differs."""
        vol = {symbol: {name: _fitted_params(m) for name, m in models.items()}
               for symbol, models in self.vol_fitted.items()}
        return {"vol_model": self.vol_model, "vol_fitted": vol, "signal_candidate": self.signal_candidate,
                "signal_min_keep": self.signal_min_keep, "signal_params": _plain(self.scorer.get_params()),
                "signal_threshold": float(self.scorer.threshold_),
                "signal_calibrator": _plain(vars(self.scorer.calibrator_)),
                "signal_cv": self.signal_cv.round(12).to_dict(), "vol_table": self.vol_table.round(12).to_dict(),
                "target_vol": dict(self.target_vol)}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return round(float(value), 12)
    return value if isinstance(value, (int, str, bool, type(None), np.integer)) else repr(value)


def _fitted_params(model: Any) -> dict[str, Any]:
    keys = ("coef_", "params_", "smearing_", "scale_", "conformal_residuals_")
    return {k: _plain(getattr(model, k)) for k in keys if hasattr(model, k)}


def _signal_sets(bars: dict[str, pd.DataFrame], config: ScorecardConfig) -> dict:
    sets = {}
    for symbol, b in bars.items():
        for strategy in config.strategies:
            s = prepare_signal_set(b, symbol, strategy, DEFAULT_PARAM_GRIDS[strategy], config.feature_config())
            sets[f"{symbol}|{strategy}"] = (s.X, s.labels, s.weights)
    return sets


def _cv_row(oos: pd.DataFrame) -> dict[str, float]:
    frame = pd.DataFrame([oos_metrics(g) for _, g in oos.groupby("fold")])
    ok = frame["kept_frac"] >= MIN_KEPT
    return {"win_ratio": float(frame["win_ratio"].mean()), "auc": float(frame["auc"].mean()),
            "kept_frac": float(frame["kept_frac"].mean()), "splits_kept_ok": float(ok.mean())}


def rank_signal_candidates(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (one row per candidate: mean ``win_ratio``, ``auc``, ``splits_kept_ok`` over the CV splits)
    best first: the candidates that keep at least ``MIN_KEPT`` in every split, by mean win-rate lift then AUC;
    after them the others, by the share of splits that keep enough, then lift."""
    eligible = table["splits_kept_ok"] >= 1.0
    first = table[eligible].sort_values(["win_ratio", "auc"], ascending=False)
    rest = table[~eligible].sort_values(["splits_kept_ok", "win_ratio", "auc"], ascending=False)
    return pd.concat([first, rest])


def select_signal(sets: dict, config: ScorecardConfig) -> tuple[str, float, pd.DataFrame]:
    """Candidate and ``min_keep`` chosen by combinatorial purged CV on the pooled selection signals
    (:func:`rank_signal_candidates`: the best lift among candidates keeping enough signals in every split)."""
    X, labels, w = pool_signal_sets(sets)
    rows = {}
    for cand, (scorer, params) in config.signal_candidates.items():
        for keep in config.min_keeps:
            oos, _ = walk_forward_predict(lambda s=scorer, p=params, k=keep: make_scorer(s, **p, min_keep=k),
                                          X, labels, config.cpcv, w)
            rows[(cand, keep)] = _cv_row(oos)
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis(["candidate", "min_keep"])
    cand, keep = rank_signal_candidates(table).index[0]
    return str(cand), float(keep), table


def select_settings(bars: dict[str, pd.DataFrame], config: ScorecardConfig = ScorecardConfig()) -> Selection:
    """Choose every setting from the selection parts of ``bars`` (``symbol -> bars frame``) only.

    The lockbox of each series is cut off first; nothing after a selection part's last bar is passed on.
    """
    box = config.lockbox
    selection, _ = box.split_series(bars)
    wf = WalkForwardConfig(horizon=config.vol_horizon, refit_every=config.vol_refit_every,
                           test_fraction=config.vol_test_fraction, coverage=config.coverage)
    candidates = list(config.vol_candidates)
    per_symbol = {s: evaluate_models(b, {m: make_model(m, config.vol_horizon) for m in candidates}, wf)
                  for s, b in selection.items()}
    vol_table = with_ratios(summary_table(per_symbol), candidates).drop(columns="seconds")
    vol_model = choose_model(vol_table, COVERAGE_BAND)
    scored = dict.fromkeys([vol_model, GARCH, *HAR_VARIANTS, *config.vol_reference])
    vol_fitted = {s: {m: make_model(m, config.vol_horizon).fit(b) for m in scored} for s, b in selection.items()}

    sets = _signal_sets(selection, config)
    cand, keep, cv_table = select_signal(sets, config)
    X, labels, w = pool_signal_sets(sets)
    ok = labels["label"].notna().to_numpy()
    name, params = config.signal_candidates[cand]
    scorer = make_scorer(name, **params, min_keep=keep).fit(X[ok], labels["label"][ok], w[ok],
                                                           labels["exit_time"][ok].to_numpy())
    target_vol = {s: float(np.sqrt((log_returns(b) ** 2).mean())) for s, b in selection.items()}
    return Selection(vol_model, vol_table, vol_fitted, cand, keep, cv_table, scorer, list(X.columns), target_vol,
                     {s: box.lockbox_start(b) for s, b in bars.items()})


# --------------------------------------------------------------------------- the lockbox, scored once


@dataclass
class LockboxScores:
    """Lockbox results: per-series signal and volatility metrics, pooled signal metrics, sizing cells."""

    signal: dict[str, dict[str, float]]
    volatility: dict[str, dict[str, float]]
    volatility_reference: dict[str, dict[str, dict[str, float]]]
    sizing: dict[str, dict[str, dict[str, float]]]
    forecasts: dict[str, pd.DataFrame]
    signals: pd.DataFrame


def score_lockbox(bars: dict[str, pd.DataFrame], selection: Selection,
                  config: ScorecardConfig = ScorecardConfig()) -> LockboxScores:
    """Score the frozen choices of ``selection`` on the lockbox of every series (once; chooses nothing)."""
    volatility, sizing, forecasts = {}, {}, {}
    reference: dict[str, dict[str, dict[str, float]]] = {m: {} for m in config.vol_reference}
    for symbol, b in bars.items():
        start = selection.lockbox_start[symbol]
        lock = b.index >= start
        frames = {m: model.predict_frame(b, config.coverage).loc[lock]
                  for m, model in selection.vol_fitted[symbol].items()}
        realised = realised_vol_target(b, config.vol_horizon)
        current = trailing_realised_vol(b, config.vol_horizon)
        volatility[symbol] = volatility_scores(frames, realised, current, selection.vol_model, config.vol_horizon)
        for ref in config.vol_reference:
            reference[ref][symbol] = volatility_scores(frames, realised, current, ref, config.vol_horizon)
        chosen = frames[selection.vol_model]
        forecasts[symbol] = chosen.assign(realised=realised.loc[lock], current=current.loc[lock])
        sizing[symbol] = sizing_scores(b["close"], chosen["forecast"], selection.target_vol[symbol],
                                       config.max_leverage)
    sets = _signal_sets(bars, config)
    parts = []
    for name, (X, labels, _) in sets.items():
        symbol = name.split("|")[0]
        keep = (X.index >= selection.lockbox_start[symbol]) & labels["label"].notna().to_numpy()
        if not keep.any():
            continue
        Xl, lab = X[keep], labels[keep]
        score = selection.scorer.score_array(Xl[selection.feature_columns])
        parts.append(pd.DataFrame({"score": score, "threshold": selection.scorer.threshold_,
                                   "label": lab["label"].to_numpy(), "ret": lab["ret"].to_numpy(),
                                   "group": name}, index=Xl.index))
    signals = pd.concat(parts).sort_index(kind="stable")
    dataset = signals["group"].str.split("|").str[0]
    signal = {d: signal_metrics(g) for d, g in signals.groupby(dataset, sort=False)}
    signal["ALL"] = signal_metrics(signals)
    return LockboxScores(signal, volatility, reference, sizing, forecasts, signals)


def scorecard_table(scores: LockboxScores, selection: Selection) -> pd.DataFrame:
    """Rows ``(metric, target, measured, met)``: the seed's four success metrics per series, then the extras."""
    rows = []

    def add(metric: str, target: str, measured: float | str, met: bool | None) -> None:
        rows.append({"metric": metric, "target": target, "measured": measured, "met": met})

    series = [s for s in scores.signal if s != "ALL"]
    hits = 0
    for s in series:
        m = scores.signal[s]
        ok = bool(m["win_ratio"] >= WIN_RATIO and m["kept_frac"] >= MIN_KEPT)
        hits += ok
        add(f"signal win-rate ratio {s} (kept {m['kept_frac']:.0%})", ">= 1.15x at >= 30% kept",
            round(m["win_ratio"], 3), ok)
    add("signal: series reaching 1.15x", ">= 2 of 3", f"{hits} of {len(series)}", hits >= MIN_SERIES)
    pooled = scores.signal["ALL"]
    add("signal pooled AUC", ">= 0.56", round(pooled["auc"], 4), pooled["auc"] >= AUC)
    add("signal mean score of taken (beside their success rate)", "> 0.70",
        f"{pooled['mean_score_kept']:.3f} (success {pooled['success_kept']:.3f})", pooled["mean_score_kept"] > MEAN_SCORE)
    add("signal mean score of all (beside the base rate)", "= base rate if calibrated",
        f"{pooled['mean_score']:.3f} (base {pooled['base_rate']:.3f})", None)
    def vol_rows(prefix: str, s: str, v: dict, har_note: str) -> None:
        add(f"{prefix}QLIKE / GARCH-t {s} (DM p {v.get('dm_p_garch', np.nan):.3g})", "<= 0.90",
            round(v["ratio_garch"], 4), v["ratio_garch"] <= RATIO_GARCH)
        add(f"{prefix}QLIKE / best HAR {s} ({har_note}DM p {v.get('dm_p_best_har', np.nan):.3g})", "<= 0.97",
            round(v["ratio_best_har"], 4), v["ratio_best_har"] <= RATIO_BEST_HAR)
        add(f"{prefix}90% coverage {s}", "0.87-0.93", round(v["coverage"], 4),
            COVERAGE_BAND[0] <= v["coverage"] <= COVERAGE_BAND[1])

    for s, v in scores.volatility.items():
        vol_rows("vol ", s, v, f"{v['best_har']}, ")
    for ref, per in scores.volatility_reference.items():
        for s, v in per.items():
            vol_rows(f"vol reference {ref} ", s, v, "")
    cells = [(s, k, c) for s, per in scores.sizing.items() for k, c in per.items()]
    for s, k, c in cells:
        add(f"sizing max DD vt/fixed {s} {k} (Sharpe {c['sharpe_vt']:.2f} vs {c['sharpe_fix']:.2f})",
            "<= 0.80, Sharpe not lower", round(c["mdd_ratio"], 3), c["met"])
    n_met = sum(c["met"] for _, _, c in cells)
    add("sizing: cells meeting the target", ">= 4 of 6", f"{n_met} of {len(cells)}", n_met >= MIN_CELLS)
    extras = {"precision (taken)": "precision", "recall (taken)": "recall", "ECE": "ece",
              "corr(score, label)": "corr_score_label", "Spearman(score, ret)": "corr_score_ret",
              "mean ret per trade taken - all (bp)": "ret_lift_bp", "ROI taken (sum ret)": "roi_kept",
              "ROI take-all (sum ret)": "roi_all", "score p10/p50/p90": None}
    for label, key in extras.items():
        value = (f"{pooled['score_p10']:.3f}/{pooled['score_p50']:.3f}/{pooled['score_p90']:.3f}" if key is None
                 else round(pooled[key], 4))
        add(f"signal {label} (pooled)", "-", value, None)
    for s, v in scores.volatility.items():
        add(f"vol MAE/RMSE ratio to GARCH-t {s}", "-", f"{v['mae_ratio_garch']:.3f}/{v['rmse_ratio_garch']:.3f}",
            None)
        add(f"vol directional accuracy {s}", "-", round(v["dir_acc"], 4), None)
    add("selected: volatility model / signal candidate, min_keep",
        "chosen on selection parts", f"{selection.vol_model} / {selection.signal_candidate}, "
        f"{selection.signal_min_keep}", None)
    return pd.DataFrame(rows)
