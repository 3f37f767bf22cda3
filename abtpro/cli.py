"""The ``abtpro`` command line: database, ingestion, validation and the end-to-end ``run``."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from abtpro.cli_users import users_app
from abtpro.settings import apply_offline_env, get_settings

app = typer.Typer(help="ABTPro ML pipeline: ingest, validate, train, register and serve.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
console = Console()
# the quick start tunes every strategy on every bundled daily series with the UCB1 bandit over the parameter grid
TUNE_METHOD, TUNE_BUDGET, TUNE_WINDOWS = "rl_bandit", 24, 3


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
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


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
    source: Annotated[str, typer.Option(help="sample | file | sql")] = "sample",
    path: Annotated[str | None, typer.Option(help="CSV/Parquet file or folder (source=file)")] = None,
    query: Annotated[str | None, typer.Option(help="SQL query (source=sql)")] = None,
    source_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL the query runs on")] = None,
    symbol: Annotated[str | None, typer.Option(help="sample dataset, or symbol for files without one")] = None,
    timeframe: Annotated[str, typer.Option(help="timeframe for files without one")] = "1d",
) -> None:
    """Ingest bars: valid rows are upserted, invalid rows quarantined with the reason."""
    _quiet_prefect()
    from flows.ingest import ingest as ingest_flow
    from ingest.sources import SourceError

    try:
        summary = ingest_flow(source=source, path=path, query=query, source_url=source_url, symbol=symbol,
                              timeframe=timeframe)
    except SourceError as err:
        _fail(str(err))
    console.print(_ingest_table(summary))


@app.command()
def validate(fail_on_error: bool = False) -> None:
    """Run the Great Expectations checkpoint over stored bars and rebuild Data Docs."""
    _quiet_prefect()
    from data_contracts.expectations import data_docs_index
    from flows.validate import validate as validate_flow

    results = validate_flow(fail_on_error=fail_on_error)
    console.print(_validation_table(results))
    console.print(f"Data Docs: {data_docs_index(get_settings().resolved_data_dir()).as_uri()}")


class _FlowLogToProgress(logging.Handler):
    """Shows each flow-run log line as the progress bar's live status (full logs are in the Prefect UI)."""

    def __init__(self, progress: Progress, task_id: Any, step: str) -> None:
        super().__init__(logging.INFO)
        self.progress, self.task_id, self.step = progress, task_id, step

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().splitlines()[0][:90]
        self.progress.update(self.task_id, description=f"{self.step} [dim]· {message}[/]")


def _quiet_console_handlers() -> None:
    """Keep INFO flow logs off the terminal (progress shows them); warnings and errors still print."""
    for handler in logging.getLogger().handlers:
        if type(handler).__name__ == "PrefectConsoleHandler":
            handler.setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)


def _run_steps(steps: list[tuple[str, Callable[[], Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    _quiet_console_handlers()
    _prefect_fixes()
    flow_logger = logging.getLogger("prefect.flow_runs")
    with Progress(*columns, console=console) as progress:
        overall = progress.add_task("pipeline", total=len(steps))
        for name, step in steps:
            progress.update(overall, description=name)
            handler = _FlowLogToProgress(progress, overall, name)
            flow_logger.addHandler(handler)
            try:
                out[name] = step()
            finally:
                flow_logger.removeHandler(handler)
            progress.advance(overall)
            progress.console.print(f"[green]✓[/] {name}")
    return out


def _registration_table(title: str, result) -> Table:
    """One row: the version a pipeline registered and whether it became champion, with the reason."""
    table = Table(title=title)
    for col in ("registered version", "champion?", "decision"):
        table.add_column(col)
    table.add_row(f"{result.version}", "[green]yes[/]" if result.promoted else "no", result.reason)
    return table


def _tuning_table(settings, ids: list[int]) -> Table:
    """One row per tuned (series, strategy): the out-of-sample verdict of the walk-forward tuning."""
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


def _start_uis(settings) -> dict[str, str]:
    """Start (or reuse) the Prefect server and MLflow UI; flows of this process then report to Prefect."""
    from abtpro import supervisor

    data_dir = settings.resolved_data_dir()
    run_dir = data_dir / "run"
    prefect = supervisor.prefect_server(data_dir, settings.prefect_port)
    supervisor.start(prefect, run_dir)
    os.environ["PREFECT_API_URL"] = f"{prefect.url}/api"
    supervisor.start(supervisor.flow_runner(prefect.url, data_dir), run_dir)
    urls = {"Prefect UI (flow runs, artifacts, deployments)": prefect.url}
    if settings.mlflow_tracking_uri is None:
        import registry

        registry.configure(settings)
        from mlflow.tracking import MlflowClient

        MlflowClient().search_experiments()  # creates the store's tables before the UI opens it
        mlflow_ui = supervisor.mlflow_server(settings.tracking_uri, settings.artifact_root, settings.mlflow_port)
        supervisor.start(mlflow_ui, run_dir)
        urls["MLflow UI (runs, plots, registry aliases)"] = f"{mlflow_ui.url}/#/models"
    return urls


def _demo_key(settings) -> str:
    """The local demo admin's API key: created on the first run, kept in the data dir (mode 600)."""
    from store.users import UserExistsError, create_user, verify_key

    path = settings.resolved_data_dir() / "demo_api_key"
    if path.exists() and verify_key(settings.db_url, path.read_text().strip()):
        return path.read_text().strip()
    for suffix in ["", *range(2, 100)]:
        try:
            _, key = create_user(settings.db_url, f"demo{suffix}", is_admin=True)
            break
        except UserExistsError:
            continue
    path.write_text(key)
    path.chmod(0o600)
    return key


def _start_service(settings) -> str:
    from abtpro import supervisor

    data_dir = settings.resolved_data_dir()
    server = supervisor.bentoml_server(settings.service_port)
    env = {"ABTPRO_DATA_DIR": str(data_dir), "DATABASE_URL": settings.db_url,
           "ABTPRO_MLFLOW_TRACKING_URI": settings.tracking_uri}
    supervisor.start(supervisor.Server(server.name, server.command, server.health_url, server.url, env=env),
                      data_dir / "run", timeout=180)
    return server.url


def _curl(url: str, key: str) -> str:
    return (f"curl -s -X POST {url}/ml/signal/score -H 'Content-Type: application/json' -H 'X-API-Key: {key}' "
            """-d '{"symbol": "SP500", "timeframe": "1d", "strategy": "sma_crossover", "side": "BUY", "explain": true}'""")


@app.command()
def run(
    ui: Annotated[bool, typer.Option(help="start the Prefect server, flow runner and MLflow UI in the background")] = True,
    serve: Annotated[bool, typer.Option(help="start the BentoML service in the background at the end")] = True,
) -> None:
    """The main job, end to end on embedded defaults.

    Migrates the database, ingests and validates the bundled real data, trains, evaluates and
    registers the volatility predictor and the signal-quality scorer (each promoted to champion
    only if it beats the current one), tunes every strategy's parameters (walk-forward, out-of-sample
    verdict), starts the BentoML service and prints where to look.
    Servers keep running in the background; ``abtpro down`` stops them.
    """
    settings = get_settings()
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    urls = _start_uis(settings) if ui else {}
    from data_contracts.expectations import data_docs_index
    from flows.common import shared_dask_cluster
    from flows.ingest import ingest as ingest_flow
    from flows.signal_quality import signal_quality_pipeline
    from flows.tune import tuning_pipeline
    from flows.validate import validate as validate_flow
    from flows.volatility import volatility_pipeline
    from store import migrate

    steps = [
        ("migrate database", lambda: migrate.upgrade(settings.db_url)),
        ("ingest bundled real data", lambda: ingest_flow(source="sample")),
        ("validate stored bars", lambda: validate_flow()),
        ("train, evaluate, register volatility model", lambda: volatility_pipeline(force=False)),
        ("train, evaluate, register signal-quality scorer", lambda: signal_quality_pipeline(force=False)),
        ("tune strategy parameters", lambda: tuning_pipeline(
            method=TUNE_METHOD, budget=TUNE_BUDGET, n_windows=TUNE_WINDOWS, force=False)),
        ("create demo API key", lambda: _demo_key(settings)),
    ]
    if serve:
        steps.append(("start BentoML service", lambda: _start_service(settings)))
    with shared_dask_cluster(settings):  # ABTPRO_TASK_RUNNER=dask: one local cluster for every fan-out flow
        out = _run_steps(steps)
    console.print(_ingest_table(out["ingest bundled real data"]))
    console.print(_validation_table(out["validate stored bars"]))
    console.print(_store_table())
    console.print(_registration_table("Volatility predictor (out-of-sample walk-forward)",
                                      out["train, evaluate, register volatility model"]))
    console.print(_registration_table("Signal quality scorer (purged walk-forward, out of sample)",
                                      out["train, evaluate, register signal-quality scorer"]))
    console.print(_tuning_table(settings, out["tune strategy parameters"]))
    urls["Great Expectations Data Docs"] = data_docs_index(settings.resolved_data_dir()).as_uri()
    if serve:
        service = out["start BentoML service"]
        urls["BentoML service (Swagger UI, OpenAPI at /docs.json)"] = f"{service}/"
        urls["Prometheus metrics"] = f"{service}/metrics"
    _where_to_look(urls)
    key = out["create demo API key"]
    if serve:
        console.print("\nScore a signal (demo admin key, kept in the data dir):")
        console.print(_curl(out["start BentoML service"], key), soft_wrap=True, highlight=False)
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
def down() -> None:
    """Stop the background servers started by ``abtpro run``."""
    from abtpro import supervisor

    run_dir = get_settings().resolved_data_dir() / "run"
    for name in ("bentoml", "flow-runner", "mlflow", "prefect"):
        if supervisor.stop(name, run_dir):
            console.print(f"stopped {name}")


if __name__ == "__main__":
    app()
