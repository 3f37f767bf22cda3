"""Volatility predictor flows: train (walk-forward evaluate + fit) and register (champion/challenger).

- ``volatility-pipeline`` (:func:`volatility_pipeline`): the template of :mod:`flows.training` around the two below.
- ``train-volatility`` (:func:`train_volatility`): walk-forward evaluate the candidates, choose, fit, log the run.
- ``register-volatility`` (:func:`register_volatility`): gates, then champion/challenger.

The steps are :mod:`flows.steps.volatility`, the report is pure (:mod:`ml.volatility.summary`), the gates are
:func:`registry.gates.volatility_gates`. ``python -m flows.volatility`` runs :func:`volatility_pipeline` on the
bundled daily datasets.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

import registry
from abtpro.settings import get_settings
from flows.common import load_series
from flows.steps.volatility import (
    TrainOutcome,
    champion_score,
    evaluate,
    fit_final,
    record_training,
    render_plots,
)
from flows.training import data_digest, register_trained, training_pipeline
from ml.datasets import DAILY_SAMPLES
from ml.volatility import summary
from ml.volatility.evaluation import WalkForwardConfig
from registry.gates import volatility_gates
from registry.promotion import RegisterOutcome

__all__ = ["COVERAGE_BAND", "EXPERIMENT", "TrainOutcome", "data_digest", "register_volatility", "train_volatility",
           "volatility_pipeline"]

EXPERIMENT = "abtpro-volatility"
DEFAULT_CANDIDATES = summary.DEFAULT_CANDIDATES
COVERAGE_BAND = (0.85, 0.95)


@flow(name="volatility-pipeline", log_prints=True)
def volatility_pipeline(symbols: list[str] | None = None, timeframe: str = "1d", horizon: int = 5,
                        candidates: list[str] | None = None, refit_every: int = 21, test_fraction: float = 0.4,
                        min_improvement: float = 0.02, model: str | None = None, training_id: int | None = None,
                        actor: str = "pipeline", force: bool = True) -> RegisterOutcome:
    """Train, evaluate and register the volatility predictor, recording an ``MLModelTraining`` row.

    With ``force=False`` nothing is retrained when the champion was trained on exactly the current
    data with the same settings (re-running the quick start is then fast and registers no duplicate).
    """
    train = {"horizon": horizon, "candidates": candidates, "refit_every": refit_every,
             "test_fraction": test_fraction, "model": model}
    return training_pipeline(
        "VOLATILITY", registry.VOLATILITY_MODEL, symbols=list(symbols or DAILY_SAMPLES), timeframe=timeframe,
        params={**train, "min_improvement": min_improvement},
        settings_key=lambda: summary.settings_key(horizon, candidates, model), train=train_volatility,
        train_args=train, register=register_volatility, register_args={"min_improvement": min_improvement},
        force=force, training_id=training_id, actor=actor)


@flow(name="train-volatility", log_prints=True)
def train_volatility(symbols: list[str] | None = None, timeframe: str = "1d", horizon: int = 5,
                     candidates: list[str] | None = None, refit_every: int = 21,
                     test_fraction: float = 0.4, model: str | None = None) -> TrainOutcome:
    """Walk-forward evaluate the candidates on every series, pick the best, fit it, log it to MLflow.

    Args:
        symbols: series to train on (default: the bundled daily datasets).
        timeframe: bar timeframe of those series.
        horizon: forecast horizon in bars (target = realised vol over the next ``horizon`` bars).
        candidates: model names of ``ml.volatility.registry.MODELS`` (default: EWMA, GARCH-t, HAR, default).
        refit_every: bars between refits in the walk-forward.
        test_fraction: out-of-sample share at the end of each series.
        model: train this model instead of the best candidate (it is evaluated alongside them).
    """
    symbols = list(symbols or DAILY_SAMPLES)
    key = summary.settings_key(horizon, candidates, model)
    candidates = list(dict.fromkeys([*(candidates or DEFAULT_CANDIDATES), *([model] if model else [])]))
    config = WalkForwardConfig(horizon=horizon, refit_every=refit_every, test_fraction=test_fraction)
    bars = load_series(get_settings().db_url, symbols, timeframe)
    get_run_logger().info("walk-forward of %s on %s (refit every %d bars, test = last %.0f%%)", candidates,
                          symbols, refit_every, test_fraction * 100)
    per_symbol = evaluate(bars, candidates, config)
    table = summary.with_ratios(summary.summary_table(per_symbol), candidates)
    chosen = summary.choose_model(table, COVERAGE_BAND, model)
    get_run_logger().info("chosen model: %s (mean out-of-sample QLIKE %.4f)", chosen,
                          table.xs(chosen, level="model")["qlike"].mean())
    fits = {s: fit_final.submit(b, chosen, horizon) for s, b in bars.items()}
    plots = [render_plots.submit(s, wf.forecasts[wf.forecasts["model"] == chosen], chosen)
             for s, wf in per_symbol.items()]
    params = {"model": chosen, "horizon": horizon, "timeframe": timeframe, "symbols": ",".join(symbols),
              "candidates": ",".join(candidates), "refit_every": refit_every, "test_fraction": test_fraction}
    return record_training(EXPERIMENT, bars, symbols, timeframe, chosen=chosen, config=config, table=table,
                           fits=fits, plots=plots, params=params, settings_key=key)


@flow(name="register-volatility", log_prints=True)
def register_volatility(outcome: TrainOutcome, symbols: list[str] | None = None, timeframe: str = "1d",
                        min_improvement: float = 0.02, max_qlike_ratio_garch: float = 1.0,
                        coverage_band: tuple[float, float] = COVERAGE_BAND) -> RegisterOutcome:
    """Register the trained model as ``challenger``; make it ``champion`` only if it wins.

    Args:
        outcome: the result of :func:`train_volatility`.
        symbols: the series it was trained on (to re-evaluate the champion on the same data if needed).
        timeframe: their timeframe.
        min_improvement: relative QLIKE improvement over the champion needed for automatic promotion.
        max_qlike_ratio_garch: gate: the candidate's worst QLIKE ratio to GARCH-t across series.
        coverage_band: gate: the mean interval coverage must fall inside it.
    """
    symbols = list(symbols or DAILY_SAMPLES)
    gates = volatility_gates(outcome.candidate.metrics, max_qlike_ratio_garch, coverage_band)
    return register_trained(registry.VOLATILITY_MODEL, outcome.candidate,
                            lambda champion: champion_score(champion, outcome, symbols, timeframe), gates,
                            lower_is_better=True, min_improvement=min_improvement)


if __name__ == "__main__":
    print(volatility_pipeline())
