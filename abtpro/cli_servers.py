"""``abtpro up`` and ``abtpro down``: start the background servers over the existing state, and stop them."""

from __future__ import annotations

from typing import Annotated

import typer

from abtpro import cli_tables
from abtpro.cli_common import _fail, _use_prefect, console
from abtpro.settings import get_settings


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(down)


def up(
    serve: Annotated[bool, typer.Option(help="start the BentoML service too")] = True,
) -> None:
    """Start the background servers over the existing state, retraining nothing.

    The Prefect server, the flow runner (every deployment, schedules and triggers), the MLflow UI (local MLflow
    store) and the BentoML service; each one whose process already runs is kept. ``abtpro down`` stops them.
    """
    from abtpro import stack

    settings = get_settings()
    _use_prefect(start_local=True)
    try:
        urls = stack.start_servers(settings, service=serve)
    except RuntimeError as err:
        _fail(f"{err}\n(no models yet? `abtpro run` trains them; `abtpro up --no-serve` starts the rest)")
    cli_tables.where_to_look(console, urls)


def down() -> None:
    """Stop the background servers started by ``abtpro up`` or ``abtpro run``."""
    from abtpro import stack

    for name in stack.stop_servers(get_settings()):
        console.print(f"stopped {name}")
