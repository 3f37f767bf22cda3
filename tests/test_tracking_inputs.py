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
    n, rounds = 8, tuple(f"S{k}" for k in range(12))  # a race per round: one that loses shows in any
    start, errors, runs = threading.Barrier(n), [], []

    def log() -> None:
        try:
            # a new run in the experiment named explicitly (resuming a run by id would clash with whatever
            # experiment an earlier test left active); MLflow's active-run stack is per thread
            with mlflow.start_run(experiment_id=experiment) as run:
                runs.append(run.info.run_id)
                for name in rounds:  # all threads log the same new dataset at once, once a round
                    start.wait()
                    log_training_data({name: frame}, context="tuning")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
            start.abort()

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        threads = [threading.Thread(target=log) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        mlflow.set_tracking_uri(previous)
    assert [e for e in errors if not isinstance(e, threading.BrokenBarrierError)] == [] and len(runs) == n
    for run_id in runs:
        inputs = client.get_run(run_id).inputs.dataset_inputs
        assert sorted(i.dataset.name for i in inputs) == sorted(rounds)
