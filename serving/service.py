"""The ``/ml`` API as one BentoML 1.4 service (``bentoml serve serving.service:MLService``).

* The routes come in groups (:mod:`serving.routes`: volatility, signals, models, tuning). POST endpoints
  are ``@bentoml.api`` methods of each group's mixin whose whole JSON body is one pydantic model
  (positional-only parameter = root input); GET endpoints with path/query parameters are each group's
  FastAPI router, mounted at ``/ml`` (the service instance comes from ``bentoml.get_current_service``).
* :class:`serving.auth.ApiKeyMiddleware` authenticates everything under ``/ml`` (401/403) and turns
  request-validation errors into 422 naming the field; docs, ``/metrics``, ``/livez``, ``/readyz``
  stay open.
* The champion of each registered model is loaded at start and swapped atomically when the alias
  moves (background poll every ``ABTPRO_SERVING_POLL_SECONDS`` and ``POST /ml/models/reload``).
* Every answer names the model version used; every score/forecast is stored with its features.
"""

from __future__ import annotations

import gc

import bentoml
import pandas as pd

import registry
from abtpro.settings import apply_offline_env, get_settings
from data_contracts.bars import RAW_COLUMNS, split_valid_invalid
from serving import db_errors, keepalive, request_guard, request_timeout, route_metrics
from serving.auth import ApiKeyMiddleware, KeyCache
from serving.config import get_serving_settings, service_access_log, service_threads, service_workers
from serving.http import make_get_app
from serving.inference import LRUCache, OutcomeHistory
from serving.jobs import JobSpec, TrainingJobs
from serving.models import ChampionPoller, ChampionSlot
from serving.openapi import DocumentedService
from serving.routes import approvals, audit, bars, models, outcomes, risk, signals, tuning, volatility
from serving.schemas import SignalRequest, VolatilityRequest
from serving.tuning import TuneJobs
from serving.warm import AnswerWarmer
from store import db, reloads
from store.windows import CachedWindows, series_revisions

apply_offline_env()
request_timeout.install()  # BentoML 1.4 keeps every request's timeout timer alive: cancel it (tail latency)

GET_ROUTERS = (signals.router, volatility.router, models.router, tuning.router, audit.router, approvals.router)
api_app = make_get_app(*GET_ROUTERS)


@bentoml.service(
    name="abtpro_ml",
    service_class=DocumentedService,  # /docs.json: title, version, the X-API-Key scheme (serving.openapi)
    workers=service_workers(),  # one per core (serving.config.DEFAULT_WORKERS)
    threads=service_threads(),
    traffic={"timeout": 120},
    logging={"access": {"enabled": service_access_log()}},  # off by default: every answer is a stored row
    # explicit latency buckets (1 ms .. 10 s) so p50/p99 can be read from /metrics at SLO resolution
    metrics={"enabled": True, "namespace": "abtpro",
             "duration": {"buckets": [0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
                                      0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]}},
)
@bentoml.asgi_app(api_app, path="/ml")
class MLService(volatility.VolatilityRoutes, signals.SignalRoutes, models.ModelRoutes, tuning.TuneRoutes,
                bars.BarRoutes, risk.RiskRoutes, outcomes.OutcomeRoutes):
    """ABTPro ML serving: signal quality, volatility, model management and tuning under ``/ml``."""

    def __init__(self) -> None:
        self.settings = get_settings()
        self.serving = get_serving_settings()
        self.db_url = self.settings.db_url
        if not self.serving.durable_writes:
            db.relax_durability(self.db_url)
        db.background_checkpoints(self.db_url)
        registry.configure(self.settings)
        self.volatility = ChampionSlot(registry.VOLATILITY_MODEL, "volatility")
        self.signal = ChampionSlot(registry.SIGNAL_QUALITY_MODEL, "signal_quality")
        self.slots = {"volatility": self.volatility, "signal_quality": self.signal}
        for slot in self.slots.values():
            slot.refresh()
        self.poller = ChampionPoller(  # the alias poll, and within a second what another worker reloaded
            self.slots.values(), self.serving.poll_seconds, hints=lambda: reloads.revisions(self.db_url),
            announce=lambda name, version: reloads.announce(self.db_url, name, version),
            hint_interval=self.serving.reload_check_seconds)
        self.poller.start()
        # pandera registers its validation backends (importing its hypothesis strategies) on the first
        # validate: do it now, not inside the first POST /ml/bars's worker thread, where it cost that
        # request the import and raced a job thread's imports (seen as a 500 under the schema fuzz test)
        split_valid_invalid(pd.DataFrame(columns=RAW_COLUMNS))
        # Everything loaded so far (libraries, models) lives as long as the process: move it out of
        # the cyclic GC's reach so a full collection does not stall requests while walking it.
        gc.collect()
        gc.freeze()
        self.keys = KeyCache(self.db_url, self.serving.auth_cache_seconds)
        self.cache = LRUCache(self.serving.cache_entries)
        self.contexts = LRUCache(self.serving.context_cache_windows)  # ~150 KB each: a small LRU of its own
        self.windows = CachedWindows(self.db_url, self.serving.window_cache_bars, self.serving.window_cache_series)
        self.outcome_history = OutcomeHistory(self.db_url, self.serving.outcomes_cache_seconds)
        self.jobs = TrainingJobs(self.db_url, {
            "VOLATILITY": JobSpec(self.serving.volatility_flow, self.serving.volatility_deployment),
            "SIGNAL_QUALITY": JobSpec(self.serving.signal_flow, self.serving.signal_deployment),
        }, use_deployments=self.serving.use_prefect_deployments)
        self.tune_jobs = TuneJobs(self.db_url, use_deployments=self.serving.use_prefect_deployments)
        self.warmer = AnswerWarmer(lambda: series_revisions(self.db_url, self.serving.warm_series), self.warm_series,
                                   lambda: tuple(slot.current and slot.current.version for slot in self.slots.values()),
                                   self.serving.warm_seconds, self.serving.warm_min_gap_seconds)
        if self.serving.warm_series:
            self.warmer.start()

    def warm_series(self, symbol: str, timeframe: str) -> None:
        """Compute (cache, not store) the default answers of the series' newest bar: the volatility forecast and
        every built-in strategy on both sides (:mod:`serving.warm`). Both are tried; the first failure is raised."""
        from ml.strategies import STRATEGIES

        failures = []
        for run in (lambda: self._volatility_answers([VolatilityRequest(symbol=symbol, timeframe=timeframe)]),
                    lambda: self._signal_answers([SignalRequest(symbol=symbol, timeframe=timeframe, strategy=name,
                                                                side=side)
                                                  for name in sorted(STRATEGIES) for side in ("BUY", "SELL")])):
            try:
                run()
            except Exception as exc:  # noqa: BLE001 - reported to the warmer (retried at the next change)
                failures.append(exc)
        if failures:
            raise failures[0]

    @bentoml.on_shutdown
    def _stop(self) -> None:
        self.poller.stop()
        self.warmer.stop()

    def __is_ready__(self) -> bool:
        """Ready once the app started; missing champions answer 503 per endpoint, with the reason."""
        return True

# /metrics series per route template, not per raw path (a random path costs no new series)
route_metrics.install(route_metrics.RouteLabels([
    *route_metrics.BENTOML_ROUTES, *(api.route for api in MLService.apis.values()),
    *("/ml" + route.path for router in GET_ROUTERS for route in router.routes)]))
request_guard.install_log_filter()  # a 4xx is logged in one line (request_guard), not with BentoML's traceback

# The first added is the outermost.
MLService.add_asgi_middleware(keepalive.ConnectionRecycleMiddleware)  # spreads keep-alive clients over workers
MLService.add_asgi_middleware(request_guard.ClientErrorLogMiddleware)  # sees every answer, 401s included
MLService.add_asgi_middleware(db_errors.DatabaseUnavailableMiddleware)  # API-key lookups too
MLService.add_asgi_middleware(ApiKeyMiddleware, resolver=lambda: bentoml.get_current_service().keys)
MLService.add_asgi_middleware(request_guard.RequestGuardMiddleware)  # 415 / 413 before BentoML parses the body
