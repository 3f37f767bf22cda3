"""Walk-forward (expanding or rolling origin) evaluation of volatility models.

At each refit origin ``o`` (every ``refit_every`` bars of the test window, which is the last
``test_fraction`` of the series), a fresh clone of the model is fitted on bars
``[start, o - gap)`` (``gap`` defaults to the horizon: a purge between the last training bar and
the first forecast) and forecasts bars ``o .. o + refit_every - 1`` from bars up to each
forecast bar only. Nothing of the test window is used to fit or tune anything.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
from sklearn.base import clone

from ml.metrics import diebold_mariano, qlike_loss
from ml.monitoring import volatility_accuracy
from ml.volatility.base import VolatilityModel
from ml.volatility.registry import DEFAULT_MODEL
from ml.volatility.targets import realised_vol_target, trailing_realised_vol

FORECAST_COLUMNS = ["model", "forecast", "lower", "upper", "realised", "current"]


@dataclass(frozen=True)
class WalkForwardConfig:
    """Walk-forward settings.

    Attributes:
        horizon: Forecast horizon in bars.
        refit_every: Bars between refits.
        test_fraction: Share of the series (at its end) that is forecast out of sample.
        gap: Purge in bars between the training end and the first forecast (None = horizon).
        window: Rolling training window in bars (None = expanding).
        coverage: Nominal coverage of the intervals.
    """

    horizon: int = 5
    refit_every: int = 21
    test_fraction: float = 0.4
    gap: int | None = None
    window: int | None = None
    coverage: float = 0.9

    @property
    def purge(self) -> int:
        """The gap actually applied."""
        return self.horizon if self.gap is None else self.gap


@dataclass
class WalkForwardResult:
    """Tidy results (one row per model) and the out-of-sample forecasts (long format)."""

    results: pd.DataFrame
    forecasts: pd.DataFrame
    config: WalkForwardConfig = field(default_factory=WalkForwardConfig)


def first_test_index(n_bars: int, config: WalkForwardConfig) -> int:
    """Index of the first out-of-sample bar."""
    return round(n_bars * (1.0 - config.test_fraction))


def walk_forward_forecasts(bars: pd.DataFrame, model: VolatilityModel, config: WalkForwardConfig) -> pd.DataFrame:
    """Out-of-sample ``forecast, lower, upper`` on the test window of ``bars``."""
    start = first_test_index(len(bars), config)
    blocks = []
    for origin in range(start, len(bars), config.refit_every):
        train_end = origin - config.purge
        train_start = 0 if config.window is None else max(0, train_end - config.window)
        fitted = clone(model).fit(bars.iloc[train_start:train_end])
        block_end = min(origin + config.refit_every, len(bars))
        frame = fitted.predict_frame(bars.iloc[:block_end], config.coverage)
        blocks.append(frame.iloc[origin:block_end])
    return pd.concat(blocks)


def forecasts_after(bars: pd.DataFrame, model: VolatilityModel, train_bars: int, horizon: int,
                    refit_every: int) -> pd.Series:
    """The out-of-sample forecast made at every bar after the first ``train_bars`` (NaN before): an expanding
    :func:`walk_forward_forecasts` whose first origin is bar ``train_bars``, refitted every ``refit_every``
    bars with a purge of ``horizon``."""
    config = WalkForwardConfig(horizon=horizon, refit_every=refit_every, test_fraction=1.0 - train_bars / len(bars))
    return walk_forward_forecasts(bars, model, config)["forecast"].reindex(bars.index).astype("float64")


def evaluate_models(
    bars: pd.DataFrame, models: Mapping[str, VolatilityModel], config: WalkForwardConfig = WalkForwardConfig()
) -> WalkForwardResult:
    """Walk-forward every model on ``bars`` and score it with :func:`ml.monitoring.volatility_accuracy`
    (the function live monitoring and the API score live forecasts with).

    Returns:
        A :class:`WalkForwardResult`; ``results`` is indexed by model with columns ``n, qlike, mse,
        rmse, mae, dir_acc, coverage, width, seconds``.
    """
    realised = realised_vol_target(bars, config.horizon)
    current = trailing_realised_vol(bars, config.horizon)
    rows, frames = {}, []
    for name, model in models.items():
        tic = time.perf_counter()
        fc = walk_forward_forecasts(bars, model, config)
        fc = fc.assign(model=name, realised=realised.reindex(fc.index), current=current.reindex(fc.index))
        rows[name] = volatility_accuracy(fc["realised"], fc["forecast"], fc["current"], fc["lower"], fc["upper"])
        rows[name]["seconds"] = time.perf_counter() - tic
        frames.append(fc[FORECAST_COLUMNS])
    results = pd.DataFrame.from_dict(rows, orient="index")
    return WalkForwardResult(results, pd.concat(frames), config)


def combine_results(parts: list[WalkForwardResult]) -> WalkForwardResult:
    """One result from the results of disjoint model subsets on the same series (e.g. one per parallel task)."""
    if not parts:
        raise ValueError("no walk-forward results to combine")
    results = pd.concat([p.results for p in parts])
    if results.index.has_duplicates:
        raise ValueError(f"models evaluated twice: {sorted(set(results.index[results.index.duplicated()]))}")
    return WalkForwardResult(results, pd.concat([p.forecasts for p in parts]), parts[0].config)


def qlike_ratios(results: pd.DataFrame, baseline: str | list[str]) -> pd.Series:
    """Each model's QLIKE divided by the baseline's (or by the best of several baselines)."""
    names = [baseline] if isinstance(baseline, str) else list(baseline)
    return results["qlike"] / results.loc[names, "qlike"].min()


def dm_tests(forecasts: pd.DataFrame, model: str, horizon: int) -> pd.DataFrame:
    """Diebold-Mariano tests (QLIKE loss) of ``model`` against every other model in ``forecasts``."""
    scored = forecasts.dropna(subset=["realised", "forecast"])
    losses = pd.DataFrame(
        {name: pd.Series(qlike_loss(g["realised"], g["forecast"]), index=g.index) for name, g in scored.groupby("model")}
    )
    rows = {}
    for other in losses.columns.drop(model):
        res = diebold_mariano(losses[model], losses[other], horizon)
        rows[other] = {"dm_stat": res.statistic, "pvalue": res.pvalue, "mean_loss_diff": res.mean_loss_diff}
    return pd.DataFrame.from_dict(rows, orient="index")


def select_best(
    results: pd.DataFrame,
    metric: str = "qlike",
    coverage_band: tuple[float, float] | None = None,
    default: str = DEFAULT_MODEL,
) -> str:
    """Name of the model to promote: the lowest ``metric`` among models passing the coverage gate.

    Args:
        results: ``WalkForwardResult.results`` (or the mean over several series).
        metric: Loss column to minimise.
        coverage_band: Optional ``(min, max)`` gate on the ``coverage`` column.
        default: Returned when no model passes the gate.
    """
    eligible = results
    if coverage_band is not None and "coverage" in results:
        lo, hi = coverage_band
        eligible = results[(results["coverage"] >= lo) & (results["coverage"] <= hi)]
    if eligible.empty or eligible[metric].isna().all():
        return default
    return str(eligible[metric].astype("float64").idxmin())
