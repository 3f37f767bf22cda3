"""Logins of the local MLflow server: approvers sign in, and the champion webhook reaches the service.

The stack's MLflow server runs ``--app-name abtpro-auth`` (:mod:`registry.auth_app`: MLflow's basic-auth app
plus the record of who moved an alias). :func:`server_env` prepares what that app reads, all kept under
``<data_dir>/mlflow-auth/`` and created once: the auth config (its user database next to it), the ``admin``
password (``ABTPRO_MLFLOW_ADMIN_PASSWORD`` or a random one in ``admin.password``), the Flask session secret and
the key MLflow encrypts webhook secrets with (so a restart can still read them). :func:`ensure_approver`
creates an approver account (``EDIT`` + ``MANAGE`` on the registered models: set and remove aliases; nothing
else beyond the default ``READ``) and :func:`ensure_webhook` registers the alias webhook to the service.

Flows and the service write to the MLflow store directly (no login): the pipeline's own gated promotions
are in the audit log as ``promote``; the webhook reports the promotions people make through the server.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from abtpro.settings import Settings, local_secret

ADMIN = "admin"
APPROVER = "approver"
APP_NAME = "abtpro-auth"


def auth_dir(settings: Settings) -> Path:
    return settings.resolved_data_dir() / "mlflow-auth"


def _password_file(path: Path) -> str:
    """A password kept in ``path`` (created once: 24 random URL-safe characters, mode 0600)."""
    return local_secret(path, 18, printable=True).decode().strip()


def admin_password(settings: Settings) -> str:
    return settings.mlflow_admin_password or _password_file(auth_dir(settings) / "admin.password")


def server_env(settings: Settings) -> dict[str, str]:
    """The environment of ``mlflow server --app-name abtpro-auth`` for this install (files created once)."""
    folder = auth_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "basic_auth.ini"
    config.write_text("[mlflow]\ndefault_permission = READ\n"
                      f"database_uri = sqlite:///{folder / 'users.db'}\nadmin_username = {ADMIN}\n"
                      "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
    fernet = base64.urlsafe_b64encode(local_secret(folder / "webhook-encryption.key")[:32]).decode()
    return {"MLFLOW_AUTH_CONFIG_PATH": str(config), "MLFLOW_AUTH_ADMIN_PASSWORD": admin_password(settings),
            "MLFLOW_FLASK_SERVER_SECRET_KEY": local_secret(folder / "flask-secret.key").hex(),
            "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": fernet,
            # the service is on loopback and plain HTTP in the local stack; MLflow refuses both by default
            "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https", "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
            "MLFLOW_WEBHOOK_CACHE_TTL": "2"}  # a webhook registered after start is seen within 2 s


class _Login:
    """MLflow's client credentials (``MLFLOW_TRACKING_USERNAME`` / ``_PASSWORD``) for a ``with`` block."""

    def __init__(self, username: str, password: str):
        self.values = {"MLFLOW_TRACKING_USERNAME": username, "MLFLOW_TRACKING_PASSWORD": password}
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        self.saved = {k: os.environ.get(k) for k in self.values}
        os.environ.update(self.values)

    def __exit__(self, *exc: object) -> None:
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def login(username: str, password: str) -> _Login:
    """``with login(user, password):`` MLflow clients of this process sign in as ``user``."""
    return _Login(username, password)


def ensure_approver(settings: Settings, server_url: str, models: list[str], username: str = APPROVER,
                    password: str | None = None) -> str:
    """Create (once) the approver account ``username`` on the server at ``server_url`` with ``MANAGE`` on each
    registered model of ``models`` that exists; returns its password (kept in ``<username>.password``)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from mlflow.server import get_app_client

    password = password or _password_file(auth_dir(settings) / f"{username}.password")
    with login(ADMIN, admin_password(settings)):
        auth: Any = get_app_client(APP_NAME, tracking_uri=server_url)
        try:
            auth.get_user(username)
        except MlflowException:
            auth.create_user(username, password)
        registry = MlflowClient(tracking_uri=server_url, registry_uri=server_url)
        for name in models:
            try:
                registry.get_registered_model(name)
            except MlflowException:
                continue  # not registered yet: run this again after the first training
            try:
                auth.grant_user_permission(username, "registered_model", name, "MANAGE")  # MLflow >= 3.17
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                auth.revoke_user_permission(username, "registered_model", name)  # whatever it was: MANAGE now
                auth.grant_user_permission(username, "registered_model", name, "MANAGE")
    return password


def ensure_webhook(settings: Settings, server_url: str, service_url: str) -> Any:
    """Register (or update) the champion webhook of the server at ``server_url`` to the service."""
    from mlflow import MlflowClient

    from registry.approvals import ensure_webhook as register

    with login(ADMIN, admin_password(settings)):
        client = MlflowClient(tracking_uri=server_url, registry_uri=server_url)
        return register(client, f"{service_url.rstrip('/')}/ml/models/webhook", settings.webhook_secret())
