"""Concurrent runs logging the same dataset input (the tuning fan-out) all succeed and all record it."""

from __future__ import annotations

import threading

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from registry.tracking import log_training_data


def test_runs_logging_the_same_dataset_at_once_all_record_it(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.create_experiment("inputs", artifact_location=(tmp_path / "art").as_uri())
    frame = pd.DataFrame({"close": np.arange(2000.0)}, index=pd.date_range("2020-01-01", periods=2000, name="ts"))
    runs = [client.create_run(experiment).info.run_id for _ in range(6)]
    start, errors = threading.Barrier(len(runs)), []

    def log(run_id: str) -> None:
        try:
            start.wait()
            # the experiment explicitly: an earlier test may have left another one active (process-global)
            with mlflow.start_run(run_id=run_id, experiment_id=experiment):
                log_training_data({"GOOG": frame}, context="tuning")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        threads = [threading.Thread(target=log, args=(r,)) for r in runs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        mlflow.set_tracking_uri(previous)
    assert errors == []
    for run_id in runs:
        inputs = client.get_run(run_id).inputs.dataset_inputs
        assert [i.dataset.name for i in inputs] == ["GOOG"]
