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
