import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import registry
from flows.volatility import volatility_pipeline
from store.db import get_engine
from store.models import AuditLog, MLModelTraining

FAST = {"symbols": ["GOOG"], "candidates": ["garch_t", "har_gk_log"], "refit_every": 126}


@pytest.fixture(scope="module")
def trained(goog_store):
    """A first pipeline run on GOOG into a fresh MLflow store."""
    return volatility_pipeline(**FAST)


def test_first_model_becomes_champion_and_predicts(trained, db_url):
    assert trained.promoted and trained.version == "1"
    loaded = registry.load_alias(registry.VOLATILITY_MODEL, registry.CHAMPION)
    assert loaded.version == "1"
    from store.bars import read_bars

    bars = read_bars(db_url, "GOOG", "1d", last=300)
    frame = loaded.model.for_symbol("GOOG").predict_frame(bars)
    last = frame.iloc[-1]
    assert 0 < last["lower"] < last["forecast"] < last["upper"] < 0.2
    with Session(get_engine(db_url)) as session:
        row = session.execute(select(MLModelTraining)).scalars().one()
    assert row.status == "COMPLETED" and row.model_version == "1" and row.completed_at is not None
    assert "qlike_GOOG" in row.performance


def test_model_version_has_lineage(trained):
    version = registry.alias_version(registry.VOLATILITY_MODEL, registry.CHAMPION)
    import mlflow

    run = mlflow.get_run(version.run_id)
    assert run.data.tags["data_digest"] == version.tags["data_digest"]
    assert "code_version" in run.data.tags and "data_ranges" in run.data.tags
    assert [i.dataset.name for i in run.inputs.dataset_inputs] == ["GOOG"]
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "evaluation")}
    assert "evaluation/walk_forward_results.csv" in artifacts
    assert "evaluation/forecast_vs_realised_GOOG.png" in artifacts


def test_worse_candidate_is_registered_but_not_promoted(trained, db_url):
    worse = volatility_pipeline(**FAST, model="ewma")
    assert worse.version == "2" and not worse.promoted
    assert "not better" in worse.reason or "gates failed" in worse.reason
    assert str(registry.alias_version(registry.VOLATILITY_MODEL, registry.CHAMPION).version) == "1"
    assert str(registry.alias_version(registry.VOLATILITY_MODEL, registry.CHALLENGER).version) == "2"
    version = registry.alias_version(registry.VOLATILITY_MODEL, registry.CHALLENGER)
    assert version.tags["compared_with"] == "1" and version.tags["promotion"] == worse.reason
    with get_engine(db_url).connect() as conn:
        actions = conn.execute(select(AuditLog.action, AuditLog.target)).all()
    assert ("train", "abtpro-volatility/2") in actions and ("promote", "abtpro-volatility/2") not in actions


def test_the_champion_is_scored_from_the_candidates_walk_forward_not_computed_twice(trained, monkeypatch):
    """New data (another digest): the champion's recipe is scored on it. When the candidate's walk-forward evaluated
    the champion's model with the champion's settings (every retrain with the champion's recipe does), that number
    is the one a re-evaluation gives, without its cost (the second walk-forward took ~60-70 s of a retrain)."""
    import dataclasses

    from flows.steps import volatility as steps
    from flows.volatility import train_volatility

    champion = registry.load_alias(registry.VOLATILITY_MODEL, registry.CHAMPION)
    outcome = dataclasses.replace(train_volatility(**FAST), data_digest="new bars arrived")
    assert set(outcome.evaluated) == {"garch_t", "har_gk_log"} and outcome.protocol == (5, 126, 0.4, ("GOOG",))
    recomputed = steps.champion_score(champion, dataclasses.replace(outcome, evaluated={}), ["GOOG"], "1d")
    monkeypatch.setattr(steps.walk_forward, "fn", lambda *a, **k: pytest.fail("the champion was evaluated twice"))
    assert steps.champion_score(champion, outcome, ["GOOG"], "1d") == pytest.approx(recomputed, rel=1e-6)
    with pytest.raises(pytest.fail.Exception):  # other settings or other series: evaluated again
        steps.champion_score(champion, dataclasses.replace(outcome, protocol=(5, 21, 0.4, ("GOOG",))), ["GOOG"], "1d")


def test_failed_training_is_recorded(trained, db_url):
    with pytest.raises(Exception):
        volatility_pipeline(symbols=["NOPE"], candidates=["har_gk_log"])
    with Session(get_engine(db_url)) as session:
        failed = session.execute(select(MLModelTraining).where(MLModelTraining.status == "FAILED")).scalars().all()
    assert len(failed) == 1 and "NOPE" in failed[0].error
    assert pd.Timestamp(failed[0].completed_at) >= pd.Timestamp(failed[0].started_at)


def test_unchanged_data_is_not_retrained_without_force(trained):
    again = volatility_pipeline(**FAST, force=False)
    assert not again.promoted and again.reason.startswith("up to date")
    assert again.version == str(registry.alias_version(registry.VOLATILITY_MODEL, registry.CHAMPION).version)


@pytest.mark.slow
def test_fan_out_on_a_local_dask_cluster_gives_the_same_model(trained, monkeypatch):
    """The per-series fan-out runs on prefect-dask's DaskTaskRunner (2 worker processes) unchanged."""
    monkeypatch.setenv("ABTPRO_TASK_RUNNER", "dask")
    monkeypatch.setenv("ABTPRO_DASK_WORKERS", "2")
    on_dask = volatility_pipeline(**FAST)
    assert not on_dask.promoted  # same data and settings: not better than the champion by the margin
    assert on_dask.comparison["candidate_qlike"] == pytest.approx(on_dask.comparison["champion_qlike"], rel=1e-5)  # optimiser round-off across processes


def test_when_no_candidate_passes_the_coverage_gate_the_best_evaluated_one_is_trained(goog_store, monkeypatch):
    """The choice never falls back to a model that was not evaluated; the gate then blocks promotion."""
    import flows.volatility as fv

    monkeypatch.setattr(fv, "COVERAGE_BAND", (0.999, 1.0))
    outcome = fv.train_volatility(symbols=["GOOG"], candidates=["garch_t", "har_gk_log"], refit_every=126)
    assert outcome.model_name in {"garch_t", "har_gk_log"}
