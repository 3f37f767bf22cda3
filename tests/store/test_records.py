from sqlalchemy import select
from sqlalchemy.orm import Session

from store import records
from store.db import get_engine
from store.models import AuditLog, MLModelTraining


def test_training_lifecycle_with_non_finite_metrics(clean_db):
    """NaN/inf metrics (e.g. a ratio to a baseline that was not evaluated) are stored as null on every backend."""
    training_id = records.start_training(clean_db, "VOLATILITY", {"horizon": 5, "x": float("nan")}, {"symbols": ["A"]})
    records.finish_training(clean_db, training_id, status="COMPLETED", model_version="3",
                            performance={"qlike": 0.5, "ratio": float("nan"), "nested": [float("inf"), 1.0]})
    with Session(get_engine(clean_db)) as session:
        row = session.get(MLModelTraining, training_id)
    assert row.status == "COMPLETED" and row.model_version == "3" and row.completed_at is not None
    assert row.performance == {"qlike": 0.5, "ratio": None, "nested": [None, 1.0]}
    assert row.hyperparameters == {"horizon": 5, "x": None}


def test_audit_rows(clean_db):
    records.audit(clean_db, "alice", "promote", "abtpro-volatility/2", {"reason": "manual"})
    with Session(get_engine(clean_db)) as session:
        row = session.execute(select(AuditLog)).scalars().one()
    assert (row.actor, row.action, row.target, row.details) == ("alice", "promote", "abtpro-volatility/2",
                                                               {"reason": "manual"})
