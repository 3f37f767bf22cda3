"""The record of a signal-quality training run (:mod:`flows.signal_quality`).

Contents, top-down:
- :class:`TrainOutcome` — what ``train-signal-quality`` hands to ``register-signal-quality``.
- :func:`record_training` — the bundle, the MLflow run, the Prefect artifact and the registrable candidate.
- what the run holds: :func:`run_params`, :func:`run_files` (the drift reference, ``evaluation/`` and
  :data:`PLATFORM_ARTIFACT`), :func:`run_markdown` (the Prefect artifact).
- :func:`training_data_digest` — the ``data_digest`` tag: the bars and the resolved platform signals.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass

import mlflow
import pandas as pd
from prefect.artifacts import create_markdown_artifact

import registry
from flows.steps.signal_quality import REFERENCE_ARTIFACT, render_plots
from flows.training import data_digest, log_training_run
from ml.signal_quality.bundle import ScorerBundle
from ml.signal_quality.platform import training_digest, usable_rows
from ml.signal_quality.recipe import ModelSettings, PooledSets, Protocol, settings_key
from ml.signal_quality.summary import SUMMARY_METRICS, flat_metrics, reference_sample
from ml.signal_quality.validation import evaluate_oos
from registry.promotion import Candidate

#: Run artifact listing the resolved platform signals trained on (pseudonymous ``user``, no features); the same
#: table is the run's ``platform_signals`` dataset input.
PLATFORM_ARTIFACT = "training_data/platform_signals.parquet"
#: The columns of :data:`PLATFORM_ARTIFACT` (lineage: which stored signal, whose pseudonym, what outcome).
PLATFORM_LINEAGE = ["score_id", "user", "symbol", "timeframe", "strategy", "side", "signal_ts", "exit_ts", "label",
                    "ret", "barrier"]


def training_data_digest(bars: dict[str, pd.DataFrame], platform: pd.DataFrame | None) -> str:
    """The training data's identity (tag ``data_digest``): the bars' digest, combined with the usable platform
    rows' content when there are any (:func:`ml.signal_quality.platform.training_digest`)."""
    return training_digest(data_digest(bars), platform)


def platform_lineage(platform: pd.DataFrame | None) -> pd.DataFrame:
    """The platform rows trained on (the usable ones), lineage columns only."""
    if platform is None or platform.empty:
        return pd.DataFrame(columns=PLATFORM_LINEAGE)
    return usable_rows(platform)[PLATFORM_LINEAGE].reset_index(drop=True)


@dataclass(frozen=True)
class TrainOutcome:
    """What ``train_signal_quality`` produced: the registrable candidate plus what the champion check needs."""

    candidate: Candidate
    model_name: str
    data_digest: str
    protocol: str


def record_training(experiment: str, bars: dict[str, pd.DataFrame], symbols: list[str], timeframe: str, *,
                    ms: ModelSettings, protocol: Protocol, pooled: PooledSets, final, oos: dict[str, pd.DataFrame],
                    table: pd.DataFrame, platform: pd.DataFrame | None = None) -> TrainOutcome:
    """Bundle the fitted scorer (``final``, a future), log the training run (params, metrics, lineage and
    recipe tags, the bundle, the files, the platform signals trained on as a dataset input with pseudonymous
    users only), publish the Prefect artifact; the candidate to register."""
    metrics = flat_metrics(table, ms.model)
    scorer, evaluation = final.result(), evaluate_oos(oos[ms.model])
    importance = scorer.gain_importance() if hasattr(scorer, "gain_importance") else None
    plots = render_plots.submit(oos[ms.model], evaluation["sweep"], importance)  # rendered while the run is logged
    digest, ranges = training_data_digest(bars, platform), {s: [str(b.index[0]), str(b.index[-1])]
                                                            for s, b in bars.items()}
    lineage = platform_lineage(platform)
    bundle = ScorerBundle(scorer, ms.feature_config(), list(pooled.X.columns), ms.param_grids, pooled.history,
                          {"model": ms.model, "timeframe": timeframe, "symbols": symbols,
                           "strategies": list(ms.strategies), "data_ranges": ranges})
    run_id, model_uri = log_training_run(
        experiment, f"signal-quality-{ms.model}", params=run_params(ms, protocol, bars, pooled, scorer, timeframe),
        metrics=metrics, tags={"data_digest": digest, "task": "signal_quality", "settings": settings_key(ms, protocol),
                               "model_settings": ms.to_json(), "protocol": protocol.to_json(),
                               "data_ranges": json.dumps(ranges)}, bars=bars, model=bundle,
        example=pooled.X.tail(5).reset_index(drop=True),
        files=lambda: run_files(table, evaluation, importance, plots, pooled, lineage))
    if len(lineage):
        with mlflow.start_run(run_id=run_id):
            registry.log_training_data({"platform_signals": lineage})
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
        "cross_asset": ms.cross_asset,
        **asdict(protocol), "feature_config_hash": ms.feature_config().config_hash(),
        "n_features": pooled.X.shape[1], "n_signals": len(pooled.X), "n_platform_signals": pooled.n_platform,
        "threshold": float(scorer.threshold_),
        **{f"model__{k}": v for k, v in scorer.get_params().items()}}


def run_files(table: pd.DataFrame, ev: dict[str, pd.DataFrame], importance: pd.Series | None, plots,
              pooled: PooledSets, lineage: pd.DataFrame | None = None) -> dict[str, bytes | str]:
    """The run's files: the drift reference (:data:`REFERENCE_ARTIFACT`), the ``evaluation/`` folder and, when
    platform signals were trained on, their lineage (:data:`PLATFORM_ARTIFACT`)."""
    reference = io.BytesIO()
    reference_sample(pooled).to_parquet(reference, index=False)
    files = {REFERENCE_ARTIFACT: reference.getvalue(),
             "evaluation/oos_summary.csv": table.round(6).to_csv(),
             "evaluation/oos_summary.md": table.round(4).to_markdown(),
             "evaluation/threshold_sweep.csv": ev["sweep"].round(6).to_csv(index=False),
             "evaluation/threshold_sweep.md": ev["sweep"].round(4).to_markdown(index=False),
             "evaluation/calibration_deciles.csv": ev["calibration"].round(6).to_csv(index=False)}
    if lineage is not None and len(lineage):
        buffer = io.BytesIO()
        lineage.to_parquet(buffer, index=False)
        files[PLATFORM_ARTIFACT] = buffer.getvalue()
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
