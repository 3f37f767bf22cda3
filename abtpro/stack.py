"""The local background stack of ``abtpro up`` and ``abtpro run``, and the Prefect API a CLI command reports to.

The servers (Prefect server, flow runner, MLflow UI, BentoML service) run as processes whose state lives in
``<data_dir>/run`` (:mod:`abtpro.supervisor`). A CLI command that runs a flow reports to, in this order: an explicit
``PREFECT_API_URL``; the Prefect server of that state when its process is alive and it answers; otherwise a
temporary server Prefect starts for the command, with a startup timeout a loaded 2-core machine survives.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from abtpro import supervisor
from abtpro.settings import Settings

#: Stop order of ``abtpro down`` (the reverse of the start order).
SERVERS = ("bentoml", "flow-runner", "mlflow", "prefect")
#: Seconds Prefect waits for its temporary server (Prefect's default, 20 s, is too short on a busy machine).
EPHEMERAL_STARTUP_TIMEOUT = 300
EPHEMERAL_TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def run_dir(settings: Settings) -> Path:
    """Where the servers' pid files and logs are."""
    return settings.resolved_data_dir() / "run"


def local_prefect_url(run_directory: Path) -> str | None:
    """The URL of the Prefect server ``abtpro up``/``run`` started, when its process is alive and it answers."""
    state = supervisor.running("prefect", run_directory)
    if state is None or not supervisor.healthy(state["health_url"], timeout=10.0):
        return None
    return state["url"]


def select_prefect_api(settings: Settings, start_local: bool = False) -> str:
    """Point this process's flow runs at a Prefect API and return the one line that says which: an explicit
    ``PREFECT_API_URL``; the running local server; with ``start_local``, a local server started now (what
    ``abtpro up``/``run`` do); otherwise a temporary server Prefect starts for this command."""
    explicit = os.environ.get("PREFECT_API_URL")
    if explicit:
        line = f"Prefect: using the server at {explicit.removesuffix('/').removesuffix('/api')} (PREFECT_API_URL)"
    elif url := local_prefect_url(run_dir(settings)):
        os.environ["PREFECT_API_URL"] = f"{url}/api"
        line = f"Prefect: using the server at {url}"
    elif start_local:
        prefect = supervisor.prefect_server(settings.resolved_data_dir(), settings.prefect_port)
        supervisor.start(prefect, run_dir(settings))
        os.environ["PREFECT_API_URL"] = f"{prefect.url}/api"
        line = f"Prefect: using the server at {prefect.url} (started in the background)"
    else:
        os.environ.setdefault(EPHEMERAL_TIMEOUT_ENV, str(EPHEMERAL_STARTUP_TIMEOUT))
        line = "Prefect: temporary server (no `abtpro up` running)"
    if "prefect.context" in sys.modules:  # Prefect read its settings at import: make it read them again
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()
    return line


def start_servers(settings: Settings, service: bool = True) -> dict[str, str]:
    """After :func:`select_prefect_api` (``start_local=True``): start (or keep, when its process runs) the flow
    runner on that Prefect server, the MLflow UI (for a local MLflow store) and, with ``service``, the BentoML
    service, over the state in the data dir. Returns what to open, by label."""
    data_dir, runs = settings.resolved_data_dir(), run_dir(settings)
    prefect_url = os.environ["PREFECT_API_URL"].removesuffix("/").removesuffix("/api")
    supervisor.start(supervisor.flow_runner(prefect_url, data_dir), runs)
    urls = {"Prefect UI (flow runs, artifacts, deployments)": prefect_url}
    if settings.mlflow_tracking_uri is None:
        import registry

        registry.configure(settings)
        from mlflow.tracking import MlflowClient

        MlflowClient().search_experiments()  # creates the store's tables before the UI opens it
        from abtpro import mlflow_auth

        mlflow_ui = supervisor.mlflow_server(settings.tracking_uri, settings.artifact_root, settings.mlflow_port,
                                             auth_env=mlflow_auth.server_env(settings))
        supervisor.start(mlflow_ui, runs)
        urls["MLflow UI (runs, plots, registry aliases)"] = f"{mlflow_ui.url}/#/models"
        urls["MLflow logins (admin; approver: sets champion)"] = f"passwords in {mlflow_auth.auth_dir(settings)}"
    if service:
        url = start_service(settings)
        urls["BentoML service (Swagger UI, OpenAPI at /docs.json)"] = f"{url}/"
        urls["Prometheus metrics"] = f"{url}/metrics"
    return urls


def start_service(settings: Settings) -> str:
    """Start (or keep) the BentoML service over the app database and MLflow store in force, reporting events to
    the Prefect API in force (``PREFECT_API_URL`` or the running local server); returns its URL."""
    data_dir = settings.resolved_data_dir()
    server = supervisor.bentoml_server(settings.service_port)
    env = {"ABTPRO_DATA_DIR": str(data_dir), "DATABASE_URL": settings.db_url,
           "ABTPRO_MLFLOW_TRACKING_URI": settings.tracking_uri}
    prefect_api = os.environ.get("PREFECT_API_URL") or (f"{url}/api" if (url := local_prefect_url(run_dir(settings)))
                                                        else None)
    if prefect_api:  # the service emits abtpro.bars.arrived for pushed bars (POST /ml/bars)
        env["PREFECT_API_URL"] = prefect_api
    supervisor.start(supervisor.Server(server.name, server.command, server.health_url, server.url, env=env),
                     run_dir(settings), timeout=180)
    connect_approvals(settings, server.url)
    return server.url


def connect_approvals(settings: Settings, service_url: str) -> str | None:
    """When the local MLflow UI runs (with its login): register its champion webhook to the service and the
    ``approver`` account (MANAGE on the registered models); returns the MLflow URL, None when it does not run."""
    import registry
    from abtpro import mlflow_auth

    state = supervisor.running("mlflow", run_dir(settings))
    if state is None or settings.mlflow_tracking_uri is not None or mlflow_auth.APP_NAME not in state["command"]:
        return None
    try:
        mlflow_auth.ensure_webhook(settings, state["url"], service_url)
        mlflow_auth.ensure_approver(settings, state["url"], [registry.VOLATILITY_MODEL,
                                                             registry.SIGNAL_QUALITY_MODEL])
    except Exception as exc:  # noqa: BLE001 - the service runs without it (alias polling); say why
        logging.getLogger("abtpro").warning("MLflow approvals not connected (webhook/approver account): %s", exc)
        return None
    return state["url"]


def stop_servers(settings: Settings) -> list[str]:
    """Stop every server of the stack whose process runs; returns their names."""
    return [name for name in SERVERS if supervisor.stop(name, run_dir(settings))]
