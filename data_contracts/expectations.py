"""Great Expectations 1.x suite and checkpoint over stored bars, with Data Docs.

The suite checks what a row-wise contract cannot: series-level sanity such as row counts,
|bar return| outliers, gaps in the time axis and ordering. One checkpoint run per series; the
``UpdateDataDocsAction`` rebuilds the HTML site under ``<project_root>/gx/uncommitted/data_docs``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

SUITE_NAME = "market_bars_suite"
CHECKPOINT_NAME = "market_bars_checkpoint"


@dataclass(frozen=True)
class SeriesValidation:
    """Outcome of the suite on one (symbol, timeframe) series."""

    symbol: str
    timeframe: str
    rows: int
    success: bool
    failed: list[str] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)


def expectation_frame(bars: pd.DataFrame) -> pd.DataFrame:
    """The frame the suite sees: bars plus ``abs_return`` and ``gap_ratio`` (spacing / median spacing)."""
    frame = bars.reset_index()
    frame["abs_return"] = frame["close"].pct_change().abs()
    spacing = frame["ts"].diff().dt.total_seconds()
    frame["gap_ratio"] = spacing / spacing.median()
    return frame


def _suite(gx, gxe, min_rows: int, max_abs_return: float, max_gap_ratio: float):
    suite = gx.ExpectationSuite(name=SUITE_NAME)
    for expectation in (
        gxe.ExpectTableRowCountToBeBetween(min_value=min_rows),
        *(gxe.ExpectColumnValuesToNotBeNull(column=c) for c in ("ts", "open", "high", "low", "close", "volume")),
        gxe.ExpectColumnValuesToBeUnique(column="ts"),
        gxe.ExpectColumnValuesToBeIncreasing(column="ts", strictly=True),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="high", column_B="low", or_equal=True),
        gxe.ExpectColumnValuesToBeBetween(column="volume", min_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="abs_return", min_value=0, max_value=max_abs_return, mostly=0.999),
        gxe.ExpectColumnValuesToBeBetween(column="gap_ratio", min_value=0, max_value=max_gap_ratio, mostly=0.99),
    ):
        suite.add_expectation(expectation)
    return suite


def build_checkpoint(project_root: Path, min_rows: int = 100, max_abs_return: float = 0.25,
                     max_gap_ratio: float = 10.0):
    """Create or update the file-backed GX project, suite, validation definition and checkpoint.

    Returns:
        ``(context, checkpoint)``.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    project_root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(project_root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_or_update_pandas("store")
    asset = next((a for a in source.assets if a.name == "market_bars"), None) or source.add_dataframe_asset(
        "market_bars")
    batch = next((b for b in asset.batch_definitions if b.name == "series"), None) or (
        asset.add_batch_definition_whole_dataframe("series"))
    suite = context.suites.add_or_update(_suite(gx, gxe, min_rows, max_abs_return, max_gap_ratio))
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name="market_bars_validation", data=batch, suite=suite))
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=CHECKPOINT_NAME, validation_definitions=[definition],
        actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")], result_format="SUMMARY"))
    return context, checkpoint


def validate_series(checkpoint, symbol: str, timeframe: str, bars: pd.DataFrame) -> SeriesValidation:
    """Run the checkpoint on one stored series; the run is named ``<symbol>_<timeframe>`` in Data Docs."""
    from great_expectations.core.run_identifier import RunIdentifier

    result = checkpoint.run(batch_parameters={"dataframe": expectation_frame(bars)},
                            run_id=RunIdentifier(run_name=f"{symbol}_{timeframe}"))
    failed: list[str] = []
    details: dict[str, object] = {}
    for run in result.run_results.values():
        for item in run.results:
            cfg = item.expectation_config
            label = cfg.type + (f"({cfg.kwargs['column']})" if "column" in cfg.kwargs else "")
            details[label] = item.result.get("unexpected_count", item.result.get("observed_value"))
            if not item.success:
                failed.append(label)
    return SeriesValidation(symbol, timeframe, len(bars), bool(result.success), failed, details)


def data_docs_index(project_root: Path) -> Path:
    """Path of the Data Docs site's ``index.html``."""
    return project_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
