"""The ``abtpro`` command line: database, ingestion, validation, the end-to-end ``run`` and the background
servers (``up``, ``down``)."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from abtpro import cli_replay
from abtpro.cli_users import users_app
from abtpro.settings import apply_offline_env, get_settings

app = typer.Typer(help="ABTPro ML pipeline: ingest, validate, train, register and serve.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
cli_replay.register(app)
console = Console()


@app.callback()
def _main() -> None:
    """ABTPro ML pipeline."""
    apply_offline_env()


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


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database (DATABASE_URL) up to REVISION."""
    from store import migrate

    url = get_settings().db_url
    migrate.upgrade(url, revision)
    console.print(f"database at revision [bold]{migrate.current(url)}[/] ({_redact(url)})")


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


def _redact(url: str) -> str:
    from store.db import redact_url

    return redact_url(url)


def _ingest_table(summary: list) -> Table:
    table = Table(title="Ingestion")
    for col in ("symbol", "timeframe", "read", "inserted", "merged", "quarantined"):
        table.add_column(col, justify="left" if col in ("symbol", "timeframe") else "right")
    for s in summary:
        table.add_row(s.symbol, s.timeframe, f"{s.read:,}", f"{s.inserted:,}", f"{s.merged:,}", f"{s.quarantined:,}")
    return table


def _store_table() -> Table:
    from store.bars import bar_counts, quarantine_count

    url = get_settings().db_url
    table = Table(title=f"Market bars in {_redact(url)}")
    for col in ("symbol", "timeframe", "rows", "first", "last"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for row in bar_counts(url).itertuples(index=False):
        table.add_row(row.symbol, row.timeframe, f"{row.rows:,}", str(row.first), str(row.last))
    table.caption = f"quarantined rows: {quarantine_count(url):,}"
    return table


def _validation_table(results: list[dict]) -> Table:
    table = Table(title="Validation (Great Expectations)")
    for col in ("symbol", "timeframe", "rows", "result", "failed expectations"):
        table.add_column(col)
    for r in results:
        table.add_row(r["symbol"], r["timeframe"], f"{r['rows']:,}", "[green]pass[/]" if r["success"] else "[red]FAIL[/]",
                      ", ".join(r["failed"]) or "-")
    return table


@app.command()
def ingest(
    source: Annotated[str, typer.Option(help="sample | file | sql | configured (the sources file, only new data)")
                      ] = "sample",
    path: Annotated[str | None, typer.Option(help="CSV/Parquet file or folder (source=file)")] = None,
    query: Annotated[str | None, typer.Option(help="SQL query (source=sql)")] = None,
    source_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL the query runs on")] = None,
    symbol: Annotated[str | None, typer.Option(help="sample dataset, or symbol for files without one")] = None,
    timeframe: Annotated[str, typer.Option(help="timeframe for files without one")] = "1d",
) -> None:
    """Ingest bars: valid rows are upserted, invalid rows quarantined with the reason."""
    _quiet_prefect()
    _use_prefect()
    from flows.ingest import ingest as ingest_flow
    from ingestion.sources import SourceError

    try:
        summary = ingest_flow(source=source, path=path, query=query, source_url=source_url, symbol=symbol,
                              timeframe=timeframe)
    except SourceError as err:
        _fail(str(err))
    if not summary and source == "configured":
        console.print("nothing new from the configured sources (docs/sources.md)")
        return
    console.print(_ingest_table(summary))


@app.command()
def validate(fail_on_error: bool = False) -> None:
    """Run the Great Expectations checkpoint over stored bars and rebuild Data Docs."""
    _quiet_prefect()
    _use_prefect()
    from data_contracts.expectations import data_docs_index
    from flows.validate import validate as validate_flow

    results = validate_flow(fail_on_error=fail_on_error)
    console.print(_validation_table(results))
    console.print(f"Data Docs: {data_docs_index(get_settings().resolved_data_dir()).as_uri()}")


def _quiet_console_handlers() -> None:
    """Keep INFO flow logs off the terminal (progress shows them); warnings and errors still print."""
    for handler in logging.getLogger().handlers:
        if type(handler).__name__ == "PrefectConsoleHandler":
            handler.setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)


class _Bar(logging.Handler):
    """The pipeline's progress bar: one tick per step; each flow-run log line shows as the step's live status
    (full logs are in the Prefect UI). Called with a step's name as it starts (the parent flow's callback)."""

    def __init__(self, progress: Progress, steps: int) -> None:
        super().__init__(logging.INFO)
        self.progress, self.task_id, self.current = progress, progress.add_task("pipeline", total=steps), None

    def emit(self, record: logging.LogRecord) -> None:
        if self.current is not None:
            message = record.getMessage().splitlines()[0][:90]
            self.progress.update(self.task_id, description=f"{self.current} [dim]· {message}[/]")

    def __call__(self, name: str | None) -> None:
        """Mark the current step done and start ``name`` (None: the last step is done)."""
        if self.current is not None:
            self.progress.advance(self.task_id)
            self.progress.console.print(f"[green]✓[/] {self.current}")
        self.current = name
        if name is not None:
            self.progress.update(self.task_id, description=name)


def _run_pipeline(serve: bool) -> tuple[object, str, str | None]:
    """The ``abtpro-pipeline`` flow with a progress bar, then the demo key and (``serve``) the BentoML service."""
    from abtpro import stack
    from flows.pipeline import STEPS, pipeline

    settings = get_settings()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    _quiet_console_handlers()
    _prefect_fixes()
    flow_logger = logging.getLogger("prefect.flow_runs")
    with Progress(*columns, console=console) as progress:
        bar = _Bar(progress, len(STEPS) + 1 + serve)
        flow_logger.addHandler(bar)
        try:
            result = pipeline(progress=bar)
            bar("create demo API key")
            key = _demo_key(settings)
            service = None
            if serve:
                bar("start BentoML service")
                service = stack.start_service(settings)
            bar(None)
        finally:
            flow_logger.removeHandler(bar)
    return result, key, service


def _registration_table(title: str, result) -> Table:
    """One row: the version a pipeline registered and whether it became champion, with the reason."""
    table = Table(title=title)
    for col in ("registered version", "champion?", "decision"):
        table.add_column(col)
    table.add_row(f"{result.version}", "[green]yes[/]" if result.promoted else "no", result.reason)
    return table


def _tuning_table(settings, ids: list[int]) -> Table:
    """One row per tuned (series, strategy): the out-of-sample verdict of the walk-forward tuning."""
    from flows.pipeline import TUNE_METHOD
    from store import optimizations

    table = Table(title=f"Strategy tuner ({TUNE_METHOD}, walk-forward: tuned in sample, judged out of sample)")
    for col in ("optimization", "series", "strategy", "OOS Sharpe change", "deflated Sharpe", "PBO", "recommended?"):
        table.add_column(col, justify="right" if col not in ("series", "strategy") else "left")
    for oid in ids:
        row = optimizations.get(settings.db_url, oid)
        perf = row.performance
        if row.status != optimizations.COMPLETED:
            table.add_row(str(oid), row.symbol, row.strategy, "", "", "", f"[red]{row.status}[/]: {row.error}")
            continue
        table.add_row(str(oid), row.symbol, row.strategy, f"{perf['oos_improvement']:+.3f}",
                      f"{perf['deflated_sharpe']:.2f}", f"{perf['pbo']:.2f}",
                      "[green]yes[/]" if row.recommended else "no (defaults stay)")
    return table


def _demo_key(settings) -> str:
    """The local demo admin's API key (created on the first run, kept in the data dir)."""
    from abtpro.keys import local_key

    return local_key(settings, "demo", role="admin")[0]


def _curl(url: str, key: str) -> str:
    return (f"curl -s -X POST {url}/ml/signal/score -H 'Content-Type: application/json' -H 'X-API-Key: {key}' "
            """-d '{"symbol": "SP500", "timeframe": "1d", "strategy": "sma_crossover", "side": "BUY", "explain": true}'""")


@app.command()
def run(
    ui: Annotated[bool, typer.Option(help="start the Prefect server, flow runner and MLflow UI in the background")] = True,
    serve: Annotated[bool, typer.Option(help="start the BentoML service in the background at the end")] = True,
    replay: Annotated[bool, typer.Option(help="then replay the held-back last year through the live loop "
                                              "(needs the servers and the service)")] = True,
) -> None:
    """The main job, end to end on embedded defaults.

    Migrates the database, ingests and validates the bundled real data, trains, evaluates and
    registers the volatility predictor and the signal-quality scorer (each promoted to champion
    only if it beats the current one), tunes every strategy's parameters (walk-forward, out-of-sample
    verdict), starts the BentoML service, replays the held-back last year of real history through the live
    loop (drift, retrain, promotion, hot swap on their own triggers) and prints where to look.
    Servers keep running in the background; ``abtpro down`` stops them.
    """
    settings = get_settings()
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    _use_prefect(start_local=ui)
    from abtpro import stack
    from data_contracts.expectations import data_docs_index

    urls = stack.start_servers(settings, service=False) if ui else {}
    result, key, service = _run_pipeline(serve)
    console.print(_ingest_table(result.ingested))
    console.print(_validation_table(result.validation))
    console.print(_store_table())
    console.print(_registration_table("Volatility predictor (out-of-sample walk-forward)", result.volatility))
    console.print(_registration_table("Signal quality scorer (purged walk-forward, out of sample)",
                                      result.signal_quality))
    console.print(_tuning_table(settings, result.optimizations))
    if replay and ui and service and settings.replay_holdback_days > 0:
        replayed = cli_replay.run_replay(settings, service, max_steps=settings.replay_steps)
        console.print(cli_replay.replay_table(replayed))
        urls["MLflow: replay timeline plots"] = f"experiment abtpro-replay, run {replayed.mlflow_run_id}"
    urls["Great Expectations Data Docs"] = data_docs_index(settings.resolved_data_dir()).as_uri()
    if service:
        urls["BentoML service (Swagger UI, OpenAPI at /docs.json)"] = f"{service}/"
        urls["Prometheus metrics"] = f"{service}/metrics"
    _where_to_look(urls)
    if service:
        console.print("\nScore a signal (demo admin key, kept in the data dir):")
        console.print(_curl(service, key), soft_wrap=True, highlight=False)
    if ui or serve:
        console.print("\nServers keep running in the background; stop them with [bold].venv/bin/abtpro down[/].")


def _where_to_look(urls: dict[str, str]) -> None:
    table = Table(title="Where to look", show_header=False)
    table.add_column("what")
    table.add_column("where")
    for what, where in urls.items():
        table.add_row(what, where)
    console.print(table)


@app.command()
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
    _where_to_look(urls)


@app.command()
def down() -> None:
    """Stop the background servers started by ``abtpro up`` or ``abtpro run``."""
    from abtpro import stack

    for name in stack.stop_servers(get_settings()):
        console.print(f"stopped {name}")


if __name__ == "__main__":
    app()
