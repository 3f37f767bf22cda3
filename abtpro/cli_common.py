"""What every ``abtpro`` command shares: the console, the error exit, and the Prefect set-up before a flow runs
(quiet logs, the kept Prefect fixes, the Prefect API in force)."""

from __future__ import annotations

import os

import typer
from rich.console import Console

from abtpro.settings import get_settings

console = Console()


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _quiet_prefect() -> None:
    """Keep flow logs out of the CLI's tables (they stay visible in the Prefect UI); install the kept Prefect
    fixes (:mod:`flows.patches`) for the flows the command runs."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    _prefect_fixes()


def _prefect_fixes() -> None:
    from flows import patches

    patches.install()


def _use_prefect(start_local: bool = False) -> None:
    """Before any flow runs: choose the Prefect API (explicit, running local server, or temporary) and say which."""
    from abtpro import stack

    console.print(stack.select_prefect_api(get_settings(), start_local=start_local), highlight=False)
