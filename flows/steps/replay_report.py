"""The market replay's closing report: what the loop did (from the database), a timeline plot per series logged to
MLflow (experiment ``abtpro-replay``), and the Prefect artifact ``market-replay``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pandas as pd
from prefect.artifacts import create_markdown_artifact

import registry
from abtpro.settings import Settings
from flows.common import png_files
from flows.steps.replay import ReplayCounts
from ml.replay import interval_coverage, timeline_figure
from store import replay as store

EXPERIMENT = "abtpro-replay"


@dataclass(frozen=True)
class ReplayResult:
    """The closing table of a replay (see :func:`report`)."""

    steps: int
    bars_sent: int
    bars_inserted: int
    bars_merged: int
    bars_quarantined: int
    faults: dict[str, int]
    signals_scored: int
    forecasts: int
    requests_failed: dict[str, int]
    forecasts_stored: int
    signals_stored: int
    monitoring_passes: dict[str, int]
    drift_events: list[dict[str, Any]]
    suppressed: int
    retrains: list[dict[str, Any]]
    versions_served: dict[str, int]
    replay_seconds: float
    loop_runs: int
    coverage: float
    seconds: dict[str, float] = field(default_factory=dict)  # replay steps' wall time by part (push, app, ...)
    mlflow_run_id: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def bars_per_second(self) -> float:
        return self.bars_sent / self.replay_seconds if self.replay_seconds else float("nan")

    @property
    def promotions(self) -> int:
        return sum(bool(r.get("promoted")) for r in self.retrains)


def wait_for_retrains(url: str, since: datetime, timeout: float) -> pd.DataFrame:
    """Wait until every retrain trigger recorded since ``since`` has finished (or ``timeout``); returns them all."""
    deadline = time.monotonic() + timeout
    while store.open_triggers(url, since.replace(tzinfo=None)) and time.monotonic() < deadline:
        time.sleep(1.0)
    return store.triggers(url, since.replace(tzinfo=None))


def _retrains(triggers: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per fired (not suppressed) trigger: its retrain's version, promotion and reason."""
    return [{"model": r.model, "trigger": int(r.id), "status": r.status, "data_ts": r.data_ts,
             "version": (r.result or {}).get("version"), "promoted": bool((r.result or {}).get("promoted")),
             "reason": (r.result or {}).get("reason") or (r.result or {}).get("error")}
            for r in triggers.itertuples(index=False)]


def _markdown(result: ReplayResult) -> str:
    lines = ["# Market replay", "", "| what | count |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in summary_rows(result)]
    for event in result.drift_events:
        lines.append(f"\n* drift at data time {event['data_ts']} ({event['model']} v{event['version']}): "
                     f"{'; '.join(event['reasons'])}")
    return "\n".join(lines)


def summary_rows(result: ReplayResult) -> list[tuple[str, str]]:
    """The closing table as (what, value) rows (the CLI prints them, the artifact shows them)."""
    drift = [f"{e['model']}: {e['reasons'][0] if e['reasons'] else ''}" for e in result.drift_events]
    retrains = [f"{r['model']} -> v{r['version']} {'promoted' if r['promoted'] else 'not promoted'} ({r['reason']})"
                for r in result.retrains]
    return [
        ("steps replayed (bars per series)", str(result.steps)),
        ("bars pushed / stored new / already stored / quarantined",
         f"{result.bars_sent} / {result.bars_inserted} / {result.bars_merged} / {result.bars_quarantined}"),
        ("feed faults (duplicate rows, late bars, corrupt bars)",
         f"{result.faults['duplicate']}, {result.faults['late']}, {result.faults['corrupt']}"),
        ("signals scored (stored)", f"{result.signals_scored} ({result.signals_stored})"),
        ("volatility forecasts (stored)", f"{result.forecasts} ({result.forecasts_stored})"),
        ("forecast interval coverage (resolved)", f"{result.coverage:.1%}"),
        ("monitoring passes", ", ".join(f"{k}: {v}" for k, v in result.monitoring_passes.items()) or "0"),
        ("drift events fired (suppressed by cooldown)", f"{len(result.drift_events)} ({result.suppressed})"),
        ("drift reasons", "\n".join(drift) or "-"),
        ("retrains", "\n".join(retrains) or "-"),
        ("promotions", str(result.promotions)),
        ("versions served", ", ".join(f"{k} ({v} answers)" for k, v in result.versions_served.items()) or "-"),
        ("failed requests", ", ".join(f"{k}: {v}" for k, v in result.requests_failed.items()) or "0"),
        ("replay wall time", f"{result.replay_seconds:.0f} s ({result.bars_per_second:.1f} bars/s)"),
        ("... by part (push, app, score, forecast, waits for the loop)",
         ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items()) or "-"),
    ]


def report(settings: Settings, started: datetime, counts: ReplayCounts, faults: dict[str, int], steps: int,
           app_user_id: int, replay_seconds: float, loop_runs: int, triggers: pd.DataFrame,
           symbols: list[str]) -> ReplayResult:
    """Gather what the loop did since ``started``, plot it, log it to MLflow and as a Prefect artifact."""
    url, since = settings.db_url, started.replace(tzinfo=None)
    forecasts, signals = store.forecasts(url, app_user_id), store.scored_signals(url, app_user_id)
    passes = store.monitoring_passes(url, since)
    fired = triggers[triggers["status"] != "suppressed"]
    result = ReplayResult(
        steps, counts.bars_sent, counts.bars_inserted, counts.bars_merged, counts.bars_quarantined, faults,
        counts.signals_scored, counts.forecasts, dict(counts.errors), len(forecasts), len(signals),
        passes.groupby("model").size().to_dict() if len(passes) else {},
        [{"model": r.model, "version": r.version, "data_ts": r.data_ts, "reasons": list(r.reasons or []),
          "status": r.status} for r in fired.itertuples(index=False)],
        int((triggers["status"] == "suppressed").sum()), _retrains(fired), dict(counts.versions),
        replay_seconds, loop_runs, interval_coverage(forecasts), seconds=dict(counts.seconds))
    figures = {f"replay/timeline_{s}": timeline_figure(forecasts[forecasts["symbol"] == s],
                                                       signals[signals["symbol"] == s], triggers, s) for s in symbols}
    metrics = {"steps": steps, "bars_sent": result.bars_sent, "bars_quarantined": result.bars_quarantined,
               "signals_scored": result.signals_scored, "forecasts": result.forecasts,
               "drift_events": len(result.drift_events), "retrains": len(result.retrains),
               "promotions": result.promotions, "replay_seconds": replay_seconds,
               "bars_per_second": result.bars_per_second, "coverage": result.coverage,
               **{f"seconds_{part}": value for part, value in result.seconds.items()}}
    run_id, _ = registry.log_run(settings, EXPERIMENT, f"replay-{started:%Y%m%d-%H%M%S}",
                                 params={"symbols": ",".join(symbols), "steps": steps}, metrics=metrics,
                                 tags={"task": "replay"}, bars={},
                                 files=lambda: {**png_files(figures, dpi=90),
                                                "replay/summary.md": _markdown(result)})
    result = replace(result, mlflow_run_id=run_id)
    create_markdown_artifact(key="market-replay", markdown=_markdown(result) + f"\n\nMLflow run `{run_id}` "
                             f"(experiment `{EXPERIMENT}`) holds the timeline plots.",
                             description="Market replay: what the live loop did")
    return result
