"""``abtpro db``: the database migrations (Alembic) up, down and the current revision."""

from __future__ import annotations

import typer

from abtpro import cli_tables
from abtpro.cli_common import console
from abtpro.settings import get_settings

db_app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database (DATABASE_URL) up to REVISION."""
    from store import migrate

    url = get_settings().db_url
    migrate.upgrade(url, revision)
    console.print(f"database at revision [bold]{migrate.current(url)}[/] ({cli_tables.redact(url)})")


@db_app.command("downgrade")
def db_downgrade(revision: str = "base") -> None:
    """Migrate the database down to REVISION (default: base, i.e. drop every table)."""
    from store import migrate

    url = get_settings().db_url
    migrate.downgrade(url, revision)
    console.print(f"database at revision [bold]{migrate.current(url)}[/]")


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision."""
    from store import migrate

    console.print(migrate.current(get_settings().db_url) or "unversioned")
