"""The lockbox: a declared final window of every series that no selection step ever sees.

Rule (issue 19). For each series (one ``(symbol, timeframe)``) of ``n`` bars in time order:

* the **lockbox** is the last ``ceil(fraction * n)`` bars (default 20%);
* the **embargo** is the ``horizon`` bars just before the lockbox: they belong to neither part;
* the **selection** part is every bar before the embargo.

A label of a selection bar ``t`` spans ``[t, t + horizon]`` (a volatility target over ``t+1..t+h``, a
triple-barrier outcome of at most ``horizon`` bars), so with the embargo the last selection label ends at
the bar before the lockbox: nothing about the lockbox (its prices, its outcomes) can reach a model, feature,
hyperparameter, threshold or policy chosen on the selection part. Selection (purged walk-forward or
combinatorial purged CV, :mod:`ml.signal_quality.validation`) runs inside the selection part only; models are
then fitted on the selection part and scored once on the lockbox (:mod:`ml.scorecard`). Forecasts *inside*
the lockbox may read earlier bars (selection, embargo, earlier lockbox bars): that is what a deployed model
sees, and it chooses nothing.

Pure: pandas/numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

SERIES_KEYS = ("symbol", "timeframe")


@dataclass(frozen=True)
class Lockbox:
    """The declared lockbox of every series.

    Attributes:
        fraction: Share of each series' bars (at its end) locked away, in (0, 1).
        horizon: Embargo in bars between the selection part and the lockbox (the longest label horizon).
    """

    fraction: float = 0.2
    horizon: int = 10

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction < 1.0:
            raise ValueError(f"fraction must be in (0, 1), got {self.fraction}")
        if self.horizon < 0:
            raise ValueError(f"horizon must be >= 0 bars, got {self.horizon}")

    def bounds(self, n: int) -> tuple[int, int]:
        """``(selection_end, lockbox_start)`` positions for a series of ``n`` bars.

        The selection part is ``[0, selection_end)``, the embargo ``[selection_end, lockbox_start)``, the lockbox
        ``[lockbox_start, n)``. ValueError when the series is too short to leave a selection part.
        """
        n_lock = math.ceil(self.fraction * n - 1e-9)
        lockbox_start = n - n_lock
        selection_end = lockbox_start - self.horizon
        if n_lock < 1 or selection_end < 1:
            raise ValueError(f"a series of {n} bars is too short for a lockbox of {self.fraction:.0%} "
                             f"and an embargo of {self.horizon} bars")
        return selection_end, lockbox_start

    def lockbox_start(self, bars: pd.DataFrame) -> pd.Timestamp:
        """Timestamp of the first lockbox bar of one series (``bars`` indexed by time)."""
        return bars.index[self.bounds(len(bars))[1]]

    def split(self, df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(selection, lockbox)`` rows of ``df``, split per series.

        Args:
            df: Either one series (a bars frame indexed by time, no ``symbol`` column) or several in long format
                with a ``symbol`` column (and optionally ``timeframe``); each series is ordered by its index
                (or by a ``ts`` column when present) before it is split.

        Returns:
            The selection rows and the lockbox rows (the embargo rows are in neither), in the input's layout.
        """
        keys = [k for k in SERIES_KEYS if k in df.columns]
        if not keys:
            return self._split_one(df)
        selections, lockboxes = [], []
        for _, series in df.groupby(keys, sort=True):
            sel, lock = self._split_one(series)
            selections.append(sel)
            lockboxes.append(lock)
        return pd.concat(selections), pd.concat(lockboxes)

    def split_series(self, series: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
        """:meth:`split` applied to each bars frame of ``{name: bars}``."""
        parts = {name: self._split_one(bars) for name, bars in series.items()}
        return {k: v[0] for k, v in parts.items()}, {k: v[1] for k, v in parts.items()}

    def _split_one(self, series: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        ordered = series.sort_values("ts", kind="stable") if "ts" in series.columns else series.sort_index(kind="stable")
        selection_end, lockbox_start = self.bounds(len(ordered))
        return ordered.iloc[:selection_end], ordered.iloc[lockbox_start:]
