"""``abtpro replay``: the market replay of the held-back year through the running service and the live loop."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from abtpro.settings import Settings, get_settings

console = Console()


def replay_table(result) -> Table:
    """The replay's closing table."""
    from flows.steps.replay_report import summary_rows

    table = Table(title="Market replay: held-back real history through the live loop", show_header=False)
    table.add_column("what")
    table.add_column("result")
    for what, value in summary_rows(result):
        table.add_row(what, value)
    return table


def run_replay(settings: Settings, service_url: str, loop: str = "triggers", max_steps: int | None = None,
               faulty: bool = False, pace_bars: int | None = None):
    """Run the ``market-replay`` flow against ``service_url`` with a progress bar; returns its result.

    ``pace_bars``: wait for the loop every this many steps (default: the flow's, ``flows.replay.PACE_BARS``)."""
    from abtpro.keys import local_key
    from flows.replay import market_replay
    from ml.replay import FeedFaults

    feeder_key, _ = local_key(settings, "replay-feed", role="feeder")
    app_key, app_user = local_key(settings, "replay-app", role="user")
    faults = FeedFaults(duplicate_every=23, late_every=31, corrupt_every=41) if faulty else None
    logging.getLogger("prefect.flow_runs").setLevel(logging.WARNING)
    columns = (TextColumn("replaying held-back bars"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("replay", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return market_replay(service_url=service_url, feeder_key=feeder_key, app_key=app_key,
                             app_user_id=app_user.id, loop=loop, max_steps=max_steps, faults=faults,
                             progress=advance, **({} if pace_bars is None else {"pace_bars": pace_bars}))


def replay(
    steps: Annotated[int | None, typer.Option(help="replay only the first this many bars of each series")] = None,
    faulty: Annotated[bool, typer.Option(help="a faulty feed: duplicates, late and corrupt bars")] = False,
    pace: Annotated[int | None, typer.Option(
        help="let the loop catch up every this many bars (0: only at the end; default: 21, a month)")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write the closing table as JSON here")] = None,
) -> None:
    """Replay the held-back last year of the bundled daily series through the running service.

    Bars are pushed one step at a time (POST /ml/bars); an app simulator runs the built-in strategies, scores their
    signals and asks for volatility forecasts; outcome backfill, monitoring, drift retraining, gated promotion and
    the service's hot swap run on their own Prefect triggers. Starts the background servers if they are not running.
    """
    from abtpro import stack

    settings = get_settings()
    console.print(stack.select_prefect_api(settings, start_local=True), highlight=False)
    urls = stack.start_servers(settings, service=True)
    service = next(v for k, v in urls.items() if k.startswith("BentoML")).removesuffix("/")
    result = run_replay(settings, service, max_steps=steps or settings.replay_steps, faulty=faulty, pace_bars=pace)
    console.print(replay_table(result))
    console.print(f"Timeline plots: MLflow experiment [bold]abtpro-replay[/], run {result.mlflow_run_id}")
    if json_out:
        json_out.write_text(json.dumps({**asdict(result), "bars_per_second": result.bars_per_second,
                                        "promotions": result.promotions}, default=str, indent=2))


def register(app: typer.Typer) -> None:
    app.command()(replay)
