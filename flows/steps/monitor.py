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
from ml.monitoring import bar_cooldown_check
from ml.monitoring_report import stored_features
from ml.volatility.targets import trailing_realised_vol
from store import bars as bar_store
from store import monitoring as store


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def champion_context(name: str) -> dict[str, Any] | None:
    """The champion version of ``name``, its validation metrics, training ranges and params (None if none)."""
    return registry.champion_context(name)


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def volatility_live_frame(url: str, name: str, version: str, window: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The newest ``window`` predictions of the version with ``trailing`` vol at each origin, and their features.

    Features are the ones stored with the predictions; rows stored without features get them
    recomputed from the stored bars up to their origin (same ``ml.features`` code as training).
    """
    preds = store.volatility_window(url, name, version, last=window)
    preds["trailing"] = np.nan
    feats = []
    for (symbol, timeframe, minutes), group in preds.groupby(["symbol", "timeframe", "horizon"]):
        h = store.horizon_bars(int(minutes), timeframe)
        bars = bar_store.read_bars(url, symbol, timeframe)
        origins = pd.DatetimeIndex(group["as_of"])
        preds.loc[group.index, "trailing"] = trailing_realised_vol(bars, h).reindex(origins).to_numpy()
        stored = stored_features(group["features"], group.index)
        if stored.empty or stored.isna().all(axis=None):
            stored = compute_features(bars).reindex(origins).set_axis(group.index)
        feats.append(stored)
    features = pd.concat(feats) if feats else pd.DataFrame()
    return preds.drop(columns=["features"]), features.apply(pd.to_numeric, errors="coerce")


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
    ``dispatch``: ``auto`` (event when a server has the retrain deployment, else direct), ``event``,
    ``direct`` (run the retrain flow here) or ``record`` (only record it).
    """
    data_ts = None if data_ts is None or pd.isna(data_ts) else pd.Timestamp(data_ts).to_pydatetime()
    last = store.last_fired_data_ts(url, name)
    cooldown = bar_cooldown_check(last, store.bars_between(url, list(symbols or []), timeframe, last, data_ts),
                                  data_ts, cooldown_bars)
    if not cooldown.allowed:
        trigger_id = store.record_trigger(url, model_name=name, model_version=version, monitoring_id=monitoring_id,
                                          reasons=[*reasons, cooldown.reason], status="suppressed", mode="none",
                                          data_ts=data_ts)
        return {"trigger_id": trigger_id, "status": "suppressed", "mode": "none"}
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
