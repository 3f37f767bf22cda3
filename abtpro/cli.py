"""The ``abtpro`` command line: database, ingestion, validation, the end-to-end ``run`` and the background
servers (``up``, ``down``).

The commands live in sibling modules: :mod:`abtpro.cli_db` (``db``), :mod:`abtpro.cli_users` (``users``),
:mod:`abtpro.cli_approvals`, :mod:`abtpro.cli_replay`, :mod:`abtpro.cli_scorecard`, :mod:`abtpro.cli_servers`
(``up``, ``down``); here are ``ingest``, ``validate`` and ``run``. What they share is :mod:`abtpro.cli_common`.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from abtpro import cli_approvals, cli_replay, cli_run, cli_scorecard, cli_servers, cli_tables
from abtpro.cli_common import _fail, _prefect_fixes, _quiet_prefect, _use_prefect, console
from abtpro.cli_db import db_app, db_current, db_downgrade, db_upgrade
from abtpro.cli_servers import down, up
from abtpro.cli_users import users_app
from abtpro.settings import apply_offline_env, get_settings

__all__ = ["_fail", "_prefect_fixes", "_quiet_prefect", "_use_prefect", "app", "console", "db_app", "db_current",
           "db_downgrade", "db_upgrade", "down", "ingest", "run", "up", "validate"]

app = typer.Typer(help="ABTPro ML pipeline: ingest, validate, train, register and serve.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
cli_approvals.register(app)
cli_replay.register(app)
cli_scorecard.register(app)


@app.callback()
def _main() -> None:
    """ABTPro ML pipeline."""
    apply_offline_env()


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
    console.print(cli_tables.ingest_table(summary))


@app.command()
def validate(fail_on_error: bool = False) -> None:
    """Run the Great Expectations checkpoint over stored bars and rebuild Data Docs."""
    _quiet_prefect()
    _use_prefect()
    from data_contracts.expectations import data_docs_index
    from flows.validate import validate as validate_flow

    results = validate_flow(fail_on_error=fail_on_error)
    console.print(cli_tables.validation_table(results))
    console.print(f"Data Docs: {data_docs_index(get_settings().resolved_data_dir()).as_uri()}")


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
    result, key, service = cli_run.run_pipeline(console, serve)
    console.print(cli_tables.ingest_table(result.ingested))
    console.print(cli_tables.validation_table(result.validation))
    console.print(cli_tables.store_table())
    console.print(cli_tables.registration_table("Volatility predictor (out-of-sample walk-forward)", result.volatility))
    console.print(cli_tables.registration_table("Signal quality scorer (purged walk-forward, out of sample)",
                                      result.signal_quality))
    console.print(cli_tables.tuning_table(settings, result.optimizations))
    if replay and ui and service and settings.replay_holdback_days > 0:
        replayed = cli_replay.run_replay(settings, service, max_steps=settings.replay_steps)
        console.print(cli_replay.replay_table(replayed))
        urls["MLflow: replay timeline plots"] = f"experiment abtpro-replay, run {replayed.mlflow_run_id}"
    urls["Great Expectations Data Docs"] = data_docs_index(settings.resolved_data_dir()).as_uri()
    if service:
        urls["BentoML service (Swagger UI, OpenAPI at /docs.json)"] = f"{service}/"
        urls["Prometheus metrics"] = f"{service}/metrics"
    cli_tables.where_to_look(console, urls)
    console.print(cli_scorecard.stored_summary(settings), highlight=False)
    if service:
        console.print("\nScore a signal (demo admin key, kept in the data dir):")
        console.print(cli_run.curl(service, key), soft_wrap=True, highlight=False)
    if ui or serve:
        console.print("\nServers keep running in the background; stop them with [bold].venv/bin/abtpro down[/].")


cli_servers.register(app)  # after ``run``: ``up`` and ``down`` stay listed after it in ``abtpro --help``

if __name__ == "__main__":
    app()
