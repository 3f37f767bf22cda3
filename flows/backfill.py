"""Outcome backfill flow: resolve live predictions once the bars of their horizon are stored.

* A volatility forecast made at bar ``as_of`` for ``h`` bars gets ``actual`` = the realised
  volatility over bars ``as_of+1 .. as_of+h`` — :func:`ml.volatility.targets.realised_vol_target`,
  the training target — as soon as those ``h`` bars exist.
* A scored signal gets its triple-barrier outcome (:func:`ml.signal_quality.labels.triple_barrier_labels`,
  the scorer's training label) once a barrier is touched or the vertical barrier passes.

Unresolved rows are simply left for the next run. ``python -m flows.backfill`` runs it once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from abtpro.settings import get_settings
from flows.common import IO_RETRIES, IO_RETRY_DELAY_SECONDS
from ml.signal_quality.labels import BarrierConfig, triple_barrier_labels
from ml.volatility.targets import realised_vol_target
from store import bars as bar_store
from store import monitoring as store

SIDES = {"BUY": 1, "LONG": 1, "1": 1, "+1": 1, "SELL": -1, "SHORT": -1, "-1": -1}


@dataclass(frozen=True)
class BackfillResult:
    """How many outcomes this run resolved, and how many are still pending."""

    volatility_resolved: int
    volatility_pending: int
    signals_resolved: int
    signals_pending: int


def resolve_volatility(pending: pd.DataFrame, bars: pd.DataFrame, horizon: int) -> dict[int, float]:
    """Realised vol over the ``horizon`` bars after each forecast's ``as_of`` (only the resolved ones).

    Args:
        pending: Rows with ``id`` and ``as_of`` (the forecast origin, a bar timestamp).
        bars: Bars of the series from at least the earliest ``as_of`` on.
        horizon: Horizon in bars.
    """
    target = realised_vol_target(bars, horizon).reindex(pd.DatetimeIndex(pending["as_of"])).to_numpy()
    ok = np.isfinite(target)
    return dict(zip(pending["id"].to_numpy()[ok].tolist(), target[ok].tolist()))


def resolve_signals(pending: pd.DataFrame, bars: pd.DataFrame, config: BarrierConfig) -> list[dict]:
    """Triple-barrier outcome rows of the pending signals whose outcome is known by now."""
    pending = pending[pending["signal_ts"].isin(bars.index)]
    sides = pending["side"].astype(str).str.upper().map(SIDES)
    pending = pending[sides.notna()]
    if pending.empty:
        return []
    signals = pd.DataFrame({"side": sides[pending.index].astype(int).to_numpy()},
                           index=pd.DatetimeIndex(pending["signal_ts"]))
    labels = triple_barrier_labels(bars, signals, config)
    rows = []
    for score_id, (_, lab) in zip(pending["id"], labels.iterrows()):
        if pd.isna(lab["label"]):
            continue
        rows.append({"score_id": int(score_id), "outcome": float(lab["label"]), "realised_return": float(lab["ret"]),
                     "barrier": str(lab["barrier"]), "exit_ts": pd.Timestamp(lab["exit_time"]).to_pydatetime()})
    return rows


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def backfill_volatility(url: str) -> tuple[int, int]:
    """Fill ``VolatilityPrediction.actual`` where the horizon has passed; returns (resolved, pending)."""
    pending = store.unresolved_volatility(url)
    resolved: dict[int, float] = {}
    for (symbol, timeframe, minutes), group in pending.groupby(["symbol", "timeframe", "horizon"]):
        h = store.horizon_bars(int(minutes), timeframe)
        bars = bar_store.read_bars(url, symbol, timeframe, start=group["as_of"].min().to_pydatetime())
        if not bars.empty:
            resolved.update(resolve_volatility(group, bars, h))
    store.set_volatility_actuals(url, resolved)
    return len(resolved), len(pending) - len(resolved)


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def backfill_signals(url: str, config: BarrierConfig) -> tuple[int, int]:
    """Store the triple-barrier outcome of every scored signal that has resolved; returns (resolved, pending)."""
    pending = store.unresolved_signals(url)
    rows: list[dict] = []
    for (symbol, timeframe), group in pending.groupby(["symbol", "timeframe"]):
        bars = bar_store.read_bars(url, symbol, timeframe)  # the whole history: the barrier width uses EWM vol
        if not bars.empty:
            rows += resolve_signals(group, bars, config)
    store.save_signal_outcomes(url, rows)
    return len(rows), len(pending) - len(rows)


@flow(name="backfill-outcomes", log_prints=True)
def backfill_outcomes(pt_mult: float = 1.5, sl_mult: float = 1.5, max_holding: int = 10,
                      vol_span: int = 50) -> BackfillResult:
    """Resolve volatility forecasts and scored signals whose outcomes the stored bars now reveal.

    Args:
        pt_mult, sl_mult, max_holding, vol_span: the triple-barrier settings the scorer was trained with.
    """
    url = get_settings().db_url
    vol_done, vol_left = backfill_volatility(url)
    sig_done, sig_left = backfill_signals(url, BarrierConfig(pt_mult, sl_mult, max_holding, vol_span))
    result = BackfillResult(vol_done, vol_left, sig_done, sig_left)
    get_run_logger().info("backfill: %s", result)
    return result


if __name__ == "__main__":
    print(backfill_outcomes())
