"""The lockbox scorecard, the Prefect flow ``lockbox-scorecard``: the seed's success metrics on the last 20% of each
bundled daily series, a window no selection step ever saw (:mod:`ml.lockbox`, :mod:`ml.scorecard`).

Once per code version: a run of the experiment ``abtpro-scorecard`` tagged with the code version (and ``quick``)
is reused unless ``force``. The run holds the table as metrics and ``scorecard.md``, the figures (calibration and
lift of the signal scores, forecast vs realised volatility and fixed vs vol-targeted drawdown per series) and the
one-line summary tag; the flow also publishes the table as the Prefect artifact ``lockbox-scorecard``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

import registry
from abtpro.settings import get_settings
from flows.common import png_files
from ml.datasets import DAILY_SAMPLES, load_sample
from ml.scorecard import ScorecardConfig, score_lockbox, scorecard_table, select_settings
from ml.scorecard_plots import scorecard_figures

EXPERIMENT = "abtpro-scorecard"


@dataclass(frozen=True)
class ScorecardResult:
    run_id: str
    code_version: str
    summary: str
    reused: bool
    table: pd.DataFrame


def summary_line(table: pd.DataFrame, version: str) -> str:
    """``"k of n judged targets met on the lockbox (code <version>)"`` with the headline figures."""
    judged = table[table["met"].notna()]
    met = int(judged["met"].astype(bool).sum())
    def measured(prefix: str) -> str:
        row = table[table["metric"].str.startswith(prefix)]
        return "" if row.empty else str(row["measured"].iloc[0])
    return (f"{met} of {len(judged)} targets met on the lockbox (code {version}): signal series at 1.15x "
            f"{measured('signal: series reaching')}, pooled AUC {measured('signal pooled AUC')}")


def _metric_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-. /]", "", text)[:240]


@flow(name="lockbox-scorecard", log_prints=True)
def lockbox_scorecard(quick: bool = False, force: bool = False) -> ScorecardResult:
    """Score the frozen selections on the lockbox of every bundled daily series (``quick``: GOOG, one strategy)."""
    settings, logger = get_settings(), get_run_logger()
    version, tags = registry.code_version(), {"quick": str(quick).lower()}
    prior = None if force else registry.latest_run(settings, EXPERIMENT, {**tags, "code_version": version})
    if prior is not None:
        table = registry.load_run_parquet(prior.info.run_id, "tables/scorecard.parquet")
        logger.info("scorecard of code %s already computed: run %s", version, prior.info.run_id)
        return ScorecardResult(prior.info.run_id, version, prior.data.tags.get("summary", ""), True, table)
    config = ScorecardConfig(strategies=("rsi_mean_reversion",)) if quick else ScorecardConfig()
    bars = {s: load_sample(s) for s in (("GOOG",) if quick else DAILY_SAMPLES)}
    logger.info("selecting on the parts before each lockbox (%s)", ", ".join(bars))
    selection = select_settings(bars, config)
    logger.info("scoring the lockbox once: volatility %s, signal %s", selection.vol_model, selection.signal_candidate)
    scores = score_lockbox(bars, selection, config)
    table = scorecard_table(scores, selection)
    summary = summary_line(table, version)
    markdown = f"# Lockbox scorecard\n\n{summary}\n\n" + table.to_markdown(index=False)
    numeric = pd.to_numeric(table["measured"], errors="coerce")
    metrics = {_metric_name(m): float(v) for m, v in zip(table["metric"], numeric) if pd.notna(v)}
    run_id, _ = registry.log_run(
        settings, EXPERIMENT, "lockbox-scorecard",
        params={"vol_model": selection.vol_model, "signal_candidate": selection.signal_candidate,
                "signal_min_keep": selection.signal_min_keep, "lockbox_fraction": config.lockbox_fraction},
        metrics=metrics, tags={**tags, "summary": summary[:5000]}, bars=bars,
        files=lambda: {"scorecard.md": markdown, "tables/scorecard.parquet": table.astype(str).to_parquet(),
                       **png_files(scorecard_figures(bars, scores, selection, config.max_leverage), 110)})
    create_markdown_artifact(key="lockbox-scorecard", markdown=markdown, description=summary[:200])
    logger.info(summary)
    return ScorecardResult(run_id, version, summary, False, table)


if __name__ == "__main__":
    print(lockbox_scorecard().summary)
