"""The ``lockbox-scorecard`` flow: scored once per code version into MLflow (table, summary, figures) and a Prefect
artifact; a second call reuses the run."""

from __future__ import annotations

import os

import pytest
from mlflow import MlflowClient

pytestmark = [pytest.mark.slow, pytest.mark.db_free]  # bundled samples and MLflow only: no app database


@pytest.fixture
def mlflow_store(tmp_path, prefect_harness):
    os.environ["ABTPRO_MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
    yield os.environ["ABTPRO_MLFLOW_TRACKING_URI"]
    os.environ.pop("ABTPRO_MLFLOW_TRACKING_URI", None)


def test_scored_once_per_code_version_with_its_table_figures_and_summary(mlflow_store):
    from abtpro.cli_scorecard import stored_summary
    from abtpro.settings import get_settings
    from flows.scorecard import EXPERIMENT, lockbox_scorecard

    first = lockbox_scorecard(quick=True)
    assert not first.reused and first.run_id
    assert set(first.table.columns) == {"metric", "target", "measured", "met"}
    assert first.table["metric"].str.startswith("signal pooled AUC").any()
    assert "targets met on the lockbox" in first.summary and first.code_version in first.summary
    client = MlflowClient(mlflow_store)
    run = client.get_run(first.run_id)
    assert run.data.tags["summary"] == first.summary and run.data.tags["quick"] == "true"
    assert run.data.tags["code_version"] == first.code_version and run.data.metrics
    files = {a.path for a in client.list_artifacts(first.run_id)}
    assert {"scorecard.md", "signal_calibration.png", "signal_lift.png", "volatility_GOOG.png",
            "drawdown_GOOG.png", "drawdown_walk_forward_GOOG.png", "drawdown_walk_forward_de_risk_GOOG.png"} <= files
    again = lockbox_scorecard(quick=True)
    assert again.reused and again.run_id == first.run_id and again.summary == first.summary
    assert list(again.table["metric"]) == list(first.table["metric"])
    assert len(client.search_runs([client.get_experiment_by_name(EXPERIMENT).experiment_id])) == 1
    # `abtpro run` prints the full scorecard's line, which this quick one is not
    assert stored_summary(get_settings()).startswith("Lockbox scorecard: not computed")
