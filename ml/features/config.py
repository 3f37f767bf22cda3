"""The windows and horizons of the features (:class:`FeatureConfig`), their column names and warm-up."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from ml.features.proxies import VOL_ESTIMATORS


@dataclass(frozen=True)
class FeatureConfig:
    """Windows and horizons of :func:`compute_features`.

    Attributes:
        vol_windows: Windows (bars) of the realised-volatility features.
        atr_window: Wilder ATR window.
        rsi_window: Wilder RSI window.
        macd_fast: MACD fast EMA span.
        macd_slow: MACD slow EMA span.
        macd_signal: MACD signal EMA span.
        bb_window: Bollinger window.
        bb_k: Bollinger band width in standard deviations.
        momentum_horizons: Horizons (bars) of the simple-return momentum features.
        volume_window: Window of the volume z-score and volume/price-trend features.
        corr_window: Window of the rolling correlation with the reference asset.
    """

    vol_windows: tuple[int, ...] = (1, 5, 22, 66)
    atr_window: int = 14
    rsi_window: int = 14
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    bb_window: int = 20
    bb_k: float = 2.0
    momentum_horizons: tuple[int, ...] = (5, 22, 66)
    volume_window: int = 22
    corr_window: int = 66

    def config_hash(self) -> str:
        """Return a short, stable hex digest of the configuration fields."""
        payload = json.dumps(asdict(self), sort_keys=True, default=list)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


def feature_columns(config: FeatureConfig = FeatureConfig()) -> list[str]:
    """Return the ordered feature column names produced for ``config``."""
    cols = ["ret", "log_ret"]
    cols += [f"rv_{est}_{w}" for w in config.vol_windows for est in VOL_ESTIMATORS]
    cols += [f"atr_{config.atr_window}", f"rsi_{config.rsi_window}", "macd", "macd_signal", "macd_hist"]
    cols += [f"bb_pctb_{config.bb_window}"]
    cols += [f"mom_{h}" for h in config.momentum_horizons]
    cols += [f"volume_z_{config.volume_window}", f"vpt_{config.volume_window}"]
    cols += [f"corr_ref_{config.corr_window}", "dow", "month"]
    return cols


FEATURE_COLUMNS: list[str] = feature_columns()


def min_history(config: FeatureConfig = FeatureConfig()) -> int:
    """Bars needed so that the last row equals the full-history value (within ``1e-8`` relative)."""
    longest = max(*config.vol_windows, *config.momentum_horizons, config.corr_window, config.bb_window)
    return max(longest + 1, 300)
