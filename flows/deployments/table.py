"""The table of every deployment of the pipeline (:data:`DEPLOYMENTS`) and the monitoring chain among them."""

from __future__ import annotations

from flows.deployments.spec import Deployment
from flows.deployments.triggers import (
    ARRIVAL_TRIGGER,
    COALESCE,
    DRIFT_TRIGGER,
    MONITOR_PARAMETERS,
    TUNE_CONCURRENCY,
)
from flows.loop import DEPLOYMENT as LOOP
from flows.retrain import DEPLOYMENT as RETRAIN

DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment(LOOP, "flows.loop:monitoring_loop",
               "The monitoring loop, on abtpro.bars.arrived: resolve the outcomes of the arrived series "
               "(backfill-outcomes), then monitor every champion (monitor-models), in one run; monitoring fires "
               "abtpro.model.drift, which starts retrain-model.",
               ("abtpro", "monitoring"), "45 22 * * 1-5", {"monitor": MONITOR_PARAMETERS}, concurrency_limit=COALESCE,
               triggers=(ARRIVAL_TRIGGER,)),
    Deployment("backfill-outcomes", "flows.backfill:backfill_outcomes",
               "Resolve volatility forecasts (realised vol over their horizon) and scored signals (triple-barrier "
               "outcome) from the stored bars (a run by hand; monitoring-loop runs it on every arrival).",
               ("abtpro", "monitoring"), concurrency_limit=COALESCE),
    Deployment("monitor-models", "flows.monitor:monitor_models",
               "Live accuracy vs validation metrics and feature drift of every champion (in bars of data time); "
               "fires abtpro.model.drift (a run by hand; monitoring-loop runs it on every arrival).",
               ("abtpro", "monitoring"), parameters=MONITOR_PARAMETERS, concurrency_limit=COALESCE),
    Deployment(RETRAIN, "flows.retrain:retrain_model",
               "Retrain a model on the latest data, compare it with the deployed champion, register it as challenger "
               "and promote it only if it wins.", ("abtpro", "retrain"), concurrency_limit=1, triggers=(DRIFT_TRIGGER,)),
    Deployment("ingest", "flows.ingest:ingest",
               "Daily ingestion of the configured sources (folder drops, SQL tables; only new data, by file ledger "
               "and watermark) after the close: idempotent upsert, invalid rows quarantined.",
               ("abtpro", "data"), "0 22 * * 1-5", {"source": "configured"}),
    Deployment("validate", "flows.validate:validate",
               "Great Expectations checkpoint over the stored bars; rebuilds Data Docs.", ("abtpro", "data"),
               "30 22 * * 1-5"),
    Deployment("volatility-pipeline", "flows.volatility:volatility_pipeline",
               "Monthly retrain, walk-forward evaluation and champion/challenger registration of the volatility "
               "predictor.", ("abtpro", "training"), "0 3 1 * *", concurrency_limit=1),
    Deployment("signal-quality-pipeline", "flows.signal_quality:signal_quality_pipeline",
               "Monthly retrain, purged walk-forward evaluation and champion/challenger registration of the "
               "signal-quality scorer.", ("abtpro", "training"), "0 4 1 * *", concurrency_limit=1),
    Deployment("tuning-pipeline", "flows.tune:tuning_pipeline",
               "Weekly walk-forward re-tuning of every strategy on every daily series (continuous learning).",
               ("abtpro", "tuning"), "0 5 * * 6", {"method": "optuna", "budget": 30}),
    Deployment("tune-strategy", "flows.tune:tune_strategy",
               "Tune one strategy on one series (started by POST /ml/tune/start); at most two at once, the rest "
               "wait in the queue.", ("abtpro", "tuning"), concurrency_limit=TUNE_CONCURRENCY),
)
MONITORING_CHAIN = (LOOP, "backfill-outcomes", "monitor-models", RETRAIN)
