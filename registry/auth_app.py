"""The MLflow server app of the stack: ``mlflow server --app-name abtpro-auth``.

It is MLflow's own ``basic-auth`` app (:func:`mlflow.server.auth.create_app`: logins, users, per-model
permissions) plus one ``before_request`` hook, registered after the login check so it only sees authenticated,
authorised requests. When a request sets or deletes a registered-model alias, the hook records the change on
the registered model as the tag :func:`registry.approvals.alias_tag` (who, the version, the version it
replaces, when) *before* MLflow applies it, so by the time MLflow delivers its alias webhook the approver is
in the registry for the service to read (:mod:`registry.approvals`). It changes no MLflow code: it uses the
Flask app and the public client, entry point ``mlflow.app`` in ``pyproject.toml``.

The hook writes through a client on the server's own backend store (the URI ``mlflow server`` hands its
workers in ``mlflow.server.constants.BACKEND_STORE_URI_ENV_VAR`` / ``REGISTRY_STORE_URI_ENV_VAR``), so it
needs no credentials. A failure to record is logged and the change goes on: the audit row then names no
approver rather than an outage blocking approvals.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from registry.approvals import alias_tag, change_record

logger = logging.getLogger("abtpro.mlflow_auth")

ALIAS_PATH = "/mlflow/registered-models/alias"  # under /api/2.0 (REST clients) and /ajax-api/2.0 (the UI)
_client: Any = None


def create_app() -> Any:
    """The app ``mlflow server --app-name abtpro-auth`` serves (a factory, as MLflow's ``basic-auth``)."""
    from mlflow.server import app
    from mlflow.server.auth import create_app as basic_auth

    served = basic_auth(app)
    app.before_request(_record_alias_change)  # after basic-auth's own hook: only authorised requests get here
    return served


def _store_client() -> Any:
    global _client
    if _client is None:
        from mlflow import MlflowClient
        from mlflow.server.constants import BACKEND_STORE_URI_ENV_VAR, REGISTRY_STORE_URI_ENV_VAR

        uri = os.environ.get(REGISTRY_STORE_URI_ENV_VAR) or os.environ[BACKEND_STORE_URI_ENV_VAR]
        _client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return _client


def _record_alias_change() -> None:
    from flask import request

    if request.method not in ("POST", "DELETE") or not request.path.endswith(ALIAS_PATH):
        return
    params = {**request.args.to_dict(), **(request.get_json(silent=True) or {})}
    name, alias = params.get("name"), params.get("alias")
    if not name or not alias:
        return  # MLflow answers the malformed request itself
    user = request.authorization.username if request.authorization else None
    try:
        record(_store_client(), str(name), str(alias), "created" if request.method == "POST" else "deleted",
               params.get("version"), user)
    except Exception:  # an approval must not fail because its record could not be written
        logger.exception("could not record who changed alias %s of %s", alias, name)


def record(client: Any, name: str, alias: str, action: str, version: Any, user: str | None) -> None:
    """Write the :func:`registry.approvals.change_record` of one alias change on the registered model."""
    from mlflow.exceptions import MlflowException

    try:
        previous: str | None = str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:  # the alias does not exist yet (or the model does not: MLflow says so)
        previous = None
    target = previous if action == "deleted" else (None if version is None else str(version))
    client.set_registered_model_tag(name, alias_tag(alias), change_record(user, action, target, previous))
