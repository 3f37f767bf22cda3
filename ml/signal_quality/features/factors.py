"""Per-signal columns: side-adjusted quality factors, the strategy's ``caller_*`` numbers, its one-hot."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.signal_quality.features.config import SignalFeatureConfig


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
