"""The leak-free historical win rate and mean return of similar signals (outcomes resolved before each)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _shrunk_rate(exit_times, values, query_times, lookback, prior, strength):
    """Shrunk mean of ``values`` over the last ``lookback`` items with exit strictly before each query.

    Returns ``(rate, n)`` arrays aligned with ``query_times``.
    """
    order = np.argsort(exit_times, kind="stable")
    exits, vals = exit_times[order], values[order]
    cum = np.concatenate([[0.0], np.cumsum(vals)])
    idx = np.searchsorted(exits, query_times, side="left")
    lo = np.maximum(idx - lookback, 0)
    n = (idx - lo).astype(float)
    rate = (cum[idx] - cum[lo] + strength * np.asarray(prior, dtype=float)) / (n + strength)
    return rate, n


def historical_win_rate(
    signal_times: pd.DatetimeIndex,
    sides: np.ndarray,
    history: pd.DataFrame | None,
    strategy_name: str,
    lookback: int = 50,
    prior_strength: float = 10.0,
) -> pd.DataFrame:
    """Leak-free historical win rate and mean return of similar signals.

    Only history rows with a label and an ``exit_time`` strictly before the signal's time count.
    The side-level rate is shrunk towards the strategy-level rate (both sides), itself shrunk
    towards 0.5; the mean return is shrunk towards 0.

    Args:
        signal_times: Signal timestamps.
        sides: +1/-1 per signal.
        history: Frame with ``side``, ``exit_time``, ``label``, ``ret`` and optionally ``strategy``
            (rows of other strategies are ignored). None or empty = no history.
        strategy_name: Strategy whose history counts.
        lookback: Most recent resolved outcomes used.
        prior_strength: Pseudo-trades of the prior.

    Returns:
        Frame indexed by ``signal_times``: ``hist_win_rate``, ``hist_n``, ``hist_win_rate_strategy``,
        ``hist_mean_ret``.
    """
    q = pd.DatetimeIndex(signal_times).as_unit("ns").asi8
    out = pd.DataFrame(index=signal_times)
    hist = _resolved_history(history, strategy_name)
    exits = pd.DatetimeIndex(hist["exit_time"]).as_unit("ns").asi8
    lab, ret, side = hist["label"].to_numpy(float), hist["ret"].to_numpy(float), hist["side"].to_numpy(int)
    strat_rate, _ = _shrunk_rate(exits, lab, q, lookback, 0.5, prior_strength)
    rate, n, mean_ret = (np.full(len(q), np.nan) for _ in range(3))
    for s in (1, -1):
        m, h = np.asarray(sides) == s, side == s
        rate[m], n[m] = _shrunk_rate(exits[h], lab[h], q[m], lookback, strat_rate[m], prior_strength)
        mean_ret[m], _ = _shrunk_rate(exits[h], ret[h], q[m], lookback, 0.0, prior_strength)
    out["hist_win_rate"], out["hist_n"] = rate, n
    out["hist_win_rate_strategy"], out["hist_mean_ret"] = strat_rate, mean_ret
    return out


def _resolved_history(history: pd.DataFrame | None, strategy_name: str) -> pd.DataFrame:
    cols = ["side", "exit_time", "label", "ret"]
    if history is None or len(history) == 0:
        return pd.DataFrame({"side": pd.Series(dtype="int64"), "exit_time": pd.Series(dtype="datetime64[ns]"),
                             "label": pd.Series(dtype="float64"), "ret": pd.Series(dtype="float64")})
    hist = history
    if "strategy" in hist.columns:
        hist = hist[hist["strategy"] == strategy_name]
    hist = hist[hist["label"].notna() & hist["exit_time"].notna()]
    hist = hist.assign(ret=hist["ret"].fillna(0.0) if "ret" in hist else 0.0)
    return hist[cols]
