"""The frozen selection scored once on the lockboxes, and the scorecard table against the targets."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.scorecard.config import (
    AUC,
    COVERAGE_BAND,
    MEAN_SCORE,
    MIN_CELLS,
    MIN_KEPT,
    MIN_SERIES,
    RATIO_BEST_HAR,
    RATIO_GARCH,
    WIN_RATIO,
    ScorecardConfig,
)
from ml.scorecard.metrics import signal_metrics, sizing_scores, volatility_scores
from ml.scorecard.selection import Selection, signal_sets
from ml.scorecard.sizing_walkforward import SizingWalkForward
from ml.volatility.targets import realised_vol_target, trailing_realised_vol


@dataclass
class LockboxScores:
    """Lockbox results: per-series signal and volatility metrics, pooled signal metrics, sizing cells."""

    signal: dict[str, dict[str, float]]
    volatility: dict[str, dict[str, float]]
    volatility_reference: dict[str, dict[str, dict[str, float]]]
    sizing: dict[str, dict[str, dict[str, float]]]
    forecasts: dict[str, pd.DataFrame]
    signals: pd.DataFrame
    #: The same sizing cells over an expanding walk-forward of every bar after five years (2008 included).
    sizing_walk_forward: dict[str, dict[str, dict[str, float]]]
    #: Its inputs per series: columns ``forecast`` (out-of-sample, NaN before trading starts) and ``target``.
    sizing_walk_forward_inputs: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: The second declared policy, de-risk only (:meth:`SizingWalkForward.de_risk_only`), on the same inputs.
    sizing_de_risk_only: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)


def score_lockbox(bars: dict[str, pd.DataFrame], selection: Selection,
                  config: ScorecardConfig = ScorecardConfig()) -> LockboxScores:
    """Score the frozen choices of ``selection`` on the lockbox of every series (once; chooses nothing)."""
    volatility, sizing, forecasts, sizing_wf, wf_inputs, de_risk = {}, {}, {}, {}, {}, {}
    walk_forward = SizingWalkForward(horizon=config.vol_horizon, max_leverage=config.max_leverage)
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
        if walk_forward.tradable(b):
            wf_inputs[symbol] = walk_forward.inputs(b)
            sizing_wf[symbol] = walk_forward.evaluate(b, wf_inputs[symbol])
            de_risk[symbol] = walk_forward.de_risk_only().evaluate(b, wf_inputs[symbol])
    sets = signal_sets(bars, config)
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
    return LockboxScores(signal, volatility, reference, sizing, forecasts, signals, sizing_wf, wf_inputs, de_risk)


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
    for name, policy in (("sizing walk-forward", scores.sizing_walk_forward),
                         ("sizing de-risk-only (cap 1) walk-forward", scores.sizing_de_risk_only)):
        wf = [(s, k, c) for s, per in policy.items() for k, c in per.items()]
        for s, k, c in wf:
            add(f"{name} {c['start'][:4]}-{c['end'][:4]} max DD vt/fixed {s} {k} "
                f"(Sharpe {c['sharpe_vt']:.2f} vs {c['sharpe_fix']:.2f}, exposure {c['exposure_vt']:.2f})",
                "<= 0.80, Sharpe not lower", round(c["mdd_ratio"], 3), c["met"])
        if wf:
            n_wf = sum(c["met"] for _, _, c in wf)
            add(f"{name}: cells meeting the target", ">= 4 of 6", f"{n_wf} of {len(wf)}", n_wf >= MIN_CELLS)
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
