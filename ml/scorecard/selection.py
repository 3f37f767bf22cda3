"""Every choice of the scorecard, made on the data before each lockbox only (purged CV inside it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml.scorecard.config import COVERAGE_BAND, MIN_KEPT, ScorecardConfig
from ml.signal_quality.bundle import DEFAULT_PARAM_GRIDS, make_scorer, prepare_signal_set, training_closes
from ml.signal_quality.summary import oos_metrics
from ml.signal_quality.validation import pool_signal_sets, walk_forward_predict
from ml.volatility.evaluation import WalkForwardConfig, evaluate_models
from ml.volatility.intervals import DEFAULT_INTERVAL
from ml.volatility.registry import make_model
from ml.volatility.summary import GARCH, HAR_VARIANTS, choose_model, summary_table, with_ratios
from ml.volatility.targets import log_returns


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
        return {"vol_model": self.vol_model, "vol_interval": list(DEFAULT_INTERVAL), "vol_fitted": vol, "signal_candidate": self.signal_candidate,
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


def signal_sets(bars: dict[str, pd.DataFrame], config: ScorecardConfig) -> dict:
    """The signal sets of every (symbol, strategy) of ``bars``; the cross-asset context from the same ``bars``."""
    sets, features = {}, config.feature_config()
    closes = training_closes(bars) if features.cross_asset else None
    for symbol, b in bars.items():
        for strategy in config.strategies:
            s = prepare_signal_set(b, symbol, strategy, DEFAULT_PARAM_GRIDS[strategy], features, closes)
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

    sets = signal_sets(selection, config)
    cand, keep, cv_table = select_signal(sets, config)
    X, labels, w = pool_signal_sets(sets)
    ok = labels["label"].notna().to_numpy()
    name, params = config.signal_candidates[cand]
    scorer = make_scorer(name, **params, min_keep=keep).fit(X[ok], labels["label"][ok], w[ok],
                                                           labels["exit_time"][ok].to_numpy())
    target_vol = {s: float(np.sqrt((log_returns(b) ** 2).mean())) for s, b in selection.items()}
    return Selection(vol_model, vol_table, vol_fitted, cand, keep, cv_table, scorer, list(X.columns), target_vol,
                     {s: box.lockbox_start(b) for s, b in bars.items()})
