"""Approvals with identity on real servers: ``mlflow server --app-name abtpro-auth`` (logins) delivers its
alias webhook to a real ``bentoml serve``; an approver setting ``champion`` produces one audit row naming that
account, and the service answers with the new version within 2 s (its alias poll is off: only the webhook can
have swapped it)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from typer.testing import CliRunner

from abtpro import mlflow_auth, supervisor
from abtpro.cli import app
from abtpro.settings import Settings
from registry import approvals
from tests.serving import support

ROOT = Path(__file__).resolve().parents[2]
MODEL = "abtpro-volatility"
pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, db_url: str):
    root = tmp_path_factory.mktemp("approvals")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    versions = support.register_all(uri, root / "artifacts")
    settings = Settings(data_dir=root / "data", mlflow_webhook_secret="it-webhook-secret")
    mlflow_srv = supervisor.mlflow_server(uri, (root / "artifacts").as_uri(), supervisor.free_port(),
                                          auth_env=mlflow_auth.server_env(settings))
    procs = [supervisor.start(mlflow_srv, root / "run", timeout=180)]
    try:
        service = supervisor.bentoml_server(supervisor.free_port())
        # one worker: the webhook reaches one process, the others of a multi-worker service swap at their next
        # alias poll, which is off here so that only the webhook can have swapped it
        env = {**support.service_env(uri), "DATABASE_URL": db_url, "ABTPRO_MLFLOW_WEBHOOK_SECRET": "it-webhook-secret",
               "PYTHONPATH": str(ROOT), "ABTPRO_SERVING_WORKERS": "1"}
        procs.append(supervisor.start(supervisor.Server(service.name, service.command, service.health_url,
                                                        service.url, env=env), root / "run", timeout=180, cwd=ROOT))
        yield {"mlflow": mlflow_srv.url, "service": service.url, "settings": settings, "versions": versions,
               "log": root / "run"}
    finally:
        for proc in reversed(procs):
            if proc is not None:
                supervisor.stop_process(proc)


def _serving(base: str) -> str:
    models = httpx.get(f"{base}/ml/models/list", headers={"X-API-Key": support.KEYS["alice"]}, timeout=10).json()
    return {m["name"]: (m["serving"] or {}).get("version") for m in models["models"]}[MODEL]


def test_an_approvers_champion_is_audited_by_name_and_served_within_2_s(servers, clean_db):
    support.populate_store(clean_db)
    url, base, settings = servers["mlflow"], servers["service"], servers["settings"]
    old, new = servers["versions"]["volatility_har_gk_log"], servers["versions"]["volatility_xgb"]
    assert httpx.get(f"{url}/api/2.0/mlflow/registered-models/get", params={"name": MODEL}).status_code == 401
    env = {"ABTPRO_DATA_DIR": str(settings.data_dir), "ABTPRO_MLFLOW_TRACKING_URI": url,
           "ABTPRO_MLFLOW_WEBHOOK_SECRET": settings.mlflow_webhook_secret}
    for _ in range(2):  # `abtpro approvals`, twice: the second run changes nothing
        out = CliRunner().invoke(app, ["approvals", "--service-url", base, "--approver", "carol"], env=env)
        assert out.exit_code == 0, out.output
    password = (mlflow_auth.auth_dir(settings) / "carol.password").read_text()
    with mlflow_auth.login(mlflow_auth.ADMIN, mlflow_auth.admin_password(settings)):
        hooks = [h for h in MlflowClient(tracking_uri=url, registry_uri=url).list_webhooks()
                 if h.name == approvals.WEBHOOK_NAME]
    assert [h.url for h in hooks] == [f"{base}/ml/models/webhook"]
    assert _serving(base) == old

    # a user without MANAGE on the model is refused by MLflow: no change, no webhook, no audit row
    with mlflow_auth.login(mlflow_auth.ADMIN, mlflow_auth.admin_password(settings)):
        from mlflow.server import get_app_client

        get_app_client(mlflow_auth.APP_NAME, tracking_uri=url).create_user("mallory", "mallory-pass-123456")
    with mlflow_auth.login("mallory", "mallory-pass-123456"), pytest.raises(MlflowException):
        MlflowClient(tracking_uri=url, registry_uri=url).set_registered_model_alias(MODEL, "champion", new)

    with mlflow_auth.login("carol", password):
        started = time.monotonic()
        MlflowClient(tracking_uri=url, registry_uri=url).set_registered_model_alias(MODEL, "champion", new)
    while _serving(base) != new and time.monotonic() - started < 10:
        time.sleep(0.05)
    took = time.monotonic() - started
    assert _serving(base) == new, f"still serving {_serving(base)} after {took:.1f} s"
    assert took <= 2.0, f"the new champion was served after {took:.2f} s"

    deadline = time.monotonic() + 5
    while True:
        audit = httpx.get(f"{base}/ml/audit", params={"action": "alias.*"},
                          headers={"X-API-Key": support.KEYS["admin"]}, timeout=10).json()
        if audit["total"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert audit["total"] == 1, audit
    row = audit["items"][0]
    assert row["actor"] == "carol" and row["action"] == "alias.created" and row["target"] == f"{MODEL}@champion"
    assert row["details"]["version"] == new and row["details"]["previous"] == old
    assert row["details"]["served_after"] == new
    with mlflow_auth.login("carol", password):  # the registry itself shows who approved it
        model = MlflowClient(tracking_uri=url, registry_uri=url).get_registered_model(MODEL)
    record = model.tags[approvals.alias_tag("champion")]
    assert '"by": "carol"' in record and f'"version": "{new}"' in record
