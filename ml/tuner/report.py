"""What a walk-forward tuning run shows its users: out-of-sample backtests and plots.

:func:`oos_backtests` replays every out-of-sample window of a :class:`WalkForwardReport` with the
default and the tuned parameters (indicators warm up on earlier bars, trades only inside the
window) and returns the full metrics per window plus the chained out-of-sample equity curves: the
"tuned" curve is the honest walk-forward equity (each window traded with the parameters tuned on
the bars before it). :func:`convergence_trace` is the best reward seen after each evaluation.
Plots use matplotlib's object API (no pyplot state, safe in worker threads and with Agg).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.backtest import BacktestConfig, backtest_batch
from ml.strategies import get_strategy_class
from ml.tuner.tuning import WalkForwardReport

METRICS = ("total_return", "sharpe", "sortino", "max_drawdown", "win_rate", "exposure", "n_trades")


@dataclass
class OOSBacktests:
    """Out-of-sample replays of a walk-forward report.

    Attributes:
        metrics: One row per (window, ``which`` in {"default", "tuned"}) with the metric columns.
        equity: Chained out-of-sample equity (starts at 1.0), columns ``default`` and ``tuned``,
            indexed by timestamp; column ``window`` says which window each bar belongs to.
    """

    metrics: pd.DataFrame
    equity: pd.DataFrame


def oos_backtests(bars: pd.DataFrame, strategy_name: str, report: WalkForwardReport,
                  config: BacktestConfig | None = None) -> OOSBacktests:
    """Backtest default and tuned parameters on every out-of-sample window of ``report``.

    Args:
        bars: The bars the report was tuned on.
        strategy_name: A key of :data:`ml.strategies.STRATEGIES`.
        report: Output of :func:`ml.tuner.tuning.walk_forward_tune` on ``bars``.
        config: Backtest costs (use the same as for tuning; default 0.1 % commission).
    """
    cls = get_strategy_class(strategy_name)
    config = config or BacktestConfig(commission=0.001)
    rows, curves, level = [], [], np.ones(2)
    for i, window in enumerate(report.windows.itertuples(index=False)):
        start = bars.index.get_loc(window.test_start)
        end = bars.index.get_loc(window.test_end) + 1
        head = bars.iloc[:end]
        result = backtest_batch(head, cls.positions_batch(head, [report.default_params, window.tuned_params]),
                                config, start)
        for j, which in enumerate(("default", "tuned")):
            row = {name: float(result.metrics.iloc[j][name]) for name in METRICS}
            rows.append({"window": i, "which": which, **row})
        growth = result.equity / result.equity[0]
        curve = pd.DataFrame(growth * level, index=result.index, columns=["default", "tuned"])
        curves.append(curve.assign(window=i))
        level = level * growth[-1]
    return OOSBacktests(pd.DataFrame(rows), pd.concat(curves))


def convergence_trace(rewards: list[float] | np.ndarray) -> np.ndarray:
    """Best reward seen after each evaluation (running maximum)."""
    values = np.asarray(rewards, dtype=float)
    return np.maximum.accumulate(values) if values.size else values


def equity_figure(equity: pd.DataFrame, title: str):
    """Default vs tuned out-of-sample equity, window boundaries dashed."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.5))
    ax = fig.subplots()
    ax.plot(equity.index, equity["default"], label="default parameters", color="tab:gray")
    ax.plot(equity.index, equity["tuned"], label="tuned (walk-forward)", color="tab:blue")
    for ts in equity.index[equity["window"].diff().fillna(0).to_numpy() != 0]:
        ax.axvline(ts, color="k", linestyle="--", linewidth=0.7, alpha=0.5)
    ax.set_title(title)
    ax.set_ylabel("equity (start = 1)")
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def convergence_figure(rewards_per_window: list[list[float]], title: str):
    """Best in-sample reward vs number of evaluations, one line per window."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for i, rewards in enumerate(rewards_per_window):
        trace = convergence_trace(rewards)
        if trace.size:
            ax.step(np.arange(1, trace.size + 1), trace, where="post", label=f"window {i}")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("best reward so far")
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _mean(values) -> float:
    values = np.asarray(list(values), dtype=float)
    return float(np.nanmean(values)) if values.size and np.isfinite(values).any() else float("nan")


def _side(replay: OOSBacktests, windows: pd.DataFrame, which: str) -> dict:
    oos = replay.metrics[replay.metrics["which"] == which]
    return {
        "is_sharpe": _mean(windows[f"{which}_is_sharpe"]),
        "oos_sharpe": _mean(windows[f"{which}_oos_sharpe"]),
        "oos_total_return": float(replay.equity[which].iloc[-1] - 1.0),
        "oos_max_drawdown": float(oos["max_drawdown"].max()),
        "oos_n_trades": int(oos["n_trades"].sum()),
    }


def summarise(report: WalkForwardReport, replay: OOSBacktests) -> dict:
    """Plain-dict summary of a walk-forward tuning run (what the app stores and the API returns).

    Returns:
        ``recommended`` and ``not_recommended_because`` (the failed tests of :func:`ml.tuner.tuning.verdict`),
        ``oos_improvement`` (mean tuned - mean default OOS Sharpe), ``deflated_sharpe``,
        ``pbo``, ``before``/``after`` aggregates (mean in-/out-of-sample Sharpe, chained OOS total
        return, worst OOS drawdown, trades) and ``windows``: per window its bounds, tuned params,
        in-sample Sharpe and full out-of-sample metrics of default and tuned parameters, DSR, PBO,
        evaluations, best in-sample reward and in-sample Pareto front; ``pareto_front``: the last window's (the
        one ``best_params`` were tuned on).
    """
    windows = []
    for i, w in enumerate(report.windows.to_dict("records")):
        oos = replay.metrics[replay.metrics["window"] == i].set_index("which")
        rewards = w.get("rewards") or []
        windows.append({
            "window": i, "train_start": w["train_start"], "test_start": w["test_start"], "test_end": w["test_end"],
            "tuned_params": dict(w["tuned_params"]), "n_evaluations": int(w["n_evaluations"]),
            "best_reward": float(np.max(rewards)) if len(rewards) else float("nan"),
            "dsr": float(w["dsr"]), "pbo": float(w["pbo"]), "tuned_oos_safe": bool(w["tuned_oos_safe"]),
            "pareto_front": [{"params": dict(f["params"]), "total_return": float(f["total_return"]),
                              "max_drawdown": float(f["max_drawdown"])} for f in w.get("pareto_front") or []],
            "in_sample": {"default": {"sharpe": float(w["default_is_sharpe"])},
                          "tuned": {"sharpe": float(w["tuned_is_sharpe"])}},
            "out_of_sample": {which: {name: float(oos.loc[which, name]) for name in METRICS}
                              for which in ("default", "tuned")},
        })
    return {
        "recommended": bool(report.recommended), "not_recommended_because": list(report.reasons),
        "oos_improvement": float(report.oos_improvement),
        "deflated_sharpe": float(report.deflated_sharpe), "pbo": float(report.pbo),
        "before": _side(replay, report.windows, "default"), "after": _side(replay, report.windows, "tuned"),
        "pareto_front": windows[-1]["pareto_front"] if windows else [],
        "windows": windows,
    }
