"""Settings of the serving layer (env prefix ``ABTPRO_SERVING_``), built by :func:`get_serving_settings`."""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from serving.keepalive import DEFAULT_MAX_REQUESTS_PER_CONNECTION
from serving.request_guard import DEFAULT_MAX_BODY_BYTES

#: Processes and threads of the service by default: one process per core (at most 4: each holds both champions),
#: two threads each. Measured (benchmarks/RESULTS.md, "Capacity"): on 2 cores, 2 x 2 held 100 req/s of the
#: realistic mix at p99 31-40 ms (62 ms in one run of four) where 1 x 4 had ~300 ms (the GIL: one process computes
#: one answer at a time, and a new bar makes every series' answers cold at once).
DEFAULT_WORKERS = min(os.cpu_count() or 1, 4)
DEFAULT_THREADS = 2


def service_workers() -> int:
    """``ABTPRO_SERVING_WORKERS`` or :data:`DEFAULT_WORKERS` (read by the service decorator at import)."""
    return int(os.environ.get("ABTPRO_SERVING_WORKERS") or DEFAULT_WORKERS)


def service_threads() -> int:
    """``ABTPRO_SERVING_THREADS`` or :data:`DEFAULT_THREADS`."""
    return int(os.environ.get("ABTPRO_SERVING_THREADS") or DEFAULT_THREADS)


def service_access_log() -> bool:
    """``ABTPRO_SERVING_ACCESS_LOG`` (default off): BentoML's access log line for every request.

    Off by default because every answer is already a stored row (caller, model version, inputs, answer), every
    request is counted per route in ``/metrics``, and every 4xx is logged in one line (:mod:`serving.request_guard`);
    the line per request cost about 7% of the service's CPU per answer under load (``benchmarks/RESULTS.md``,
    "Capacity"). Errors and tracebacks are logged either way.
    """
    return os.environ.get("ABTPRO_SERVING_ACCESS_LOG", "").strip().lower() in ("1", "true", "yes", "on")


class ServingSettings(BaseSettings):
    """Knobs of the BentoML service; the database and MLflow URIs come from :class:`abtpro.settings.Settings`.

    ``ABTPRO_SERVING_WORKERS``, ``ABTPRO_SERVING_THREADS`` and ``ABTPRO_SERVING_ACCESS_LOG`` are read from the
    environment by the service decorator at import time, before any settings object exists (:func:`service_workers`,
    :func:`service_threads`, :func:`service_access_log`), so they are not fields here.
    """

    model_config = SettingsConfigDict(env_prefix="ABTPRO_SERVING_", env_file=".env", extra="ignore")

    poll_seconds: float = Field(default=30.0, ge=0, description="Champion alias poll period; 0 disables polling.")
    reload_check_seconds: float = Field(default=1.0, ge=0, description="How often each worker reads the reload "
                                        "announcements of the others (store.reloads: a webhook or POST "
                                        "/ml/models/reload reaches one worker); 0 = only the alias poll.")
    max_batch: int = Field(default=1000, gt=0, description="Largest batch of signals/predictions per request.")
    auth_cache_seconds: float = Field(default=30.0, ge=0, description="How long a verified key is trusted.")
    cache_entries: int = Field(default=4096, ge=0, description="Feature/prediction cache entries (0 = off).")
    outcomes_cache_seconds: float = Field(default=30.0, ge=0, description="How long a series' resolved outcomes "
                                          "(the win-rate factor) are reused before they are read again.")
    volatility_bars: int = Field(default=400, gt=0, description="Bars read before the forecast origin.")
    signal_bars: int = Field(default=600, gt=0, description="Bars read up to the signal bar.")
    window_cache_bars: int = Field(default=1500, ge=0, description="Newest bars of each series kept in memory, "
                                   "re-read only when the series changes (store.windows.CachedWindows; 0 = off).")
    context_cache_windows: int = Field(default=64, ge=0, description="Bar windows whose bar-derived signal "
                                       "features are kept (shared by every strategy and side on a window).")
    window_cache_series: int = Field(default=256, gt=0, description="Series the bar-window cache keeps at most.")
    warm_series: int = Field(default=16, ge=0, description="Most recently written series whose newest-bar answers "
                             "each worker computes at start and when new bars arrive (serving.warm; 0 = off).")
    warm_seconds: float = Field(default=1.0, gt=0, description="How often the answer warm-up looks for new bars.")
    warm_min_gap_seconds: float = Field(default=10.0, ge=0, description="Fewest seconds between two warm-ups of one "
                                        "series (a feed rewriting it faster is warmed at this pace).")
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, gt=0,
                                description="Largest request body of a POST under /ml (413 above; "
                                            "serving.request_guard).")
    max_requests_per_connection: int = Field(
        default=DEFAULT_MAX_REQUESTS_PER_CONNECTION, ge=0,
        description="Requests a keep-alive connection serves before its answer says 'Connection: close', so the "
                    "worker processes share the connections (serving.keepalive; 0 = never).")
    tune_max_open_per_user: int = Field(default=2, ge=0, description="Tuning jobs a non-admin key may have "
                                                                     "pending or running (0 = no limit).")
    tune_max_jobs_per_day: int = Field(default=20, ge=0, description="Tuning jobs a non-admin key may start "
                                                                    "in 24 hours (0 = no limit).")
    tune_max_open_total: int = Field(default=4, ge=0, description="Tuning jobs pending or running on the "
                                                                  "service, all keys (0 = no limit).")
    durable_writes: bool = Field(default=False, description="fsync every prediction row (see store.db.relax_durability).")
    volatility_flow: str = Field(default="flows.volatility:volatility_pipeline",
                                 description="module:function of the volatility training flow.")
    signal_flow: str = Field(default="flows.signal_quality:signal_quality_pipeline",
                             description="module:function of the signal-quality training flow.")
    volatility_deployment: str = Field(default="volatility-pipeline/volatility-pipeline",
                                       description="Prefect deployment 'flow/deployment' tried first.")
    signal_deployment: str = Field(default="signal-quality-pipeline/signal-quality-pipeline",
                                   description="Prefect deployment 'flow/deployment' tried first.")
    use_prefect_deployments: bool = Field(default=True,
                                          description="Try the deployment when PREFECT_API_URL points at a server.")


def get_serving_settings(**overrides: object) -> ServingSettings:
    """Serving settings from the environment, with optional explicit overrides."""
    return ServingSettings(**overrides)
