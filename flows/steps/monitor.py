"""The steps of the monitoring flow (:mod:`flows.monitor`): the champion's context, the live window with its
features, the drift references, and firing the retrain trigger (event or direct)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

import registry
from flows.common import IO_RETRIES, IO_RETRY_DELAY_SECONDS
from flows.retrain import DEPLOYMENT, DRIFT_EVENT
from flows.steps.signal_quality import REFERENCE_ARTIFACT
from ml.features import compute_features
from ml.monitoring import RetrainRecord, backoff_note, bar_cooldown_check, resolution_times, retrain_backoff
from ml.monitoring_report import stored_features
from ml.volatility.targets import trailing_realised_vol
from store import bars as bar_store
from store import monitoring as store
from store import outcome_times


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def champion_context(name: str) -> dict[str, Any] | None:
    """The champion version of ``name``, its validation metrics, training ranges and params (None if none)."""
    return registry.champion_context(name)


def _enough(frame: pd.DataFrame, origin: str, fetched: int, window: int, since: Any) -> bool:
    """Does a fetch of the newest ``fetched`` rows cover a catch-up since ``since``: all rows there are, or at
    least ``window`` rows made by ``since`` (so that every later pass finds its whole window)?"""
    if len(frame) < fetched or since is None or pd.isna(since):
        return True
    return int((pd.to_datetime(frame[origin]) <= pd.Timestamp(since)).sum()) >= window


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def volatility_live_frame(url: str, name: str, version: str, window: int,
                          since: Any = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DatetimeIndex]:
    """The version's live forecasts with ``trailing`` vol at each origin and ``resolved_at``, their features,
    and the stored bar times of their series.

    Without ``since``: the newest ``window`` forecasts. With ``since`` (the last pass's ``window_end``): enough
    of them for a catch-up, i.e. every forecast after it and ``window`` before it. ``resolved_at`` is the bar at
    which ``actual`` became known (the ``h``-th after the origin; NaT while unresolved). Features are the ones
    stored with the predictions; rows stored without features get them recomputed from the stored bars up to
    their origin (same ``ml.features`` code as training).
    """
    fetched = window
    preds = store.volatility_window(url, name, version, last=fetched)
    while since is not None and not _enough(preds, "as_of", fetched, window, since):
        fetched *= 2
        preds = store.volatility_window(url, name, version, last=fetched)
    preds["trailing"] = np.nan
    preds["resolved_at"] = pd.Series(pd.NaT, index=preds.index, dtype="datetime64[ns]")
    feats, times = [], []
    for (symbol, timeframe, minutes), group in preds.groupby(["symbol", "timeframe", "horizon"]):
        h = store.horizon_bars(int(minutes), timeframe)
        bars = bar_store.read_bars(url, symbol, timeframe)
        origins = pd.DatetimeIndex(group["as_of"])
        preds.loc[group.index, "trailing"] = trailing_realised_vol(bars, h).reindex(origins).to_numpy()
        preds.loc[group.index, "resolved_at"] = resolution_times(bars.index, origins, h,
                                                                 group["actual"].notna()).to_numpy()
        times.append(bars.index[bars.index >= origins.min()] if len(origins) else bars.index[:0])
        stored = stored_features(group["features"], group.index)
        if stored.empty or stored.isna().all(axis=None):
            stored = compute_features(bars).reindex(origins).set_axis(group.index)
        feats.append(stored)
    features = pd.concat(feats) if feats else pd.DataFrame()
    bar_times = pd.DatetimeIndex(np.concatenate([t.to_numpy() for t in times])) if times else pd.DatetimeIndex([])
    return (preds.drop(columns=["features"]), features.apply(pd.to_numeric, errors="coerce"),
            bar_times.unique().sort_values())


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def signal_live_frame(url: str, name: str, version: str, window: int,
                      since: Any = None) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """The version's scored signals with their outcomes and ``resolved_at`` (the bar the barrier was touched,
    ``MLSignalOutcome.exit_ts``), and the stored bar times of their series since the oldest of them.

    Without ``since``: the newest ``window`` signals; with it, enough for a catch-up (as
    :func:`volatility_live_frame`). An outcome stored without an exit bar counts as known at the newest bar.
    """
    fetched = window
    frame = store.signal_window(url, name, version, last=fetched)
    while since is not None and not _enough(frame, "signal_ts", fetched, window, since):
        fetched *= 2
        frame = store.signal_window(url, name, version, last=fetched)
    if frame.empty:
        return frame.assign(resolved_at=pd.Series(dtype="datetime64[ns]")), pd.DatetimeIndex([])
    timeframe = str(frame["timeframe"].mode().iloc[0])
    oldest = pd.Timestamp(pd.to_datetime(frame["signal_ts"]).min())
    after = None if pd.isna(oldest) else (oldest - pd.Timedelta(microseconds=1)).to_pydatetime()
    bar_times = pd.DatetimeIndex(outcome_times.bar_times(url, sorted(frame["symbol"].unique()), timeframe, after))
    exits = outcome_times.signal_exit_times(url, frame["id"])
    newest = bar_times.max() if len(bar_times) else pd.NaT
    resolved_at = [pd.Timestamp(exits[i]) if exits.get(i) is not None else (newest if pd.notna(o) else pd.NaT)
                   for i, o in zip(frame["id"], frame["outcome"])]
    return frame.assign(resolved_at=pd.DatetimeIndex(resolved_at)), bar_times


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def reference_features(url: str, data_ranges: dict[str, list[str]], timeframe: str) -> pd.DataFrame:
    """Features recomputed on the training data range of every symbol (the drift reference)."""
    frames = []
    for symbol, (start, end) in data_ranges.items():
        bars = bar_store.read_bars(url, symbol, timeframe, start=pd.Timestamp(start).to_pydatetime(),
                                   end=pd.Timestamp(end).to_pydatetime())
        if not bars.empty:
            frames.append(compute_features(bars))
    return pd.concat(frames) if frames else pd.DataFrame()


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def signal_reference_features(run_id: str) -> pd.DataFrame | None:
    """The scorer's drift reference logged by its training run (None when the run has no such artifact)."""
    return registry.load_run_parquet(run_id, REFERENCE_ARTIFACT)


def signal_live_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The scorer's inputs stored with the scored signals (``features`` JSON of each row), as numbers."""
    return pd.DataFrame() if frame.empty else stored_features(frame["features"], frame.index)


def _server_has_retrain_deployment() -> bool:
    """True when a Prefect server (not the embedded ephemeral one) knows the ``retrain-model`` deployment."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return False
    try:
        with get_client(sync_client=True) as client:
            client.read_deployment_by_name(f"{DEPLOYMENT}/{DEPLOYMENT}")
        return True
    except (ObjectNotFound, httpx.HTTPError, OSError, RuntimeError):  # not deployed, or no reachable server
        return False


@task(cache_policy=NO_CACHE)
def fire_trigger(url: str, name: str, version: str, monitoring_id: int, reasons: list[str], cooldown_bars: int,
                 dispatch: str, data_ts: Any = None, symbols: list[str] | None = None,
                 timeframe: str = "1d") -> dict[str, Any]:
    """Record the retrain trigger (or its suppression by the cooldown) and fire it.

    The trigger row keeps ``data_ts`` (the newest bar of the judged window); a new trigger is suppressed while
    fewer than ``cooldown_bars`` stored bars of ``symbols``/``timeframe`` lie between the last fired trigger's
    ``data_ts`` and this one (:func:`ml.monitoring.bar_cooldown_check`: data time, the same in a replay and live).
    That cooldown doubles after each retrain in a row that lost to the judged champion, and no trigger fires
    while one of the champion's retrains is still open (:func:`ml.monitoring.retrain_backoff`). ``dispatch``: ``auto`` (event when a server has the retrain deployment, else direct), ``event``,
    ``direct`` (run the retrain flow here) or ``record`` (only record it).
    """
    data_ts = None if data_ts is None or pd.isna(data_ts) else pd.Timestamp(data_ts).to_pydatetime()
    history = [RetrainRecord(t["id"], t["open"], t["promoted"]) for t in store.champion_triggers(url, name, version)]
    effective, blocked = retrain_backoff(cooldown_bars, history)
    last = store.last_fired_data_ts(url, name)
    cooldown = bar_cooldown_check(last, store.bars_between(url, list(symbols or []), timeframe, last, data_ts),
                                  data_ts, effective)
    notes = [] if effective == cooldown_bars else [backoff_note(cooldown_bars, effective)]
    if blocked or not cooldown.allowed:
        trigger_id = store.record_trigger(url, model_name=name, model_version=version, monitoring_id=monitoring_id,
                                          reasons=[*reasons, *notes, blocked or cooldown.reason], status="suppressed",
                                          mode="none", data_ts=data_ts)
        return {"trigger_id": trigger_id, "status": "suppressed", "mode": "none"}
    reasons = [*reasons, *notes]
    mode = dispatch if dispatch != "auto" else ("event" if _server_has_retrain_deployment() else "direct")
    trigger_id = store.record_trigger(url, model_name=name, model_version=version, monitoring_id=monitoring_id,
                                      reasons=reasons, status="fired", mode=mode, data_ts=data_ts)
    out: dict[str, Any] = {"trigger_id": trigger_id, "status": "fired", "mode": mode}
    if mode == "event":
        from prefect.events import emit_event

        event = emit_event(event=DRIFT_EVENT, resource={"prefect.resource.id": f"abtpro.model.{name}",
                                                        "prefect.resource.name": name},
                           payload={"trigger_id": trigger_id, "model_version": version,
                                    "monitoring_id": monitoring_id, "reasons": reasons,
                                    "data_ts": None if data_ts is None else data_ts.isoformat()})
        store.update_trigger(url, trigger_id, event_id=str(event.id) if event else None)
    return out
