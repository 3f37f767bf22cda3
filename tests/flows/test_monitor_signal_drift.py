"""Feature drift of the signal-quality champion: the training run logs its fitted feature rows as the drift
reference; ``monitor-models`` compares the inputs stored with recent scored signals against it.

The world: the scorer trained small on GOOG (fresh MLflow store), then 250 scored signals whose stored
features are either drawn from the reference (stable) or have their volatility context scaled by 2.
"""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

import registry

FAST = {"symbols": ["GOOG"], "n_splits": 3, "n_estimators": 60}
NAME = registry.SIGNAL_QUALITY_MODEL
N_LIVE = 250
#: The scorer's volatility context: scaled together in the shifted world.
VOL_CONTEXT = ["vol", "vol_pct", "vol_ratio", "f_log_ret", "f_rv_cc_1", "f_rv_pk_1", "f_rv_gk_1", "f_rv_rs_1"]


def reset_live(url: str) -> None:
    """Delete scored signals, their outcomes, monitoring rows, triggers and users (not bars, not MLflow)."""
    from store.db import get_engine
    from store.models import MLSignalOutcome, MLSignalScore, ModelMonitoring, RetrainTrigger, User

    with get_engine(url).begin() as conn:
        for model in (MLSignalOutcome, RetrainTrigger, ModelMonitoring, MLSignalScore, User):
            conn.execute(model.__table__.delete())


def write_scores(url: str, version: str, features: pd.DataFrame) -> None:
    """Store one scored signal per feature row, as the service stores them (features JSON, no outcome)."""
    from store.db import get_engine
    from store.models import MLSignalScore, User

    ts = pd.bdate_range("2024-01-02", periods=len(features))
    with get_engine(url).begin() as conn:
        uid = conn.execute(User.__table__.insert().returning(User.id),
                           {"name": "drift-test", "api_key_hash": "d" * 64, "is_admin": False,
                            "created_at": ts[0].to_pydatetime()}).scalar_one()
        conn.execute(MLSignalScore.__table__.insert(), [
            {"user_id": uid, "symbol": "GOOG", "timeframe": "1d", "strategy": "sma_crossover", "side": "BUY",
             "signal_ts": t.to_pydatetime(), "score": 0.6, "confidence": 0.6,
             "features": {k: None if pd.isna(v) else float(v) for k, v in row.items()}, "prediction": "BUY",
             "model_name": NAME, "model_version": version, "created_at": t.to_pydatetime()}
            for t, (_, row) in zip(ts, features.iterrows())])


@pytest.fixture(scope="module")
def trained(goog_store):
    """The scorer trained on GOOG and promoted; its version and the reference logged by its run."""
    from flows.signal_quality import REFERENCE_ARTIFACT, signal_quality_pipeline

    outcome = signal_quality_pipeline(**FAST)
    assert outcome.promoted and outcome.version == "1", outcome.reason
    run_id = registry.alias_version(NAME, registry.CHAMPION).run_id
    reference = pd.read_parquet(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=REFERENCE_ARTIFACT))
    return {"url": goog_store, "version": outcome.version, "run_id": run_id, "reference": reference}


def live_sample(reference: pd.DataFrame, seed: int, scale: float = 1.0) -> pd.DataFrame:
    rows = reference.sample(N_LIVE, random_state=seed).reset_index(drop=True)
    rows[VOL_CONTEXT] = rows[VOL_CONTEXT] * scale
    return rows


def test_training_run_logs_the_fitted_feature_rows(trained):
    from flows.monitor import SIGNAL_DRIFT_FEATURES
    from registry import load_alias

    reference = trained["reference"]
    bundle = load_alias(NAME, registry.CHAMPION).model
    assert list(reference.columns) == list(bundle.feature_columns)  # only the model's feature columns
    assert N_LIVE < len(reference) <= 5_000 and (reference.dtypes == "float64").all()
    assert set(SIGNAL_DRIFT_FEATURES) <= set(reference.columns) and set(VOL_CONTEXT) <= set(reference.columns)
    assert reference[SIGNAL_DRIFT_FEATURES].notna().sum().min() >= 100


def test_stable_inputs_do_not_drift(trained):
    from flows.monitor import SIGNAL_DRIFT_FEATURES, monitor_models
    from store import monitoring as store

    url = trained["url"]
    reset_live(url)
    write_scores(url, trained["version"], live_sample(trained["reference"], seed=1))
    (outcome,) = monitor_models(models=[NAME], dispatch="record")
    assert outcome.decision == "ok" and outcome.trigger_id is None, outcome.reasons
    assert outcome.drift_share is not None and outcome.drift_share < 0.5
    assert any(r.startswith("no feature drift") for r in outcome.reasons)
    (row,) = store.monitoring_history(url, NAME)
    assert set(row["drift"]["features"]) == set(SIGNAL_DRIFT_FEATURES) and row["drift"]["drifted"] is False
    assert row["n_predictions"] == N_LIVE and "available" not in row["drift"]
    assert "drift_share" in mlflow.get_run(row["mlflow_run_id"]).data.metrics
    assert store.trigger_history(url, NAME) == []


def test_shifted_volatility_context_drifts_fires_and_cools_down(trained):
    from flows.monitor import monitor_models
    from store import monitoring as store

    url = trained["url"]
    reset_live(url)
    write_scores(url, trained["version"], live_sample(trained["reference"], seed=2, scale=2.0))
    (outcome,) = monitor_models(models=[NAME], dispatch="record", cooldown_bars=20, every_bars=0)
    assert outcome.decision == "retrain" and outcome.drift_share >= 0.5, outcome.reasons
    (reason,) = [r for r in outcome.reasons if r.startswith("feature drift")]
    assert "vol_ratio" in reason and "vol_pct" in reason
    assert outcome.trigger_status == "fired" and outcome.trigger_mode == "record"
    row = store.monitoring_history(url, NAME)[0]
    assert row["decision"] == "retrain" and {"vol_ratio", "vol_pct"} <= set(row["drift"]["drifted_features"])
    (trigger,) = store.trigger_history(url, NAME)
    assert trigger["reasons"] == outcome.reasons and trigger["monitoring_id"] == outcome.monitoring_id
    metrics = mlflow.MlflowClient().get_metric_history(row["mlflow_run_id"], "drift_share")
    assert metrics[-1].value == pytest.approx(outcome.drift_share)

    # a second pass inside the cooldown records the trigger as suppressed
    (again,) = monitor_models(models=[NAME], dispatch="record", cooldown_bars=20, every_bars=0)
    assert again.decision == "retrain" and again.trigger_status == "suppressed"
    assert any("in cooldown" in r for r in store.trigger_history(url, NAME)[0]["reasons"])

    # the signal_drift_features param narrows the compared inputs
    (narrow,) = monitor_models(models=[NAME], dispatch="none", every_bars=0,
                                 signal_drift_features=["volume_z", "volume_rel"])
    assert narrow.decision == "ok" and narrow.drift_share == 0.0
    assert set(store.monitoring_history(url, NAME)[0]["drift"]["features"]) == {"volume_z", "volume_rel"}


def test_champion_without_reference_records_drift_not_available(trained):
    import mlflow.sklearn
    from sklearn.dummy import DummyClassifier

    from abtpro.settings import get_settings
    from flows.monitor import monitor_models
    from store import monitoring as store

    url = trained["url"]
    reset_live(url)
    registry.ensure_experiment(get_settings(), "signal-drift-no-reference")
    with mlflow.start_run():
        mlflow.log_metrics({"auc": 0.70, "brier": 0.20})
        info = mlflow.sklearn.log_model(DummyClassifier().fit([[0], [1]], [0, 1]), name="model")
    version = str(registry.register(info.model_uri, NAME, tags={}, description="old scorer").version)
    registry.set_alias(NAME, registry.CHAMPION, version)
    try:
        write_scores(url, version, live_sample(trained["reference"], seed=3, scale=2.0))
        (outcome,) = monitor_models(models=[NAME], dispatch="record")
        assert outcome.version == version and outcome.drift_share is None and outcome.trigger_id is None
        assert any(r.startswith("feature drift not available") for r in outcome.reasons)
        row = store.monitoring_history(url, NAME)[0]
        assert row["drift"]["available"] is False and "reference/signal_features.parquet" in row["drift"]["note"]
        assert "drift_share" not in mlflow.get_run(row["mlflow_run_id"]).data.metrics
    finally:
        registry.set_alias(NAME, registry.CHAMPION, trained["version"])
