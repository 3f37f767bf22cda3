"""The record of a signal-quality training run (:mod:`flows.signal_quality`).

Contents, top-down:
- :class:`TrainOutcome` — what ``train-signal-quality`` hands to ``register-signal-quality``.
- :func:`record_training` — the bundle, the MLflow run, the Prefect artifact and the registrable candidate.
- what the run holds: :func:`run_params`, :func:`run_files` (the drift reference and ``evaluation/``),
  :func:`run_markdown` (the Prefect artifact).
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass

import pandas as pd
from prefect.artifacts import create_markdown_artifact

from flows.steps.signal_quality import REFERENCE_ARTIFACT, render_plots
from flows.training import data_digest, log_training_run
from ml.signal_quality.bundle import ScorerBundle
from ml.signal_quality.recipe import ModelSettings, PooledSets, Protocol, settings_key
from ml.signal_quality.summary import SUMMARY_METRICS, flat_metrics, reference_sample
from ml.signal_quality.validation import evaluate_oos
from registry.promotion import Candidate


@dataclass(frozen=True)
class TrainOutcome:
    """What ``train_signal_quality`` produced: the registrable candidate plus what the champion check needs."""

    candidate: Candidate
    model_name: str
    data_digest: str
    protocol: str


def record_training(experiment: str, bars: dict[str, pd.DataFrame], symbols: list[str], timeframe: str, *,
                    ms: ModelSettings, protocol: Protocol, pooled: PooledSets, final, oos: dict[str, pd.DataFrame],
                    table: pd.DataFrame) -> TrainOutcome:
    """Bundle the fitted scorer (``final``, a future), log the training run (params, metrics, lineage and
    recipe tags, the bundle, the files), publish the Prefect artifact; the candidate to register."""
    metrics = flat_metrics(table, ms.model)
    scorer, evaluation = final.result(), evaluate_oos(oos[ms.model])
    importance = scorer.gain_importance() if hasattr(scorer, "gain_importance") else None
    plots = render_plots.submit(oos[ms.model], evaluation["sweep"], importance)  # rendered while the run is logged
    digest, ranges = data_digest(bars), {s: [str(b.index[0]), str(b.index[-1])] for s, b in bars.items()}
    bundle = ScorerBundle(scorer, ms.feature_config(), list(pooled.X.columns), ms.param_grids, pooled.history,
                          {"model": ms.model, "timeframe": timeframe, "symbols": symbols,
                           "strategies": list(ms.strategies), "data_ranges": ranges})
    run_id, model_uri = log_training_run(
        experiment, f"signal-quality-{ms.model}", params=run_params(ms, protocol, bars, pooled, scorer, timeframe),
        metrics=metrics, tags={"data_digest": digest, "task": "signal_quality", "settings": settings_key(ms, protocol),
                               "model_settings": ms.to_json(), "protocol": protocol.to_json(),
                               "data_ranges": json.dumps(ranges)}, bars=bars, model=bundle,
        example=pooled.X.tail(5).reset_index(drop=True),
        files=lambda: run_files(table, evaluation, importance, plots, pooled))
    create_markdown_artifact(key="signal-quality-oos", description="Out-of-sample scorer vs baselines, per dataset "
                             "and strategy", markdown=run_markdown(ms.model, protocol, run_id, scorer, table, pooled.counts))
    tags = {"model": ms.model, "data_digest": digest, "settings": settings_key(ms, protocol)}
    candidate = Candidate(model_uri, run_id, "auc", metrics["auc"], metrics, tags,
                          f"{ms.model} on {','.join(symbols)} x {','.join(ms.strategies)}")
    return TrainOutcome(candidate, ms.model, digest, protocol.to_json())


def run_params(ms: ModelSettings, protocol: Protocol, bars: dict, pooled: PooledSets, scorer, timeframe: str) -> dict:
    """The MLflow params of a training run: the recipe, the protocol, the data's shape and the scorer's."""
    return {
        "model": ms.model, "symbols": ",".join(bars), "timeframe": timeframe, "strategies": ",".join(ms.strategies),
        "param_grids": json.dumps(ms.param_grids), "pt_mult": ms.pt_mult, "sl_mult": ms.sl_mult,
        "max_holding": ms.max_holding, "vol_span": ms.vol_span, "use_shared_features": ms.use_shared_features,
        **asdict(protocol), "feature_config_hash": ms.feature_config().config_hash(),
        "n_features": pooled.X.shape[1], "n_signals": len(pooled.X), "threshold": float(scorer.threshold_),
        **{f"model__{k}": v for k, v in scorer.get_params().items()}}


def run_files(table: pd.DataFrame, ev: dict[str, pd.DataFrame], importance: pd.Series | None, plots,
              pooled: PooledSets) -> dict[str, bytes | str]:
    """The run's files: the drift reference (:data:`REFERENCE_ARTIFACT`) and the ``evaluation/`` folder."""
    reference = io.BytesIO()
    reference_sample(pooled).to_parquet(reference, index=False)
    files = {REFERENCE_ARTIFACT: reference.getvalue(),
             "evaluation/oos_summary.csv": table.round(6).to_csv(),
             "evaluation/oos_summary.md": table.round(4).to_markdown(),
             "evaluation/threshold_sweep.csv": ev["sweep"].round(6).to_csv(index=False),
             "evaluation/threshold_sweep.md": ev["sweep"].round(4).to_markdown(index=False),
             "evaluation/calibration_deciles.csv": ev["calibration"].round(6).to_csv(index=False)}
    if importance is not None:
        files["evaluation/feature_importance.csv"] = importance.rename("gain_share").to_csv()
    return {**files, **{f"evaluation/{name}": png for name, png in plots.result().items()}}


def run_markdown(model: str, protocol: Protocol, run_id: str, scorer, table: pd.DataFrame,
                 counts: dict[str, int]) -> str:
    """The Prefect artifact of a training run: the out-of-sample table of the scorer and the baselines."""
    return (f"# Signal quality, out of sample (purged walk-forward, {protocol.n_splits} folds)\n\n"
            f"Trained: **{model}**; MLflow run `{run_id}`; threshold {scorer.threshold_:.4f}\n\n"
            + table[list(SUMMARY_METRICS)].round(4).to_markdown()
            + "\n\nSignals per set (after warm-up): " + ", ".join(f"{k} {n}" for k, n in counts.items()))
