"""Strategy tuning: the walk-forward tuning request, its job, status and results, and applying them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictBool, field_validator

from serving.schemas.common import SYMBOL_PATTERN, TIMEFRAME_PATTERN, UtcDatetime, _Strict


def _strategy_names(schema: dict[str, Any]) -> None:
    """The document's ``enum`` of the strategy names (imported when the schema is built, not with this module)."""
    from ml.strategies import STRATEGIES

    schema["enum"] = sorted(STRATEGIES)


def _method_names(schema: dict[str, Any]) -> None:
    from ml.tuner import METHODS

    schema["enum"] = sorted(m.upper() for m in METHODS)


class TuneRequest(_Strict):
    """Walk-forward tune a strategy's parameters on a stored series (``flows.tune.tune_strategy``)."""

    strategy: str = Field(min_length=1, max_length=64, examples=["sma_crossover"],
                          description="A key of ml.strategies.STRATEGIES.", json_schema_extra=_strategy_names)
    symbol: str = Field(pattern=SYMBOL_PATTERN, examples=["GOOG"])
    timeframe: str = Field(default="1d", pattern=TIMEFRAME_PATTERN)
    method: str = Field(default="OPTUNA", min_length=1, max_length=32, json_schema_extra=_method_names,
                        description="A key of ml.tuner.METHODS (case-insensitive: the document lists them upper-case).")
    budget: int = Field(default=60, ge=10, le=500, description="Distinct backtests per walk-forward window.")
    n_windows: int = Field(default=4, ge=2, le=8, description="Walk-forward windows.")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str) -> str:
        from ml.strategies import STRATEGIES

        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}; choose from {sorted(STRATEGIES)}")
        return value

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        from ml.tuner import METHODS  # imported on first use (optuna and the agents are not light)

        if value.strip().lower() not in METHODS:
            raise ValueError(f"unknown method {value!r}; choose from {sorted(m.upper() for m in METHODS)}")
        return value.strip().upper()


class TuneJob(BaseModel):
    """A tuning job as queued (the ``StrategyOptimization`` row)."""

    job_id: int
    status: str = Field(description="PENDING, RUNNING, COMPLETED or FAILED.")
    strategy: str
    symbol: str | None
    timeframe: str | None
    method: str
    budget: int | None = None
    n_windows: int | None = None
    seed: int | None = None
    created_at: UtcDatetime


class TuneStatus(BaseModel):
    job_id: int
    status: str = Field(description="PENDING, RUNNING, COMPLETED or FAILED.")
    strategy: str
    symbol: str | None
    timeframe: str | None
    method: str
    error: str | None = None
    request: dict[str, Any] = Field(default_factory=dict, description="budget, n_windows, seed, ...")
    created_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None


class TuneResults(BaseModel):
    """Walk-forward result of a COMPLETED tuning job."""

    job_id: int
    status: str
    strategy: str
    symbol: str | None
    timeframe: str | None
    method: str
    recommended: bool = Field(description="Tuned parameters beat the defaults out of sample, never breached the "
                                          "drawdown limit out of sample, PBO < 0.5 and DSR > 0.5.")
    not_recommended_because: list[str] = Field(default_factory=list,
                                               description="Which of those tests failed (empty: recommended).")
    applied: bool = Field(description="These are the active parameters of (strategy, symbol, timeframe).")
    original_params: dict[str, Any]
    optimized_params: dict[str, Any]
    before: dict[str, Any] = Field(description="Default parameters: mean in-/out-of-sample Sharpe, OOS return, "
                                               "worst OOS drawdown, trades.")
    after: dict[str, Any] = Field(description="Tuned parameters: the same aggregates.")
    oos_improvement: float | None = Field(default=None, description="Mean tuned - mean default OOS Sharpe.")
    deflated_sharpe: float | None = None
    pbo: float | None = Field(default=None, description="Probability of backtest overfitting (CSCV).")
    pareto_front: list[dict[str, Any]] = Field(
        default_factory=list, description="The last window's in-sample trials no other beats on both total return "
                                          "and max drawdown (`params`, `total_return`, `max_drawdown`, by drawdown): "
                                          "the trade-offs behind `optimized_params`, the risk-adjusted pick.")
    windows: list[dict[str, Any]] = Field(description="Per walk-forward window: bounds, tuned params, in-/out-of-"
                                                      "sample metrics of default and tuned, DSR, PBO.")
    mlflow_run_id: str | None = None
    request: dict[str, Any] = Field(default_factory=dict)
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None


class TuneApplyRequest(_Strict):
    job_id: int = Field(ge=1, le=2**31 - 1)
    force: StrictBool = Field(default=False, description="Apply a result that is not recommended.")


class TuneApplyResult(BaseModel):
    """The parameters now active for (strategy, symbol, timeframe)."""

    job_id: int
    strategy: str
    symbol: str | None
    timeframe: str | None
    params: dict[str, Any]
    recommended: bool
    forced: bool
    applied_by: str
    applied_at: UtcDatetime | None = None

