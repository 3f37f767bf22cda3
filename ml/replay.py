"""The pure parts of the market replay: the replay's steps, the app simulator's signals, the timeline figure.

A replay pushes held-back real bars through the live loop. :func:`replay_steps` orders them: step ``k`` holds
the ``k``-th held-back bar of every series, so series of different calendars (GOOG ends in 2013, SP500 in 2018)
advance together and each series' data time moves one bar per step. :class:`AppSimulator` plays the platform:
it keeps each series' history, runs the built-in strategies on it and reports the signals that fire on the
newest bar (what an app would ask the service to score before trading).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ml.strategies import STRATEGIES, make_strategy

BAR_COLUMNS = ["open", "high", "low", "close", "volume"]


def replay_steps(held: pd.DataFrame) -> list[pd.DataFrame]:
    """The held-back long frame (``symbol, timeframe, ts, ...``) as steps: step ``k`` = the ``k``-th bar of each series."""
    if held.empty:
        return []
    ordered = held.sort_values(["symbol", "timeframe", "ts"]).reset_index(drop=True)
    position = ordered.groupby(["symbol", "timeframe"]).cumcount()
    return [group.drop(columns="_k").reset_index(drop=True)
            for _, group in ordered.assign(_k=position).groupby("_k", sort=True)]


@dataclass(frozen=True)
class AppSignal:
    """A signal a built-in strategy fired on the newest bar of a series."""

    symbol: str
    timeframe: str
    strategy: str
    side: str  # BUY or SELL
    ts: pd.Timestamp
    strength: float


class AppSimulator:
    """The platform's strategy loop: per series, the bars it has seen and the strategies it runs (default params).

    Args:
        history: per (symbol, timeframe), the bars known before the replay (``ts`` index, OHLCV columns).
        strategies: strategy names to run (default: every built-in one).
        lookback: bars the strategies look at (enough for their longest default window).
    """

    def __init__(self, history: dict[tuple[str, str], pd.DataFrame], strategies: list[str] | None = None,
                 lookback: int = 400) -> None:
        self.bars = {key: frame[BAR_COLUMNS].astype(float) for key, frame in history.items()}
        self.strategies = {name: make_strategy(name) for name in (strategies or list(STRATEGIES))}
        self.lookback = lookback

    def observe(self, step: pd.DataFrame) -> list[AppSignal]:
        """Append one step's bars and return the signals that fire on each series' newest bar."""
        fired = []
        for row in step.itertuples(index=False):
            key, ts = (str(row.symbol), str(row.timeframe)), pd.Timestamp(row.ts)
            bar = pd.DataFrame([[float(getattr(row, c)) for c in BAR_COLUMNS]], columns=BAR_COLUMNS,
                               index=pd.DatetimeIndex([ts], name="ts"))
            known = self.bars.get(key)
            self.bars[key] = bar if known is None else pd.concat([known.iloc[-(self.lookback * 2):], bar])
            tail = self.bars[key].iloc[-self.lookback:]
            for name, strategy in self.strategies.items():
                signals = strategy.signals(tail)
                if len(signals) and signals.index[-1] == ts:
                    side = "BUY" if int(signals["side"].iloc[-1]) > 0 else "SELL"
                    fired.append(AppSignal(key[0], key[1], name, side, ts, float(signals["strength"].iloc[-1])))
        return fired


def rolling_hit_rate(outcomes: pd.DataFrame, window: int = 30) -> pd.DataFrame:
    """Rolling win rate of taken vs all resolved signals (columns ``signal_ts``, ``outcome``, ``taken``)."""
    resolved = outcomes.dropna(subset=["outcome"]).sort_values("signal_ts")
    if resolved.empty:
        return pd.DataFrame(columns=["all", "taken"])
    frame = resolved.set_index("signal_ts")
    taken = frame["outcome"].where(frame["taken"])
    return pd.DataFrame({"all": frame["outcome"].rolling(window, min_periods=5).mean(),
                         "taken": taken.rolling(window, min_periods=5).mean()})


def timeline_figure(forecasts: pd.DataFrame, signals: pd.DataFrame, triggers: pd.DataFrame,
                    symbol: str) -> Figure:
    """Replay timeline of one series: forecast vs realised volatility with the interval, drift events and the
    champion versions that answered (top); the scorer's rolling win rate, all vs taken signals (bottom).

    Args:
        forecasts: ``as_of, predicted, lower, upper, actual, model_version`` of the series' replayed forecasts.
        signals: ``signal_ts, outcome, taken`` of the series' replayed scored signals.
        triggers: ``data_ts, status, reasons`` of the retrain triggers recorded during the replay (all models).
        symbol: series shown (title).
    """
    fig = Figure(figsize=(12, 7))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    fc = forecasts.sort_values("as_of")
    if not fc.empty:
        top.fill_between(fc["as_of"], fc["lower"], fc["upper"], color="tab:blue", alpha=0.15, label="interval")
        top.plot(fc["as_of"], fc["predicted"], color="tab:blue", lw=1.0, label="forecast")
        top.plot(fc["as_of"], fc["actual"], color="black", lw=0.8, label="realised (backfilled)")
        changes = fc[fc["model_version"] != fc["model_version"].shift()]
        for ts, version in zip(changes["as_of"], changes["model_version"]):
            top.axvline(ts, color="tab:green", ls=":", lw=1)
            top.annotate(f"v{version}", (ts, 1.0), xycoords=("data", "axes fraction"), color="tab:green",
                         fontsize=8, va="top")
    for row in triggers.dropna(subset=["data_ts"]).itertuples(index=False):
        colour = "tab:red" if row.status != "suppressed" else "tab:orange"
        top.axvline(pd.Timestamp(row.data_ts), color=colour, lw=1.2, alpha=0.8)
    top.set(title=f"{symbol}: volatility forecast vs realised; red = drift trigger fired, orange = suppressed, "
                  "green = champion version", ylabel="volatility per bar")
    top.legend(loc="upper left", fontsize=8)
    hits = rolling_hit_rate(signals)
    if not hits.empty:
        bottom.plot(hits.index, hits["all"], color="grey", label="all signals")
        bottom.plot(hits.index, hits["taken"], color="tab:purple", label="taken (score above threshold)")
    bottom.set(ylabel="rolling win rate", ylim=(0, 1))
    bottom.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def interval_coverage(forecasts: pd.DataFrame) -> float:
    """Share of resolved forecasts whose realised value fell inside the interval (NaN when none resolved)."""
    resolved = forecasts.dropna(subset=["actual"])
    if resolved.empty:
        return float("nan")
    inside = (resolved["actual"] >= resolved["lower"]) & (resolved["actual"] <= resolved["upper"])
    return float(np.mean(inside))


@dataclass(frozen=True)
class FeedFaults:
    """How a faulty feed misbehaves, every ``every`` steps (0 = never): a repeated step, a late bar, a corrupt bar."""

    duplicate_every: int = 0
    late_every: int = 0
    corrupt_every: int = 0


def faulty_feed(steps: list[pd.DataFrame], faults: FeedFaults) -> list[tuple[pd.DataFrame, dict[str, int]]]:
    """The pushes a faulty feed sends for ``steps``, each with the count of faults it carries.

    * duplicate: the previous step's bars are sent again with this step's;
    * late: the first bar of a step is withheld and delivered with the next step (out of order, a gap meanwhile);
    * corrupt: the first bar of a step is sent with ``high < low`` (quarantined), then the correct bar follows
      in the next push (the feed's correction).
    Every valid bar is delivered exactly once as a correct row, so the store ends with all held-back bars.
    """
    out: list[tuple[pd.DataFrame, dict[str, int]]] = []
    carry = pd.DataFrame()
    for k, step in enumerate(steps):
        counts = {"duplicate": 0, "late": 0, "corrupt": 0}
        parts = [carry] if len(carry) else []
        carry, now = pd.DataFrame(), step
        if faults.duplicate_every and k and k % faults.duplicate_every == 0:
            parts.append(steps[k - 1])
            counts["duplicate"] = len(steps[k - 1])
        if faults.late_every and k % faults.late_every == faults.late_every - 1 and k + 1 < len(steps):
            carry, now = step.iloc[:1], step.iloc[1:]
            counts["late"] = 1
        elif faults.corrupt_every and k % faults.corrupt_every == faults.corrupt_every - 1 and k + 1 < len(steps):
            bad = step.iloc[:1].copy()
            bad["high"], bad["low"] = bad["low"] * 0.5, bad["high"] * 2
            carry, now = step.iloc[:1], pd.concat([bad, step.iloc[1:]])
            counts["corrupt"] = 1
        parts.append(now)
        out.append((pd.concat(parts, ignore_index=True), counts))
    return out
