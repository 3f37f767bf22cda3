"""A trading platform's strategy loop integrated with the ABTPro ML service through :mod:`abtpro.client`.

For each new bar the platform's own strategy (``my_breakout``: a 20-bar channel breakout, unknown to the ML
service) may fire. Before executing a signal the loop

1. asks for volatility-scaled stop-loss / take-profit levels (``POST /ml/risk/stops``),
2. scores the signal with that trade plan (``POST /ml/signal/score``) and skips it below ``min_score``,
3. sizes the position for a target volatility from the champion forecast (``POST /ml/risk/position_size``),

then "executes" it on the bars that follow (stop, target or the holding horizon, whichever comes first) and
reports what happened (``POST /ml/signal/outcome``), so the service's win rate of similar signals, its
monitoring and its next retraining see the platform's real outcomes.

Run it against the quick start's service (``abtpro run`` prints the key)::

    .venv/bin/python examples/strategy_integration.py --key <api key> --symbol SP500

It replays the bundled sample's last ``--bars`` bars as "new" bars; a platform would use its own feed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from abtpro.client import ABTProClient
from serving.schemas import TradePlan

STRATEGY = "my_breakout"


def breakout_signals(bars: pd.DataFrame, window: int = 20) -> pd.Series:
    """+1 when the close breaks the previous ``window`` bars' high, -1 below their low, else 0."""
    high = bars["high"].rolling(window).max().shift(1)
    low = bars["low"].rolling(window).min().shift(1)
    side = np.where(bars["close"] > high, 1, np.where(bars["close"] < low, -1, 0))
    return pd.Series(side, index=bars.index, name="side")


@dataclass
class Trade:
    signal_id: int
    side: int
    entry: float
    stop: float
    target: float
    units: float
    exit_ts: pd.Timestamp | None = None
    exit_price: float | None = None


@dataclass
class LoopResult:
    scored: int = 0
    taken: int = 0
    reported: int = 0
    responses: list = field(default_factory=list)  # every score answer, in order
    trades: list[Trade] = field(default_factory=list)


def execute(trade: Trade, after: pd.DataFrame, horizon: int) -> Trade:
    """Close ``trade`` at its stop or target (stop first when a bar touches both) or after ``horizon`` bars."""
    for ts, bar in after.iloc[:horizon].iterrows():
        hit_stop = bar["low"] <= trade.stop if trade.side > 0 else bar["high"] >= trade.stop
        hit_target = bar["high"] >= trade.target if trade.side > 0 else bar["low"] <= trade.target
        if hit_stop or hit_target:
            trade.exit_ts, trade.exit_price = ts, trade.stop if hit_stop else trade.target
            return trade
    if len(after) >= horizon:
        trade.exit_ts, trade.exit_price = after.index[horizon - 1], float(after["close"].iloc[horizon - 1])
    return trade


def run(ml: ABTProClient, symbol: str, bars: pd.DataFrame, timeframe: str = "1d", last: int = 250,
        horizon: int = 10, take_all: bool = False, equity: float = 100_000.0, target_vol: float = 0.10,
        max_signals: int | None = None, window: int = 20) -> LoopResult:
    """The loop over the last ``last`` bars of ``bars`` (the service must hold the same bars of ``symbol``).

    A signal is traded when the service says so (``prediction`` BUY/SELL, not HOLD), or always with ``take_all``
    (a platform collecting outcomes of a new strategy); one not traded is reported as not filled."""
    out = LoopResult()
    sides = breakout_signals(bars, window)
    start = len(bars) - last
    for i in range(start, len(bars) - horizon):
        side = int(sides.iloc[i])
        if side == 0:
            continue
        ts, name = bars.index[i], "BUY" if side > 0 else "SELL"
        stops = ml.stops(symbol=symbol, timeframe=timeframe, side=name, as_of=ts, horizon_bars=horizon)
        plan = TradePlan(stop_loss=stops.stop_loss, take_profit=stops.take_profit, horizon_bars=horizon)
        scored = ml.score_signal(symbol=symbol, timeframe=timeframe, strategy=STRATEGY, side=name, ts=ts,
                                 strength=1.0, plan=plan)
        out.scored += 1
        out.responses.append(scored)
        if take_all or scored.prediction != "HOLD":
            size = ml.position_size(symbol=symbol, timeframe=timeframe, equity=equity, target_volatility=target_vol,
                                    as_of=ts, price=float(bars["close"].iloc[i]))
            trade = execute(Trade(scored.id, side, float(bars["close"].iloc[i]), stops.stop_loss, stops.take_profit,
                                  size.units), bars.iloc[i + 1:], horizon)
            out.taken += 1
            out.trades.append(trade)
            if trade.exit_ts is not None:
                ml.report_outcome(scored.id, filled=True, exit_ts=trade.exit_ts, exit_price=trade.exit_price)
                out.reported += 1
        else:
            ml.report_outcome(scored.id, filled=False)
            out.reported += 1
        if max_signals is not None and out.scored >= max_signals:
            break
    return out


def main() -> None:
    from ml.datasets import load_sample

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000")
    parser.add_argument("--key", required=True, help="an API key (abtpro users create NAME)")
    parser.add_argument("--symbol", default="SP500")
    parser.add_argument("--bars", type=int, default=250, help="replay the last this many bars (they must be in the "
                                                                "service's store: the quick start's replay puts them there)")
    args = parser.parse_args()
    bars = load_sample(args.symbol)
    with ABTProClient(args.url, api_key=args.key) as ml:
        result = run(ml, args.symbol, bars, last=args.bars)
    wins = sum(1 for t in result.trades if t.exit_price is not None and t.side * (t.exit_price - t.entry) > 0)
    print(f"{result.scored} signals of {STRATEGY} scored, {result.taken} traded, {wins} won, "
          f"{result.reported} outcomes reported")


if __name__ == "__main__":
    main()
