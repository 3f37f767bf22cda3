"""The parameters of the signal features (:class:`SignalFeatureConfig`) and the prefix of the shared ones."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from ml.signal_quality.labels import BarrierConfig

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
        cross_asset: Add the cross-asset and regime context of the other series
            (:mod:`ml.signal_quality.features.cross_asset`: the reference correlation ``f_corr_ref_*``, market
            breadth, the reference's volatility regime and trend). Off by default, so a bundle pickled before the
            field existed computes exactly its old features.
        reference_symbols: Reference series in order of preference (the first other than the scored one).
        breadth_window: SMA window of the market breadth.
        regime_short: Short window (bars) of the reference's realised-volatility ratio.
        regime_long: Long window (bars) of the reference's realised-volatility ratio.
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
    cross_asset: bool = False
    reference_symbols: tuple[str, ...] = ("SP500", "NASDAQ")
    breadth_window: int = 50
    regime_short: int = 20
    regime_long: int = 120

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
