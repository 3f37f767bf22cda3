"""Risk: volatility-targeted sizing and its backtest (:mod:`ml.risk.sizing`), and the one-at-a-time decisions
of the ``/ml/risk`` API (:mod:`ml.risk.decisions`: a position plan, volatility stops, the volatility regime)."""

from ml.risk.decisions import (
    PositionPlan,
    StopLevels,
    VolatilityRegime,
    size_position,
    volatility_regime,
    volatility_stops,
)
from ml.risk.sizing import (
    ArrayLike,
    SizingComparison,
    compare_sizing,
    max_drawdown,
    performance,
    position_size,
    rolling_target_vol,
    sharpe_ratio,
    sma_trend_signal,
)

__all__ = [
    "ArrayLike",
    "PositionPlan",
    "SizingComparison",
    "StopLevels",
    "VolatilityRegime",
    "compare_sizing",
    "max_drawdown",
    "performance",
    "position_size",
    "rolling_target_vol",
    "sharpe_ratio",
    "size_position",
    "sma_trend_signal",
    "volatility_regime",
    "volatility_stops",
]
