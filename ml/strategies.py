"""Primary trading strategies: target positions and entry signals from a bars frame.

Every strategy is a frozen dataclass whose fields are its named parameters. It answers two
questions about a bars frame (``ts`` index, ``open high low close volume``):

* ``positions(bars)`` -- the target position per bar in ``{-1, 0, +1}``, decided with the
  information available at the bar's close, i.e. meant to be executed at the NEXT bar's open;
* ``signals(bars)`` -- one row per entry or flip event (``side`` +1 BUY / -1 SELL and a
  non-negative ``strength``), indexed by the ``ts`` of the bar at whose close it fires. This is
  the "primary model" of meta-labelling (López de Prado, *Advances in Financial ML*, ch. 3).

``positions_batch`` evaluates many parameter sets at once (indicators are computed once per
distinct window, event states are forward-filled with one array operation across sets); the
single-set ``positions`` goes through the same code, so the two always agree.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import ClassVar, NamedTuple

import numpy as np
import pandas as pd


class ParamSpec(NamedTuple):
    """Search range of one strategy parameter.

    Attributes:
        low: Smallest allowed value (inclusive).
        high: Largest allowed value (inclusive).
        kind: ``"int"`` or ``"float"``.
        step: Grid resolution (used by grid search and discretised agents).
    """

    low: float
    high: float
    kind: str = "int"
    step: float = 1.0

    def grid(self) -> np.ndarray:
        """Return the evenly spaced grid ``low, low+step, ..., <= high``."""
        values = np.arange(self.low, self.high + self.step / 2, self.step)
        return values.astype(int) if self.kind == "int" else values.astype(float)

    def cast(self, value: float) -> float | int:
        """Clip ``value`` into ``[low, high]`` and round it to an int if ``kind == "int"``."""
        clipped = min(max(float(value), self.low), self.high)
        return int(round(clipped)) if self.kind == "int" else float(clipped)


# ----------------------------------------------------------------------------------- helpers


def _close(bars: pd.DataFrame) -> np.ndarray:
    return bars["close"].to_numpy(dtype=float)


def sma_matrix(values: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Simple moving averages of ``values`` for many windows at once (cumulative-sum trick).

    Args:
        values: 1-D array of length ``n``.
        windows: 1-D int array of ``k`` window lengths (>= 1).

    Returns:
        ``(n, k)`` array; the first ``w - 1`` rows of a column with window ``w`` are NaN.
    """
    n = len(values)
    csum = np.concatenate([[0.0], np.cumsum(values)])
    rows = np.arange(n)[:, None]
    w = np.asarray(windows, dtype=int)[None, :]
    lagged = np.clip(rows + 1 - w, 0, None)
    out = (csum[rows + 1] - csum[lagged]) / w
    out[rows < w - 1] = np.nan
    return out


def rolling_extreme(values: np.ndarray, window: int, how: str) -> np.ndarray:
    """Max (``how="max"``) or min of the ``window`` bars BEFORE each bar (current bar excluded).

    The first ``window`` entries are NaN.
    """
    series = pd.Series(values)
    rolled = series.rolling(window).max() if how == "max" else series.rolling(window).min()
    return rolled.shift(1).to_numpy()


def wilder_rsi(close: np.ndarray, period: int) -> np.ndarray:
    """Relative Strength Index with Wilder's smoothing (Wilder 1978); first ``period`` bars NaN."""
    delta = np.diff(close, prepend=np.nan)
    gain = pd.Series(np.clip(delta, 0, None)).ewm(alpha=1.0 / period, adjust=False).mean()
    loss = pd.Series(np.clip(-delta, 0, None)).ewm(alpha=1.0 / period, adjust=False).mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = 100.0 - 100.0 / (1.0 + gain.to_numpy() / loss.to_numpy())
    rsi = np.where(loss.to_numpy() == 0, 100.0, rsi)
    rsi[: period + 1] = np.nan
    return rsi


def ffill_events(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Forward-fill event ``values`` where ``mask`` is True along the time axis (axis 1).

    Both arrays have the ``(n_sets, n_bars)`` layout; states before a row's first event are 0.
    Implemented as one ``np.repeat`` of the event values over their run lengths (no Python loop,
    no 2-D accumulate), which is what makes batches of hundreds of parameter sets cheap.

    Returns:
        An int8 array of the same shape.
    """
    breaks = np.array(mask, dtype=bool, copy=True)
    breaks[:, 0] = True
    flat = np.flatnonzero(breaks)
    vals = np.where(mask.ravel()[flat], values.ravel()[flat], 0).astype(np.int8)
    lengths = np.diff(np.append(flat, breaks.size))
    return np.repeat(vals, lengths).reshape(breaks.shape)


def sign_rows(diff: np.ndarray) -> np.ndarray:
    """Sign of ``diff`` as int8 (NaN -> 0)."""
    return (diff > 0).view(np.int8) - (diff < 0).view(np.int8)


def crossings(sign: np.ndarray) -> np.ndarray:
    """Bars (axis 1) where ``sign`` of fast - slow flips strictly between -1 and +1.

    Same rule as ``backtesting.lib.crossover``: ``fast[t-1] < slow[t-1] and fast[t] > slow[t]``
    (or the reverse); a touch (equality) or a NaN is not a crossing.
    """
    cross = np.zeros(sign.shape, dtype=bool)
    cross[:, 1:] = (sign[:, 1:] != sign[:, :-1]) & (sign[:, :-1] != 0) & (sign[:, 1:] != 0)
    return cross


# ------------------------------------------------------------------------------------- base


class Strategy(ABC):
    """Abstract primary strategy; concrete strategies are frozen dataclasses of their params."""

    name: ClassVar[str]
    space: ClassVar[dict[str, ParamSpec]]

    def params(self) -> dict:
        """Return the parameters as a plain dict (field name -> value)."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def param_space(cls) -> dict[str, ParamSpec]:
        """Return the search space: parameter name -> :class:`ParamSpec`."""
        return dict(cls.space)

    @classmethod
    def is_valid(cls, params: dict) -> bool:
        """Return True when ``cls(**params)`` is a valid strategy (e.g. ``fast < slow``)."""
        try:
            cls(**params)
        except (TypeError, ValueError):
            return False
        return True

    def positions(self, bars: pd.DataFrame) -> pd.Series:
        """Target position per bar in ``{-1, 0, +1}``, to be executed at the next bar's open."""
        column = type(self)._positions_rows(bars, [self])[0]
        return pd.Series(column.astype(np.int64), index=bars.index, name="position")

    def signals(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Entry/flip events: ``side`` (+1 BUY, -1 SELL) and ``strength`` (>= 0), indexed by ``ts``."""
        pos = self.positions(bars).to_numpy()
        prev = np.concatenate([[0], pos[:-1]])
        fire = (pos != 0) & (pos != prev)
        strength = np.nan_to_num(np.clip(self._strength(bars, pos), 0.0, None), nan=0.0)
        frame = pd.DataFrame(
            {"side": pos[fire].astype(np.int64), "strength": strength[fire].astype(float)},
            index=bars.index[fire],
        )
        frame.index.name = "ts"
        return frame

    @classmethod
    def positions_batch(cls, bars: pd.DataFrame, param_sets: list[dict]) -> np.ndarray:
        """Target positions for many parameter sets: int8 array of shape ``(n_bars, n_sets)``.

        Raises:
            ValueError: if a parameter set is invalid (see :meth:`is_valid`).
        """
        strategies = [cls(**params) for params in param_sets]
        if not strategies:
            return np.zeros((len(bars), 0), dtype=np.int8)
        return cls._positions_rows(bars, strategies).T  # a view; rows stay contiguous per set

    @classmethod
    @abstractmethod
    def _positions_rows(cls, bars: pd.DataFrame, strategies: list) -> np.ndarray:
        """Vectorised positions of ``strategies`` (all of this class) as a ``(k, n)`` int8 array."""

    @abstractmethod
    def _strength(self, bars: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
        """Signal strength per bar for the side held in ``pos`` (only read at event bars)."""


# ------------------------------------------------------------------------------- strategies


@dataclass(frozen=True)
class RSIMeanReversion(Strategy):
    """Mean reversion on Wilder's RSI.

    Goes long when RSI < ``lower``, short when RSI > ``upper``, and goes flat when RSI crosses
    the mid-level ``(lower + upper) / 2`` (the reversion is done).

    Attributes:
        period: RSI look-back (bars).
        lower: Oversold threshold (long entry).
        upper: Overbought threshold (short entry).
    """

    period: int = 14
    lower: float = 30.0
    upper: float = 70.0

    name: ClassVar[str] = "rsi_mean_reversion"
    space: ClassVar[dict[str, ParamSpec]] = {
        "period": ParamSpec(2, 50, "int", 1),
        "lower": ParamSpec(10.0, 45.0, "float", 1.0),
        "upper": ParamSpec(55.0, 90.0, "float", 1.0),
    }

    def __post_init__(self) -> None:
        if int(self.period) < 2 or not 0 < self.lower < self.upper < 100:
            raise ValueError(f"invalid RSI parameters {self}")

    @classmethod
    def _positions_rows(cls, bars: pd.DataFrame, strategies: list) -> np.ndarray:
        close = _close(bars)
        periods = np.array([int(s.period) for s in strategies])
        uniq, inverse = np.unique(periods, return_inverse=True)
        rsi = np.vstack([wilder_rsi(close, int(p)) for p in uniq])[inverse]
        lower = np.array([s.lower for s in strategies], dtype=float)[:, None]
        upper = np.array([s.upper for s in strategies], dtype=float)[:, None]
        with np.errstate(invalid="ignore"):
            above_mid = rsi > (lower + upper) / 2
            buy, sell = rsi < lower, rsi > upper
        crossed_mid = np.zeros_like(above_mid)
        crossed_mid[:, 1:] = (above_mid[:, 1:] != above_mid[:, :-1]) & ~np.isnan(rsi[:, :-1])
        values = np.where(buy, 1, np.where(sell, -1, 0)).astype(np.int8)
        return ffill_events(values, buy | sell | crossed_mid)

    def _strength(self, bars: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
        rsi = wilder_rsi(_close(bars), int(self.period))
        buy = (self.lower - rsi) / self.lower
        sell = (rsi - self.upper) / (100.0 - self.upper)
        return np.where(pos > 0, buy, np.where(pos < 0, sell, 0.0))


@dataclass(frozen=True)
class SMACrossover(Strategy):
    """Moving-average crossover, always in the market after the first cross.

    Long after the fast SMA crosses strictly above the slow SMA, short after it crosses below
    (same rule as ``backtesting.lib.crossover``), flat before the first cross.

    Attributes:
        fast: Fast SMA window (bars), ``< slow``.
        slow: Slow SMA window (bars).
    """

    fast: int = 10
    slow: int = 30

    name: ClassVar[str] = "sma_crossover"
    space: ClassVar[dict[str, ParamSpec]] = {
        "fast": ParamSpec(2, 100, "int", 1),
        "slow": ParamSpec(10, 300, "int", 1),
    }

    def __post_init__(self) -> None:
        if not 1 <= int(self.fast) < int(self.slow):
            raise ValueError(f"SMACrossover needs 1 <= fast < slow, got {self}")

    @classmethod
    def _positions_rows(cls, bars: pd.DataFrame, strategies: list) -> np.ndarray:
        fast = np.array([int(s.fast) for s in strategies])
        slow = np.array([int(s.slow) for s in strategies])
        uniq, inverse = np.unique(np.concatenate([fast, slow]), return_inverse=True)
        smas = np.ascontiguousarray(sma_matrix(_close(bars), uniq).T)
        k = len(strategies)
        sign = sign_rows(smas[inverse[:k]] - smas[inverse[k:]])
        return ffill_events(sign, crossings(sign))

    def _strength(self, bars: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
        smas = sma_matrix(_close(bars), np.array([int(self.fast), int(self.slow)]))
        return np.abs(smas[:, 0] / smas[:, 1] - 1.0)


@dataclass(frozen=True)
class DonchianBreakout(Strategy):
    """Donchian channel breakout (turtle style).

    Long when the close breaks above the highest high of the previous ``window`` bars, short
    when it breaks below the lowest low; a long exits when the close falls below the lowest low
    of the previous ``exit_window`` bars (a short: above the highest high).

    Attributes:
        window: Entry channel length (bars).
        exit_window: Exit channel length (bars).
    """

    window: int = 20
    exit_window: int = 10

    name: ClassVar[str] = "donchian_breakout"
    space: ClassVar[dict[str, ParamSpec]] = {
        "window": ParamSpec(5, 100, "int", 1),
        "exit_window": ParamSpec(2, 50, "int", 1),
    }

    def __post_init__(self) -> None:
        if int(self.window) < 1 or int(self.exit_window) < 1:
            raise ValueError(f"DonchianBreakout needs positive windows, got {self}")

    @staticmethod
    def _channels(bars: pd.DataFrame, windows: np.ndarray) -> tuple[dict, dict]:
        high, low = bars["high"].to_numpy(float), bars["low"].to_numpy(float)
        uniq = np.unique(windows)
        return (
            {int(w): rolling_extreme(high, int(w), "max") for w in uniq},
            {int(w): rolling_extreme(low, int(w), "min") for w in uniq},
        )

    @classmethod
    def _positions_rows(cls, bars: pd.DataFrame, strategies: list) -> np.ndarray:
        close = _close(bars)[None, :]
        win = np.array([int(s.window) for s in strategies])
        ext = np.array([int(s.exit_window) for s in strategies])
        hh, ll = cls._channels(bars, np.concatenate([win, ext]))
        with np.errstate(invalid="ignore"):
            enter_long = close > np.vstack([hh[w] for w in win])
            enter_short = close < np.vstack([ll[w] for w in win])
            exit_long = close < np.vstack([ll[w] for w in ext])
            exit_short = close > np.vstack([hh[w] for w in ext])
        long_state = ffill_events(enter_long.view(np.int8), enter_long | exit_long | enter_short)
        short_state = ffill_events(enter_short.view(np.int8), enter_short | exit_short | enter_long)
        return long_state - short_state

    def _strength(self, bars: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
        hh, ll = self._channels(bars, np.array([int(self.window)]))
        close = _close(bars)
        top, bottom = hh[int(self.window)], ll[int(self.window)]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(pos > 0, close / top - 1.0, np.where(pos < 0, 1.0 - close / bottom, 0.0))


STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (RSIMeanReversion, SMACrossover, DonchianBreakout)
}


def get_strategy_class(name: str) -> type[Strategy]:
    """Return the strategy class registered under ``name`` (see :data:`STRATEGIES`)."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise KeyError(f"unknown strategy {name!r}; choose from {sorted(STRATEGIES)}") from None


def make_strategy(name: str, **params) -> Strategy:
    """Build the strategy registered under ``name`` with ``params`` (defaults for the rest)."""
    return get_strategy_class(name)(**params)


def positions_batch(strategy: str | type[Strategy], bars: pd.DataFrame, param_sets: list[dict]) -> np.ndarray:
    """Target positions of many parameter sets of one strategy: ``(n_bars, n_sets)`` int8 array."""
    cls = get_strategy_class(strategy) if isinstance(strategy, str) else strategy
    return cls.positions_batch(bars, param_sets)
