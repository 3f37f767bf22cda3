"""Validation flow: the Great Expectations checkpoint over every stored series, with Data Docs.

Run it with ``python -m flows.validate`` or ``abtpro validate``.
"""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from abtpro.settings import get_settings
from data_contracts import expectations
from data_contracts.bars import BarsFrameSchema
from flows.common import IO_RETRIES, IO_RETRY_DELAY_SECONDS
from store import bars as store


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def list_series(url: str) -> list[tuple[str, str]]:
    """Every (symbol, timeframe) in the store."""
    counts = store.bar_counts(url)
    return list(zip(counts["symbol"], counts["timeframe"]))


@task(cache_policy=NO_CACHE)
def validate_series(url: str, checkpoint, symbol: str, timeframe: str) -> expectations.SeriesValidation:
    """Check one stored series with the pandera frame contract and the GX checkpoint."""
    bars = BarsFrameSchema.validate(store.read_bars(url, symbol, timeframe))
    return expectations.validate_series(checkpoint, symbol, timeframe, bars)


def _markdown(results: list[expectations.SeriesValidation], docs: str) -> str:
    lines = ["# Market-bar validation", "", f"Data Docs: `{docs}`", "",
             "| symbol | timeframe | rows | success | failed expectations |", "|---|---|---|---|---|"]
    lines += [f"| {r.symbol} | {r.timeframe} | {r.rows} | {'✅' if r.success else '❌'} | "
              f"{', '.join(r.failed) or '-'} |" for r in results]
    return "\n".join(lines)


@flow(name="validate", log_prints=True)
def validate(fail_on_error: bool = False) -> list[dict]:
    """Validate every stored series and rebuild Data Docs.

    Args:
        fail_on_error: raise when any series fails an expectation (default: report only).

    Returns:
        One result per series (symbol, timeframe, rows, success, failed expectations, details).
    """
    settings = get_settings()
    logger = get_run_logger()
    root = settings.resolved_data_dir()
    _, checkpoint = expectations.build_checkpoint(root, max_abs_return=settings.validation_max_abs_return)
    results = [validate_series(settings.db_url, checkpoint, s, t) for s, t in list_series(settings.db_url)]
    docs = expectations.data_docs_index(root)
    create_markdown_artifact(key="bars-validation", markdown=_markdown(results, str(docs)),
                             description="Great Expectations results over stored bars")
    logger.info("validated %d series; Data Docs at %s", len(results), docs)
    failed = [r for r in results if not r.success]
    if failed and fail_on_error:
        raise RuntimeError(f"{len(failed)} series failed validation: {[r.symbol for r in failed]}")
    return [asdict(r) for r in results]


if __name__ == "__main__":
    validate()
