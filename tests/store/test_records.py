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


def test_requested_training_is_a_row_and_an_audit_row(clean_db):
    job_id = records.request_training(clean_db, "VOLATILITY", {"symbols": ["SYN"], "horizon": 5}, "admin")
    row = records.get_training(clean_db, job_id)
    assert (row.model_type, row.status, row.training_data, row.hyperparameters) == (
        "VOLATILITY", "TRAINING", {"symbols": ["SYN"], "horizon": 5}, {})
    with Session(get_engine(clean_db)) as session:
        logged = session.execute(select(AuditLog)).scalars().one()
    assert (logged.actor, logged.action, logged.target) == ("admin", "model.train.requested", f"job:{job_id}")
    assert logged.details == {"model_type": "VOLATILITY", "params": {"symbols": ["SYN"], "horizon": 5}}
    assert records.get_training(clean_db, job_id + 1000) is None


def test_finish_unless_finished_keeps_what_the_flow_wrote(clean_db):
    done = records.request_training(clean_db, "VOLATILITY", {}, "admin")
    records.finish_training(clean_db, done, status="COMPLETED", model_version="7")
    assert not records.finish_training(clean_db, done, status="FAILED", error="late", unless_finished=True)
    assert (records.get_training(clean_db, done).status, records.get_training(clean_db, done).error) == (
        "COMPLETED", None)
    running = records.request_training(clean_db, "VOLATILITY", {}, "admin")
    assert records.finish_training(clean_db, running, status="FAILED", error="boom", unless_finished=True)
    row = records.get_training(clean_db, running)
    assert (row.status, row.error) == ("FAILED", "boom") and row.completed_at is not None


def test_recent_trainings_newest_first_per_model_type(clean_db):
    ids = [records.request_training(clean_db, kind, {}, "admin")
           for kind in ("VOLATILITY", "SIGNAL_QUALITY", "VOLATILITY", "VOLATILITY")]
    assert [r.id for r in records.recent_trainings(clean_db, "VOLATILITY", 2)] == [ids[3], ids[2]]
    assert [r.id for r in records.recent_trainings(clean_db)] == ids[::-1]
    assert [r.model_type for r in records.recent_trainings(clean_db, "SIGNAL_QUALITY")] == ["SIGNAL_QUALITY"]
