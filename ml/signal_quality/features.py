"""Features of a trading signal at its bar: the shared market features plus quality factors.

One function, :func:`build_signal_features`, serves training and serving alike (no second
implementation): training passes all signals with the full label table as ``history``; serving
passes the newest signal, the recent bars and the outcomes resolved so far.

Quality factors (spec "Signal Quality Factors"), all known at the signal bar's close:

* historical win rate of similar signals (same strategy and side) computed only from signals whose
  outcome was resolved (``exit_time``) strictly before the signal's time, over the last
  ``history_lookback`` such outcomes, shrunk (beta prior with ``prior_strength`` pseudo-trades)
  towards the strategy's own resolved rate, itself shrunk towards 0.5;
* market-condition alignment: side × trend of the 50/200 moving averages, side × momentum;
* risk/reward: barrier ratio and the room left to the recent extreme in barrier units;
* signal strength; volatility context (rolling percentile of volatility, short/long ratio);
* volume profile (z-score, relative volume, side-adjusted up/down volume balance).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ml.signal_quality.labels import BarrierConfig, ewm_volatility

SHARED_PREFIX = "f_"


@dataclass(frozen=True)
class SignalFeatureConfig:
    """Parameters of :func:`build_signal_features`.

    Attributes:
        barrier: Barrier parameters (volatility span and the risk/reward of the barriers).
        use_shared_features: Include ``ml.features.compute_features`` columns (prefixed ``f_``).
        feature_config: ``ml.features.FeatureConfig`` for the shared features (None = default).
        trend_fast: Fast moving-average window for trend alignment.
        trend_slow: Slow moving-average window for trend alignment.
        momentum_window: Bars of the momentum used for alignment.
        range_window: Bars of the recent high/low used for the room-to-target factor.
        vol_rank_window: Bars of the rolling volatility percentile.
        volume_window: Bars of the volume profile statistics.
        history_lookback: Most recent resolved similar signals used for the win rate.
        prior_strength: Pseudo-trades of the beta prior of the win rate.
    """

    barrier: BarrierConfig = field(default_factory=BarrierConfig)
    use_shared_features: bool = True
    feature_config: Any = None
    trend_fast: int = 50
    trend_slow: int = 200
    momentum_window: int = 20
    range_window: int = 20
    vol_rank_window: int = 252
    volume_window: int = 20
    history_lookback: int = 50
    prior_strength: float = 10.0

    def config_hash(self) -> str:
        """Stable short hash of every parameter (for model lineage)."""
        return hashlib.sha256(repr(sorted(asdict(self).items())).encode()).hexdigest()[:12]

    @property
    def min_history_bars(self) -> int:
        """Bars needed before a signal for every window to be warm (serving must pass at least this)."""
        # EWM weights (1 - 2/(span+1))^k fall below 1e-5 after ~6 spans
        own = max(self.trend_slow, self.vol_rank_window + 6 * self.barrier.vol_span) + 1
        if not self.use_shared_features:
            return own
        from ml.features import FeatureConfig, min_history

        return max(own, min_history(self.feature_config or FeatureConfig()))


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


def market_context(bars: pd.DataFrame, config: SignalFeatureConfig) -> pd.DataFrame:
    """Side-independent market context for every bar (trend, volatility, range, volume)."""
    close, vol_win = bars["close"], config.volume_window
    vol = ewm_volatility(close, config.barrier.vol_span)
    ctx = pd.DataFrame(index=bars.index)
    sma_f = close.rolling(config.trend_fast).mean()
    sma_s = close.rolling(config.trend_slow).mean()
    ctx["trend"] = np.sign(sma_f - sma_s)
    ctx["dist_fast"] = (close / sma_f - 1) / vol
    ctx["dist_slow"] = (close / sma_s - 1) / vol
    ctx["momentum"] = close.pct_change(config.momentum_window) / (vol * np.sqrt(config.momentum_window))
    ctx["room_up"] = (bars["high"].rolling(config.range_window).max() / close - 1) / vol
    ctx["room_down"] = (1 - bars["low"].rolling(config.range_window).min() / close) / vol
    ctx["vol"] = vol
    ctx["vol_pct"] = vol.rolling(config.vol_rank_window).rank(pct=True)
    ctx["vol_ratio"] = ewm_volatility(close, 10) / vol
    volume = bars["volume"]
    ctx["volume_z"] = (volume - volume.rolling(vol_win).mean()) / volume.rolling(vol_win).std()
    ctx["volume_rel"] = volume / volume.rolling(vol_win * 2).median()
    signed = np.sign(close.diff()) * volume
    ctx["updown_volume"] = signed.rolling(vol_win).sum() / volume.rolling(vol_win).sum()
    return ctx.replace([np.inf, -np.inf], np.nan)


def quality_factors(ctx: pd.DataFrame, sides: np.ndarray, strength: np.ndarray,
                    config: SignalFeatureConfig, pt: np.ndarray | None = None,
                    sl: np.ndarray | None = None) -> pd.DataFrame:
    """Side-adjusted quality factors from the market context rows at the signal bars.

    ``pt`` / ``sl`` are each signal's take-profit and stop-loss distances in multiples of ``vol`` (a trade plan);
    NaN or None means the barriers of ``config`` (those of the training labels).
    """
    side = np.asarray(sides, dtype=float)
    pt = _or_default(pt, config.barrier.pt_mult, len(side))
    sl = _or_default(sl, config.barrier.sl_mult, len(side))
    out = pd.DataFrame(index=ctx.index)
    out["side"] = side
    out["strength"] = np.asarray(strength, dtype=float)
    out["trend_align"] = side * ctx["trend"].to_numpy()
    out["dist_fast_align"] = side * ctx["dist_fast"].to_numpy()
    out["dist_slow_align"] = side * ctx["dist_slow"].to_numpy()
    out["momentum_align"] = side * ctx["momentum"].to_numpy()
    out["risk_reward"] = pt / sl
    room = np.where(side > 0, ctx["room_up"], ctx["room_down"])
    out["room_to_target"] = room / pt
    out["room_to_stop"] = np.where(side > 0, ctx["room_down"], ctx["room_up"]) / sl
    for col in ("vol", "vol_pct", "vol_ratio", "volume_z", "volume_rel"):
        out[col] = ctx[col].to_numpy()
    out["updown_volume_align"] = side * ctx["updown_volume"].to_numpy()
    return out


def _or_default(values: np.ndarray | None, default: float, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, float(default))
    values = np.asarray(values, dtype="float64")
    return np.where(np.isfinite(values) & (values > 0), values, float(default))


#: Prefix of the numbers a strategy supplies with its signal (``caller_confidence``, ``caller_<name>``): passed
#: through as feature columns, used by a scorer trained on enough reported outcomes that carry them.
CALLER_PREFIX = "caller_"


def caller_columns(columns) -> list[str]:
    """The strategy-supplied columns among ``columns`` (:data:`CALLER_PREFIX`), in order."""
    return [str(c) for c in columns if str(c).startswith(CALLER_PREFIX)]


def strategy_indicators(strategy_name: str, n: int) -> pd.DataFrame:
    """One-hot ``strategy_<name>`` columns over the registered strategies (stable column set).

    They let one scorer be trained on signals pooled across strategies (and symbols). Any other strategy (one of
    the platform's own) gets all zeros: it is scored on market context, trade plan and its own history.
    """
    from ml.strategies import STRATEGIES

    return pd.DataFrame({f"strategy_{name}": np.full(n, float(name == strategy_name)) for name in STRATEGIES})


def shared_features(bars: pd.DataFrame, config: SignalFeatureConfig,
                    reference_close: pd.Series | None = None) -> pd.DataFrame:
    """Numeric columns of ``ml.features.compute_features`` prefixed with ``f_`` (empty if disabled).

    Without ``reference_close`` the correlation-with-reference column is all NaN (XGBoost treats
    it as missing); it is kept so the columns do not depend on the data.
    """
    if not config.use_shared_features:
        return pd.DataFrame(index=bars.index)
    from ml.features import FeatureConfig, compute_features

    feats = compute_features(bars, config.feature_config or FeatureConfig(), reference_close=reference_close)
    numeric = feats.select_dtypes(include=["number", "bool"]).astype("float64")
    return numeric.add_prefix(SHARED_PREFIX).replace([np.inf, -np.inf], np.nan)


def bar_context(bars: pd.DataFrame, config: SignalFeatureConfig,
                reference_close: pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The side- and strategy-free part of the features of every bar: (:func:`market_context`,
    :func:`shared_features`). Causal, so computed once over a window it serves every signal on it (and on any
    prefix of it): the service memoises it per stored window for the signals of every strategy and side."""
    return market_context(bars, config), shared_features(bars, config, reference_close)


def build_signal_features(
    bars: pd.DataFrame,
    signals: pd.DataFrame,
    history: pd.DataFrame | None,
    strategy_name: str,
    config: SignalFeatureConfig = SignalFeatureConfig(),
    reference_close: pd.Series | None = None,
    context: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Feature matrix of ``signals`` for the quality scorer (same code in training and serving).

    Args:
        bars: Bars frame covering at least ``config.min_history_bars`` before each signal.
        signals: Frame indexed by signal ``ts`` (bar timestamps) with ``side`` and ``strength``, optionally
            ``pt_mult`` / ``sl_mult`` (a trade plan's take-profit / stop-loss distances in multiples of ``vol``)
            and strategy-supplied numbers (``caller_*`` columns, appended to the features as given).
        history: Labelled signals (``side``, ``exit_time``, ``label``, ``ret``, optional
            ``strategy``), e.g. :func:`ml.signal_quality.labels.triple_barrier_labels` output.
            Only outcomes resolved strictly before each signal are used, so passing the full
            label table in training leaks nothing.
        strategy_name: Name of the primary strategy that produced ``signals``.
        config: Feature parameters.
        reference_close: Optional reference asset closes for the shared correlation feature.
        context: :func:`bar_context` of ``bars`` or of a longer window starting at the same bar (computed
            here when None).

    Returns:
        Float frame indexed like ``signals``; columns are the quality factors, the strategy
        indicators, the historical win-rate block and the shared market features (``f_*``). NaN where a window is not warm.
    """
    pos = bars.index.get_indexer(signals.index)
    if (pos < 0).any():
        raise ValueError("every signal timestamp must be a bar timestamp")
    market, shared_all = context if context is not None else bar_context(bars, config, reference_close)
    ctx = market.iloc[pos]
    sides = signals["side"].to_numpy(dtype=int)
    strength = signals["strength"].to_numpy(float) if "strength" in signals else np.ones(len(signals))
    plan = {k: signals[k].to_numpy(float) if k in signals else None for k in ("pt_mult", "sl_mult")}
    factors = quality_factors(ctx, sides, strength, config, plan["pt_mult"], plan["sl_mult"])
    hist = historical_win_rate(pd.DatetimeIndex(signals.index), sides, history, strategy_name,
                               config.history_lookback, config.prior_strength)
    shared = shared_all.iloc[pos]
    parts = [factors, strategy_indicators(strategy_name, len(factors)).set_axis(factors.index),
             hist.set_axis(factors.index), shared.set_axis(factors.index)]
    out = pd.concat(parts, axis=1).astype("float64")
    out.index = signals.index
    for col in caller_columns(signals.columns):  # strategy-supplied numbers, as given (NaN: not given)
        out[col] = pd.to_numeric(signals[col], errors="coerce").to_numpy(dtype="float64")
    return out
