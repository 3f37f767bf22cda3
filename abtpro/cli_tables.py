"""The tables the ``abtpro`` commands print (rich), from the flows' results and the store."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from abtpro.settings import get_settings


def redact(url: str) -> str:
    from store.db import redact_url

    return redact_url(url)


def ingest_table(summary: list) -> Table:
    table = Table(title="Ingestion")
    for col in ("symbol", "timeframe", "read", "inserted", "merged", "quarantined"):
        table.add_column(col, justify="left" if col in ("symbol", "timeframe") else "right")
    for s in summary:
        table.add_row(s.symbol, s.timeframe, f"{s.read:,}", f"{s.inserted:,}", f"{s.merged:,}", f"{s.quarantined:,}")
    return table


def store_table() -> Table:
    from store.bars import bar_counts, quarantine_count

    url = get_settings().db_url
    table = Table(title=f"Market bars in {redact(url)}")
    for col in ("symbol", "timeframe", "rows", "first", "last"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for row in bar_counts(url).itertuples(index=False):
        table.add_row(row.symbol, row.timeframe, f"{row.rows:,}", str(row.first), str(row.last))
    table.caption = f"quarantined rows: {quarantine_count(url):,}"
    return table


def validation_table(results: list[dict]) -> Table:
    table = Table(title="Validation (Great Expectations)")
    for col in ("symbol", "timeframe", "rows", "result", "failed expectations"):
        table.add_column(col)
    for r in results:
        table.add_row(r["symbol"], r["timeframe"], f"{r['rows']:,}", "[green]pass[/]" if r["success"] else "[red]FAIL[/]",
                      ", ".join(r["failed"]) or "-")
    return table


def registration_table(title: str, result) -> Table:
    """One row: the version a pipeline registered and whether it became champion, with the reason."""
    table = Table(title=title)
    for col in ("registered version", "champion?", "decision"):
        table.add_column(col)
    table.add_row(f"{result.version}", "[green]yes[/]" if result.promoted else "no", result.reason)
    return table


def tuning_table(settings, ids: list[int]) -> Table:
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


def where_to_look(console: Console, urls: dict[str, str]) -> None:
    table = Table(title="Where to look", show_header=False)
    table.add_column("what")
    table.add_column("where")
    for what, where in urls.items():
        table.add_row(what, where)
    console.print(table)
