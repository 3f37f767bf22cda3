import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

import registry


@pytest.fixture(autouse=True)
def _restore_mlflow_uris():
    import mlflow

    tracking, registry_uri = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    yield
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry_uri)


def test_alias_version_is_none_only_for_a_missing_model_or_alias(tmp_path, monkeypatch):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'registry.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    assert registry.alias_version("nope", "champion") is None
    MlflowClient().create_registered_model("m")
    assert registry.alias_version("m", "champion") is None


def test_an_unreachable_registry_is_not_mistaken_for_no_champion(monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    mlflow.set_tracking_uri("http://127.0.0.1:9")
    mlflow.set_registry_uri("http://127.0.0.1:9")
    with pytest.raises(MlflowException):
        registry.alias_version("m", "champion")


def _local_store(tmp_path):
    from abtpro.settings import Settings

    return Settings(data_dir=tmp_path)


def test_log_run_logs_params_finite_metrics_steps_tags_inputs_and_files(tmp_path):
    import mlflow
    import pandas as pd

    settings = _local_store(tmp_path)
    bars = {"GOOG": pd.DataFrame({"close": [1.0, 2.0]}, index=pd.date_range("2020-01-01", periods=2, name="ts"))}
    run_id, model_uri = registry.log_run(
        settings, "exp", "run-1", params={"a": 1}, metrics={"good": 0.5, "nan": float("nan"), "inf": float("inf")},
        tags={"task": "t"}, bars=bars, steps={0: {"w": 1.0}, 1: {"w": 2.0}},
        files=lambda: {"evaluation/table.csv": "x,y\n", "reference/r.parquet": pd.DataFrame(
            {"f": [1.0, 2.0]}).to_parquet()})
    assert model_uri is None
    run = mlflow.get_run(run_id)
    assert run.data.params == {"a": "1"} and run.data.metrics == {"good": 0.5, "w": 2.0}
    assert run.data.tags["task"] == "t" and run.data.tags["code_version"] == registry.code_version()
    assert [i.dataset.name for i in run.inputs.dataset_inputs] == ["GOOG"]
    history = MlflowClient().get_metric_history(run_id, "w")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 2.0)]
    assert registry.run_params(run_id) == {"a": "1"} and registry.run_params(None) == {}
    assert registry.load_run_parquet(run_id, "reference/r.parquet")["f"].tolist() == [1.0, 2.0]
    assert registry.load_run_parquet(run_id, "reference/missing.parquet") is None


class Echo:
    """The smallest estimator ``registry.log_model`` accepts."""

    def predict_frame(self, frame):
        return frame


def test_monitoring_pass_reuses_the_versions_run_and_annotations_append(tmp_path):
    import mlflow
    import pandas as pd

    settings = _local_store(tmp_path)
    registry.ensure_experiment(settings, "train")
    with mlflow.start_run():
        mlflow.log_metric("qlike_mean", 0.4)
        info = registry.log_model(Echo(), pd.DataFrame({"x": [1.0]}))
    version = registry.register(info.model_uri, "m", tags={"model": "ewma"}, description="first")
    registry.set_alias("m", registry.CHAMPION, version.version)
    context = registry.champion_context("m")
    assert context["version"] == "1" and context["validation"] == {"qlike_mean": 0.4} and context["data_ranges"] == {}
    first = registry.log_monitoring_pass(settings, "mon", "m", "1", 0, {"live_qlike": 0.5}, "ok")
    second = registry.log_monitoring_pass(settings, "mon", "m", "1", 1, {"live_qlike": 0.6}, "retrain")
    assert first == second
    assert [m.value for m in MlflowClient().get_metric_history(first, "live_qlike")] == [0.5, 0.6]
    assert registry.version_tags("m", 1)["last_monitoring"].endswith(" retrain")
    registry.annotate_version("m", "1", {"retrain_decision": "kept"}, "Retrain: kept")
    assert registry.version_tags("m", "1")["retrain_decision"] == "kept"
    assert MlflowClient().get_model_version("m", "1").description == "first\nRetrain: kept"
