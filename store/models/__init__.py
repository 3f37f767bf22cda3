"""SQLAlchemy 2.0 typed ORM models of the app database.

Timestamps are stored as naive UTC datetimes on every backend.

Modules: :mod:`store.models.base` (:func:`utcnow`, the declarative :class:`Base`),
:mod:`store.models.accounts` (API users, the audit log), :mod:`store.models.market` (bars, their series
revisions, quarantined rows, the ingestion ledger and watermarks), :mod:`store.models.predictions` (scored
signals and their outcomes, volatility forecasts), :mod:`store.models.lifecycle` (training runs, strategy
optimisations, monitoring passes, retrain triggers, reload announcements).

Importing the package (or any of its modules) imports every module, so ``Base.metadata`` holds every table
(Alembic's ``target_metadata``) and the relationship between :class:`User` and :class:`MLSignalScore` (two
modules, named by class) resolves whichever model is imported first.
"""

from store.models.accounts import AuditLog, User
from store.models.base import Base, utcnow
from store.models.lifecycle import (
    MLModelTraining,
    ModelMonitoring,
    ModelReload,
    RetrainTrigger,
    StrategyOptimization,
)
from store.models.market import BarSeries, IngestedFile, IngestWatermark, MarketBar, QuarantinedRow
from store.models.predictions import MLSignalOutcome, MLSignalScore, VolatilityPrediction

__all__ = [
    "AuditLog",
    "BarSeries",
    "Base",
    "IngestWatermark",
    "IngestedFile",
    "MLModelTraining",
    "MLSignalOutcome",
    "MLSignalScore",
    "MarketBar",
    "ModelMonitoring",
    "ModelReload",
    "QuarantinedRow",
    "RetrainTrigger",
    "StrategyOptimization",
    "User",
    "VolatilityPrediction",
    "utcnow",
]
