"""``abtpro scorecard``: the seed's success metrics on the lockbox (flow ``lockbox-scorecard``), and the one line
``abtpro run`` prints about it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from abtpro.settings import Settings

console = Console()
HINT = "Lockbox scorecard: not computed for this code version yet: .venv/bin/abtpro scorecard (~3 min)"


def scorecard_table(frame) -> Table:
    table = Table(title="Lockbox scorecard (the last 20% of each series; no selection saw it)")
    for column in ("metric", "target", "measured", "met"):
        table.add_column(column)
    for row in frame.itertuples(index=False):
        met = {"True": "[green]yes[/]", "False": "[red]no[/]"}.get(str(row.met), "")
        table.add_row(str(row.metric), str(row.target), str(row.measured), met)
    return table


def stored_summary(settings: Settings) -> str:
    """The one-line summary of this code version's scorecard, or how to compute it."""
    import registry
    from flows.scorecard import EXPERIMENT

    try:
        run = registry.latest_run(settings, EXPERIMENT, {"quick": "false", "code_version": registry.code_version()})
    except Exception:  # noqa: BLE001 - a missing experiment or store: nothing computed yet
        run = None
    if run is None:
        return HINT
    return f"Lockbox scorecard: {run.data.tags.get('summary', '')} (MLflow run {run.info.run_id})"


def register(app: typer.Typer) -> None:
    @app.command()
    def scorecard(
        quick: Annotated[bool, typer.Option(help="GOOG and one strategy only: a smoke run, not the scorecard")] = False,
        force: Annotated[bool, typer.Option(help="compute again even if this code version has one")] = False,
    ) -> None:
        """The seed's success metrics on the lockbox, once per code version (MLflow experiment abtpro-scorecard)."""
        from flows.scorecard import lockbox_scorecard

        with console.status("selecting on the data before each lockbox, then scoring the lockbox once ..."):
            result = lockbox_scorecard(quick=quick, force=force)
        if result.table is not None:
            console.print(scorecard_table(result.table))
        console.print(("Reused: " if result.reused else "") + result.summary, highlight=False)
        console.print(f"MLflow run {result.run_id} (experiment abtpro-scorecard: scorecard.md and the figures)")
