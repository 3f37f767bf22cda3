"""signal-quality-pipeline run for real (Prefect test server, own MLflow store) on GOOG with small settings."""

import json

import mlflow
import pandas as pd
import pytest
from sqlalchemy import select

import registry
from flows.signal_quality import signal_quality_pipeline
from store.db import get_engine
from store.models import AuditLog, MLModelTraining

FAST = {"symbols": ["GOOG"], "n_splits": 3, "n_estimators": 60}


@pytest.fixture(scope="module")
def trained(goog_store):
    """A first pipeline run on GOOG into a fresh MLflow store."""
    return signal_quality_pipeline(**FAST)


def test_first_model_becomes_champion_and_scores_a_new_signal(trained, db_url):
    assert trained.promoted and trained.version == "1", trained.reason
    loaded = registry.load_alias(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION)
    assert loaded.version == "1"
    bundle = loaded.model
    from store.bars import read_bars

    bars = read_bars(db_url, "GOOG", "1d")
    from ml.inference import score

    signal = bundle.signals(bars, "sma_crossover").iloc[-1]
    (out,) = score(bundle, {"GOOG": bars}, pd.DataFrame([{"symbol": "GOOG", "strategy": "sma_crossover",
                                                         "side": int(signal["side"]), "ts": signal.name,
                                                         "strength": float(signal["strength"])}]))
    assert 0.0 <= out.score <= 1.0 and 0.5 <= out.confidence <= 1.0
    assert out.prediction in ("BUY", "SELL", "HOLD") and out.threshold == bundle.threshold
    assert out.features["strategy_sma_crossover"] == 1.0 and out.features["hist_n"] > 0
    assert set(bundle.history["symbol"]) == {"GOOG"} and set(bundle.strategy_params) == {
        "rsi_mean_reversion", "sma_crossover", "donchian_breakout"}
    with get_engine(db_url).connect() as conn:
        row = conn.execute(select(MLModelTraining)).one()
    assert row.model_type == "SIGNAL_QUALITY" and row.status == "COMPLETED" and row.model_version == "1"
    assert row.completed_at is not None and {"auc", "ece", "kept_frac", "auc_GOOG", "take_all_auc"} <= set(
        row.performance)


def test_run_has_metrics_plots_lineage_and_pyfunc(trained, db_url):
    version = registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION)
    run = mlflow.get_run(version.run_id)
    assert run.data.tags["data_digest"] == version.tags["data_digest"]
    assert run.data.tags["settings"] == version.tags["settings"]
    assert "code_version" in run.data.tags and "model_settings" in run.data.tags
    assert [i.dataset.name for i in run.inputs.dataset_inputs] == ["GOOG"]
    m = run.data.metrics
    assert 0 <= m["ece"] <= 0.1 and 0.3 <= m["kept_frac"] <= 1 and "logistic_auc" in m and "win_ratio" in m
    assert "sharpe_kept" in m and "mdd_all" in m and "precision" in m and "f1" in m
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "evaluation")}
    for name in ("calibration.png", "roc.png", "threshold_sweep.png", "feature_importance.png",
                 "threshold_sweep.csv", "oos_summary.csv"):
        assert f"evaluation/{name}" in artifacts
    sweep = pd.read_csv(mlflow.artifacts.download_artifacts(run_id=run.info.run_id,
                                                            artifact_path="evaluation/threshold_sweep.csv"))
    assert sweep["threshold"].round(2).tolist() == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]
    pyfunc = mlflow.pyfunc.load_model(f"models:/{registry.SIGNAL_QUALITY_MODEL}/1")
    example = pyfunc.input_example
    out = pyfunc.predict(example)
    assert list(out.columns) == ["score", "confidence", "prediction"] and len(out) == len(example)


def test_worse_candidate_is_registered_but_not_promoted(trained, db_url):
    grids = {"sma_crossover": [{"fast": 5, "slow": 20}], "rsi_mean_reversion": [{"period": 3, "lower": 20.0,
                                                                                   "upper": 80.0}]}
    worse = signal_quality_pipeline(**{**FAST, "n_splits": 4}, model="take_all", param_grids=grids,
                                    strategies=list(grids))
    assert worse.version == "2" and not worse.promoted
    assert "gates failed" in worse.reason and "auc lift over take-all" in worse.reason
    champion_run = mlflow.get_run(registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION).run_id)
    # the champion was re-evaluated under the candidate's 4 folds, not read from its 3-fold run
    assert worse.comparison["champion_auc"] is not None
    assert worse.comparison["champion_auc"] != pytest.approx(champion_run.data.metrics["auc"])
    assert str(registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION).version) == "1"
    version = registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHALLENGER)
    assert str(version.version) == "2" and version.tags["compared_with"] == "1"
    assert json.loads(version.tags["settings"])["model"]["param_grids"] == grids  # ints stay ints
    with get_engine(db_url).connect() as conn:
        actions = conn.execute(select(AuditLog.action, AuditLog.target)).all()
    assert ("train", "abtpro-signal-quality/2") in actions
    assert ("promote", "abtpro-signal-quality/2") not in actions


def test_identical_retrain_reuses_the_champions_score_and_is_not_promoted(trained):
    again = signal_quality_pipeline(**FAST)  # same data, settings and protocol: same seeded AUC
    assert not again.promoted and "not better than champion" in again.reason
    assert again.comparison["candidate_auc"] == pytest.approx(again.comparison["champion_auc"])
    champion = registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION)
    assert str(champion.version) == "1" and again.champion_version == "1"


def test_failed_training_is_recorded(trained, db_url):
    with pytest.raises(ValueError, match="unknown strategies"):
        signal_quality_pipeline(**FAST, strategies=["nope_strategy"])
    with get_engine(db_url).connect() as conn:
        failed = conn.execute(select(MLModelTraining).where(MLModelTraining.status == "FAILED")).all()
    assert len(failed) == 1 and "nope_strategy" in failed[0].error and failed[0].model_type == "SIGNAL_QUALITY"
    assert pd.Timestamp(failed[0].completed_at) >= pd.Timestamp(failed[0].started_at)


def _training_rows(url: str) -> int:
    with get_engine(url).connect() as conn:
        return len(conn.execute(select(MLModelTraining)).all())


def test_unchanged_data_is_not_retrained_without_force(trained, db_url):
    before = _training_rows(db_url)
    again = signal_quality_pipeline(**FAST, force=False)
    assert not again.promoted and again.reason.startswith("up to date")
    assert again.version == str(registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION).version)
    assert _training_rows(db_url) == before  # nothing trained, no training row
