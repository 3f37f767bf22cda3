"""Serving's view of the stored predictions: the actuals of forecasts resolved from the stored bars.

The reads and writes themselves are repository functions of :mod:`store.predictions` (re-exported here for
the handlers that still name them ``persistence.*``); the durability and checkpoint tuning of the service's
engine is :func:`store.db.relax_durability` / :func:`store.db.background_checkpoints`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from store.predictions import save_signal_scores, save_volatility, volatility_rows

__all__ = ["resolve_actuals", "save_signal_scores", "save_volatility", "volatility_rows"]


def resolve_actuals(url: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Fill ``actual`` (realised vol over each forecast's horizon, when the bars exist by now) and
    ``trailing`` (the realised vol of the ``h`` bars up to the origin, for directional accuracy).

    Read-only: stored ``actual`` values win; nothing is written back.
    """
    from ml.volatility.targets import realised_vol_target, trailing_realised_vol
    from serving.schemas import timeframe_minutes
    from store.bars import read_bars
    from store.windows import start_for

    frame = frame.copy()
    frame["trailing"] = np.nan
    known = frame.dropna(subset=["as_of"])
    for (symbol, timeframe, minutes), group in known.groupby(["symbol", "timeframe", "horizon"]):
        h = max(1, int(round(float(minutes) / timeframe_minutes(timeframe))))
        first = pd.Timestamp(group["as_of"].min()).to_pydatetime()
        start = start_for(url, symbol, timeframe, first, h + 2)
        bars = read_bars(url, symbol, timeframe, start=start)
        if bars.empty:
            continue
        origins = pd.DatetimeIndex(group["as_of"])
        target = realised_vol_target(bars, h).reindex(origins).to_numpy()
        trailing = trailing_realised_vol(bars, h).reindex(origins).to_numpy()
        stored = group["actual"].to_numpy(float)
        frame.loc[group.index, "actual"] = np.where(np.isfinite(stored), stored, target)
        frame.loc[group.index, "trailing"] = trailing
    return frame
