"""The side- and strategy-free features of every bar: market context and the shared ``ml.features``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ml.signal_quality.features.config import SHARED_PREFIX, SignalFeatureConfig
from ml.signal_quality.features.cross_asset import cross_asset_context
from ml.signal_quality.labels import ewm_volatility


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


def bar_context(bars: pd.DataFrame, config: SignalFeatureConfig, reference_close: pd.Series | None = None,
                closes: Mapping[str, pd.Series] | None = None,
                symbol: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The side- and strategy-free part of the features of every bar: (:func:`market_context`,
    :func:`shared_features` followed, with ``config.cross_asset``, by the cross-asset columns of
    :func:`~ml.signal_quality.features.cross_asset.cross_asset_context` of ``closes``, the other series' closes,
    whose reference also feeds the shared correlation unless ``reference_close`` is given). Causal, so computed
    once over a window it serves every signal on it (and on any prefix of it): the service memoises it per stored
    window (and the windows of the other series) for the signals of every strategy and side."""
    if not getattr(config, "cross_asset", False):
        return market_context(bars, config), shared_features(bars, config, reference_close)
    ref, cross = cross_asset_context(bars, closes, config, symbol)
    shared = shared_features(bars, config, reference_close if reference_close is not None else ref)
    return market_context(bars, config), pd.concat([shared, cross], axis=1)
