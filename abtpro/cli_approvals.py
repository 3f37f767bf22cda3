"""``abtpro approvals``: connect the MLflow server's logins to the service (the champion webhook) and create
approver accounts (:mod:`abtpro.mlflow_auth`). ``abtpro run``/``up`` do it for the local stack; a production
stack runs it once against its MLflow server (``ABTPRO_MLFLOW_TRACKING_URI``, admin login
``ABTPRO_MLFLOW_ADMIN_PASSWORD``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from abtpro.settings import get_settings

console = Console()


def register(app: typer.Typer) -> None:
    app.command("approvals")(approvals)


def approvals(
    service_url: Annotated[str | None, typer.Option(help="The service the webhook calls "
                                                         "(default: http://127.0.0.1:<ABTPRO_SERVICE_PORT>).")] = None,
    approver: Annotated[list[str] | None, typer.Option(help="Approver account to create (repeatable; its "
                                                            "password is kept in <data_dir>/mlflow-auth/).")] = None,
) -> None:
    """Register the champion webhook (MLflow -> POST /ml/models/webhook) and approver accounts with MANAGE on
    the registered models, on the MLflow server in force."""
    import registry
    from abtpro import mlflow_auth, stack, supervisor

    settings = get_settings()
    uri = settings.mlflow_tracking_uri
    state = supervisor.running("mlflow", stack.run_dir(settings))
    server = uri if uri and uri.startswith("http") else (state or {}).get("url")
    if not server:
        console.print("[bold red]error:[/] no MLflow server: start the local one (`abtpro up`) or set "
                      "ABTPRO_MLFLOW_TRACKING_URI to a server's URL")
        raise typer.Exit(2)
    service = service_url or f"http://127.0.0.1:{settings.service_port}"
    hook = mlflow_auth.ensure_webhook(settings, server, service)
    table = Table(title=f"MLflow approvals on {server}")
    table.add_column("what")
    table.add_column("value")
    table.add_row("webhook", f"{hook.name} -> {hook.url} ({', '.join(str(e) for e in hook.events)})")
    for name in approver or [mlflow_auth.APPROVER]:
        mlflow_auth.ensure_approver(settings, server, [registry.VOLATILITY_MODEL, registry.SIGNAL_QUALITY_MODEL],
                                    username=name)
        table.add_row(f"approver {name}", f"password in {mlflow_auth.auth_dir(settings) / (name + '.password')}")
    console.print(table)
