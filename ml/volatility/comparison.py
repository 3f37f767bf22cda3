"""The retrain comparison, as pure functions: the deployed champion (frozen fitted parameters) against the
retrained recipe (walk-forward) on the most recent bars the champion never saw.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ml.metrics import volatility_metrics
from ml.volatility.evaluation import WalkForwardConfig, walk_forward_forecasts
from ml.volatility.registry import make_model
from ml.volatility.targets import realised_vol_target, trailing_realised_vol


def recent_window_start(bars: pd.DataFrame, trained_until: str | None, recent_window: int, min_window: int) -> int:
    """Start position of the comparison window: the bars after the champion's training data, at most
    ``recent_window`` of them (the last ``recent_window`` bars when fewer than ``min_window`` are new)."""
    start = max(len(bars) - recent_window, 0)
    if trained_until is not None:
        unseen = int((bars.index > pd.Timestamp(trained_until)).sum())
        if unseen >= min_window:
            start = max(start, len(bars) - unseen)
    return start


def compare_on_window(bars: pd.DataFrame, champion: Any, candidate_model: str, horizon: int, start: int,
                      refit_every: int, coverage: float = 0.9) -> tuple[dict[str, Any], pd.DataFrame]:
    """Volatility metrics of the frozen ``champion`` (a fitted model of this series) and of a walk-forward of
    ``candidate_model`` (refit every ``refit_every`` bars on data before each forecast) on ``bars[start:]``.

    Returns:
        The per-side metrics with the window's bounds, and the (side, realised, forecast) rows for pooling.
    """
    realised = realised_vol_target(bars, horizon)
    current = trailing_realised_vol(bars, horizon)
    frozen = champion.predict_frame(bars, coverage).iloc[start:]
    config = WalkForwardConfig(horizon=horizon, refit_every=refit_every,
                               test_fraction=(len(bars) - start) / len(bars), coverage=coverage)
    fresh = walk_forward_forecasts(bars, make_model(candidate_model, horizon), config)
    scores: dict[str, Any] = {}
    pooled = []
    for side, fc in (("champion", frozen), ("candidate", fresh)):
        idx = fc.index
        scores[side] = volatility_metrics(realised.reindex(idx), fc["forecast"], current.reindex(idx),
                                          fc["lower"], fc["upper"])
        pooled.append(pd.DataFrame({"side": side, "realised": realised.reindex(idx), "forecast": fc["forecast"]}))
    scores["window"] = [str(bars.index[start]), str(bars.index[-1])]
    return scores, pd.concat(pooled)


def pooled_qlike(pooled: pd.DataFrame) -> dict[str, float]:
    """QLIKE per side over every series' window rows pooled (rows with a missing value dropped)."""
    both = pooled.dropna()
    return {side: volatility_metrics(g["realised"], g["forecast"])["qlike"] for side, g in both.groupby("side")}
