"""``abtpro users``: create API users (the key is printed once; only its SHA-256 hash is stored)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from abtpro.settings import get_settings

users_app = typer.Typer(help="API users of the serving endpoints.", no_args_is_help=True)
console = Console()


@users_app.callback()
def _users() -> None:
    """API users of the serving endpoints (keys are sent as header X-API-Key)."""


@users_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Unique user name.")],
    admin: Annotated[bool, typer.Option("--admin", help="May train models and reload champions.")] = False,
    role: Annotated[str | None, typer.Option("--role", help="user, feeder (may push bars: POST /ml/bars) or admin.")]
    = None,
) -> None:
    """Create user NAME and print its API key (shown once; send it as header X-API-Key)."""
    from store.users import UserExistsError, create_user

    try:
        user, key = create_user(get_settings().db_url, name, is_admin=admin, role=role)
    except (UserExistsError, ValueError) as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    console.print(f"created {user.role} [bold]{user.name}[/] (id {user.id}); API key (store it now, it is not shown again):")
    typer.echo(key)
