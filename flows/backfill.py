"""Outcome backfill flow: resolve live predictions once the bars of their horizon are stored.

* A volatility forecast made at bar ``as_of`` for ``h`` bars gets ``actual`` = the realised
  volatility over bars ``as_of+1 .. as_of+h`` — :func:`ml.volatility.targets.realised_vol_target`,
  the training target — as soon as those ``h`` bars exist.
* A scored signal gets its triple-barrier outcome (:func:`ml.signal_quality.labels.triple_barrier_labels`,
  the scorer's training label) once a barrier is touched or the vertical barrier passes.

Unresolved rows are simply left for the next run. Given ``symbols`` / ``timeframes`` (what the
``abtpro.bars.arrived`` event reports, through the deployment trigger) only those series are resolved;
without them, all. When a run resolved at least one outcome it emits :data:`OUTCOMES_RESOLVED`
(resource ``abtpro.outcomes``; payload: counts per kind, symbols, timeframes, the newest data time
resolved), on which the ``monitor-models`` deployment is triggered. Before it ends, a run looks for bars
stored while it ran and resolves their series too (at most ``catch_up`` more passes): the deployment
runs one at a time and cancels the runs events start meanwhile (``CANCEL_NEW``), so the running one
does their work and no arrival is left unresolved. ``python -m flows.backfill`` runs it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

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
from store.models import utcnow

OUTCOMES_RESOLVED = "abtpro.outcomes.resolved"
SIDES = {"BUY": 1, "LONG": 1, "1": 1, "+1": 1, "SELL": -1, "SHORT": -1, "-1": -1}


@dataclass(frozen=True)
class BackfillResult:
    """How many outcomes this run resolved, and how many are still pending."""

    volatility_resolved: int
    volatility_pending: int
    signals_resolved: int
    signals_pending: int
    symbols: list[str] = field(default_factory=list)
    timeframes: list[str] = field(default_factory=list)
    newest_data_ts: str | None = None
    event_id: str | None = None


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
    """Triple-barrier outcome rows of the pending signals whose outcome is known by now (each with its own trade
    plan's barriers where it was scored with one)."""
    pending = pending[pending["signal_ts"].isin(bars.index)]
    sides = pending["side"].astype(str).str.upper().map(SIDES)
    pending = pending[sides.notna()]
    if pending.empty:
        return []
    plan = {k: pending[k].to_numpy(float) for k in store.PLAN_KEYS if k in pending}
    signals = pd.DataFrame({"side": sides[pending.index].astype(int).to_numpy(), **plan},
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
def backfill_volatility(url: str, symbols: list[str] | None = None,
                        timeframes: list[str] | None = None) -> tuple[int, int, pd.DataFrame]:
    """Fill ``VolatilityPrediction.actual`` where the horizon has passed (of the given series, or all);
    returns (resolved, pending, the resolved rows' symbol/timeframe/ts)."""
    pending = store.unresolved_volatility(url, symbols, timeframes)
    resolved: dict[int, float] = {}
    for (symbol, timeframe, minutes), group in pending.groupby(["symbol", "timeframe", "horizon"]):
        h = store.horizon_bars(int(minutes), timeframe)
        bars = bar_store.read_bars(url, symbol, timeframe, start=group["as_of"].min().to_pydatetime())
        if not bars.empty:
            resolved.update(resolve_volatility(group, bars, h))
    store.set_volatility_actuals(url, resolved)
    done = pending[pending["id"].isin(list(resolved))].rename(columns={"as_of": "ts"})
    return len(resolved), len(pending) - len(resolved), done[["symbol", "timeframe", "ts"]]


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def backfill_signals(url: str, config: BarrierConfig, symbols: list[str] | None = None,
                     timeframes: list[str] | None = None) -> tuple[int, int, pd.DataFrame]:
    """Store the triple-barrier outcome of every scored signal (of the given series, or all) that has
    resolved; returns (resolved, pending, the resolved rows' symbol/timeframe/ts)."""
    pending = store.unresolved_signals(url, symbols, timeframes)
    rows: list[dict] = []
    for (symbol, timeframe), group in pending.groupby(["symbol", "timeframe"]):
        bars = bar_store.read_bars(url, symbol, timeframe)  # the whole history: the barrier width uses EWM vol
        if not bars.empty:
            rows += resolve_signals(group, bars, config)
    store.save_signal_outcomes(url, rows)
    done = pending[pending["id"].isin([r["score_id"] for r in rows])].rename(columns={"signal_ts": "ts"})
    return len(rows), len(pending) - len(rows), done[["symbol", "timeframe", "ts"]]


def emit_resolved(result: BackfillResult) -> str | None:
    """Emit :data:`OUTCOMES_RESOLVED` for a run that resolved something (None: nothing resolved or no API)."""
    from prefect.events import emit_event
    from prefect.settings import PREFECT_API_URL

    if not (result.volatility_resolved or result.signals_resolved) or not PREFECT_API_URL.value():
        return None
    try:
        event = emit_event(event=OUTCOMES_RESOLVED, resource={"prefect.resource.id": "abtpro.outcomes",
                                                              "prefect.resource.name": "outcomes"},
                           payload={"volatility": result.volatility_resolved, "signals": result.signals_resolved,
                                    "symbols": result.symbols, "timeframes": result.timeframes,
                                    "newest_data_ts": result.newest_data_ts})
    except Exception as err:  # noqa: BLE001 -- outcomes are stored; the daily monitor-models run catches up
        get_run_logger().warning("could not emit %s: %s", OUTCOMES_RESOLVED, err)
        return None
    return str(event.id) if event else None


@flow(name="backfill-outcomes", log_prints=True)
def backfill_outcomes(pt_mult: float = 1.5, sl_mult: float = 1.5, max_holding: int = 10,
                      vol_span: int = 50, symbols: list[str] | None = None,
                      timeframes: list[str] | None = None, catch_up: int = 2) -> BackfillResult:
    """Resolve volatility forecasts and scored signals whose outcomes the stored bars now reveal.

    Args:
        pt_mult, sl_mult, max_holding, vol_span: the triple-barrier settings the scorer was trained with.
        symbols, timeframes: resolve only these series (the arrival event's); None or empty: all.
        catch_up: extra passes over series whose bars were stored while this run ran.
    """
    url, config = get_settings().db_url, BarrierConfig(pt_mult, sl_mult, max_holding, vol_span)
    symbols, timeframes = list(symbols) if symbols else None, list(timeframes) if timeframes else None
    vol_done = sig_done = 0
    frames = []
    for _ in range(1 + max(catch_up, 0)):
        started = utcnow()
        vol_n, vol_left, vol_rows = backfill_volatility(url, symbols, timeframes)
        sig_n, sig_left, sig_rows = backfill_signals(url, config, symbols, timeframes)
        vol_done, sig_done, frames = vol_done + vol_n, sig_done + sig_n, [*frames, vol_rows, sig_rows]
        symbols, timeframes = store.series_ingested_since(url, started)
        if not symbols:
            break
    done = pd.concat(frames)
    newest = None if done.empty else pd.Timestamp(done["ts"].max()).isoformat()
    result = BackfillResult(vol_done, vol_left, sig_done, sig_left, sorted(map(str, done["symbol"].unique())),
                            sorted(map(str, done["timeframe"].unique())), newest)
    result = replace(result, event_id=emit_resolved(result))
    get_run_logger().info("backfill: %s", result)
    return result


if __name__ == "__main__":
    print(backfill_outcomes())
