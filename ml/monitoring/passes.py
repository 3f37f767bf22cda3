"""When monitoring passes fall due, in bars of data time, and what each pass may see (pure): catch-up passes
judged as of the bar they fell due at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PassDecision:
    """Whether a model gets a new monitoring pass, and why (or why not: "no new data ...")."""

    due: bool
    reason: str


def pass_due(newest_resolved: datetime | None, last_window_end: datetime | None, has_previous: bool,
             bars_since: int, every_bars: int) -> PassDecision:
    """Is a monitoring pass due? Only when the newest resolved outcome advanced by ``every_bars`` bars.

    Args:
        newest_resolved: data time (origin bar) of the newest resolved outcome in the window now.
        last_window_end: ``window_end`` of the model version's last recorded pass (its newest resolved outcome).
        has_previous: whether the model version has a recorded pass at all.
        bars_since: stored bars of the window's series after ``last_window_end`` up to ``newest_resolved``.
        every_bars: bars of data time between two passes (0: every call is a pass).
    """
    if every_bars <= 0:
        return PassDecision(True, "every call is a pass (every_bars=0)")
    if not has_previous:
        return PassDecision(True, "first monitoring pass of this version")
    if newest_resolved is None:
        return PassDecision(False, "no new data: no resolved outcomes yet")
    if last_window_end is None:
        return PassDecision(True, f"first resolved outcomes (newest {newest_resolved:%Y-%m-%d %H:%M})")
    if newest_resolved > last_window_end and bars_since >= every_bars:
        return PassDecision(True, f"resolved outcomes advanced {bars_since} bars to {newest_resolved:%Y-%m-%d %H:%M}")
    return PassDecision(False, f"no new data: resolved outcomes advanced {max(bars_since, 0)} of {every_bars} bars "
                               f"since {last_window_end:%Y-%m-%d %H:%M}")


@dataclass(frozen=True)
class PassPoint:
    """One due monitoring pass of a catch-up (:func:`due_passes`).

    Attributes:
        as_of: data time of the pass: the newest bar it may know (predictions made up to it, outcomes known by it).
        window_end: origin of the newest outcome resolved by ``as_of`` (what :func:`pass_due` compares; None: none).
        reason: why it is due, in words.
    """

    as_of: pd.Timestamp
    window_end: pd.Timestamp | None
    reason: str


def newest_resolved_by(origins: object, resolved_at: object, as_of: pd.Timestamp) -> pd.Timestamp | None:
    """Origin of the newest outcome known at data time ``as_of`` (resolution time ``<= as_of``; None: none)."""
    origin, known = pd.DatetimeIndex(origins), pd.DatetimeIndex(resolved_at)
    mask = np.asarray(known.notna() & (known <= as_of) & (origin <= as_of))
    return pd.Timestamp(origin[mask].max()) if mask.any() else None


def due_passes(bar_times: object, origins: object, resolved_at: object, last_window_end: datetime | None,
               has_previous: bool, every_bars: int) -> list[PassPoint]:
    """Every monitoring pass due since a model version's last one, each as of the data time it fell due.

    Live, a pass falls due at the first bar at which the newest resolved outcome has advanced ``every_bars``
    bars past the last pass's ``window_end`` (:func:`pass_due`). A monitoring run that comes late (the loop
    coalesced several arrivals into one run, or the replay let a month of bars in before waiting) makes up
    for every pass it missed: it walks the stored bars since the last pass and returns each point at which
    one fell due, so that the passes are the same whether the loop ran after every bar or once a month.

    Args:
        bar_times: stored bar timestamps of the window's series (data time; any order, duplicates allowed).
        origins: origin bar of each live prediction of the version (``as_of`` / ``signal_ts``).
        resolved_at: data time at which each prediction's outcome became known (NaT: not resolved yet).
        last_window_end, has_previous: of the version's last recorded pass (see :func:`pass_due`).
        every_bars: bars of data time between two passes (0: one pass, now).

    Returns:
        The due passes, oldest first; a pass "now" (the newest bar) when the version has none or
        ``every_bars`` is 0; empty when none is due.
    """
    bars = pd.DatetimeIndex(bar_times).dropna().unique().sort_values()
    now = pd.Timestamp(bars[-1]) if len(bars) else pd.Timestamp(pd.NaT)
    if every_bars <= 0 or not has_previous:
        if pd.isna(now):
            return [PassPoint(now, None, "first monitoring pass of this version (no bars)")] if not has_previous \
                else [PassPoint(now, None, "every call is a pass (every_bars=0)")]
        end = newest_resolved_by(origins, resolved_at, now)
        return [PassPoint(now, end, "first monitoring pass of this version" if not has_previous
                          else "every call is a pass (every_bars=0)")]
    origin, known = pd.DatetimeIndex(origins), pd.DatetimeIndex(resolved_at)
    ok = np.asarray(known.notna())
    origin, known = origin[ok], known[ok]
    if not len(origin):
        return []
    previous = None if last_window_end is None else pd.Timestamp(last_window_end)
    start = known.min() if previous is None else max(known.min(), previous)
    passes: list[PassPoint] = []
    for as_of in bars[bars >= start]:
        end = newest_resolved_by(origin, known, as_of)
        if end is None:
            continue
        if previous is None:
            passes.append(PassPoint(pd.Timestamp(as_of), end, f"first resolved outcomes (newest {end:%Y-%m-%d %H:%M})"))
            previous = end
            continue
        advanced = int(((bars > previous) & (bars <= end)).sum())
        if end > previous and advanced >= every_bars:
            passes.append(PassPoint(pd.Timestamp(as_of), end,
                                    f"resolved outcomes advanced {advanced} bars to {end:%Y-%m-%d %H:%M} "
                                    f"(as of the bar of {as_of:%Y-%m-%d %H:%M})"))
            previous = end
    return passes


def resolution_times(bar_times: object, origins: object, horizon_bars: int, resolved: object) -> pd.DatetimeIndex:
    """Data time at which each volatility forecast resolved: the ``horizon_bars``-th bar after its origin.

    Args:
        bar_times: the series' stored bar timestamps, ascending.
        origins: forecast origins (``as_of``).
        horizon_bars: the horizon in bars.
        resolved: mask of the forecasts whose ``actual`` is stored (the others give NaT).
    """
    bars, origin = pd.DatetimeIndex(bar_times), pd.DatetimeIndex(origins)
    out = np.full(len(origin), np.datetime64("NaT"), dtype="datetime64[ns]")
    if not len(bars):
        return pd.DatetimeIndex(out)
    at = bars.searchsorted(origin, side="left")
    on_bar = np.asarray(bars[np.minimum(at, len(bars) - 1)] == origin)
    ok = on_bar & (at + horizon_bars < len(bars)) & np.asarray(resolved, dtype=bool)
    out[ok] = bars.to_numpy()[at[ok] + horizon_bars]
    return pd.DatetimeIndex(out)


def as_of_window(frame: pd.DataFrame, origin: str, outcomes: list[str], as_of: pd.Timestamp | None,
                 window: int) -> pd.DataFrame:
    """The live window a pass at data time ``as_of`` sees: the newest ``window`` rows made by then (origin
    ``<= as_of``), with the ``outcomes`` columns blanked (NaN) where the outcome was not known yet.

    Args:
        frame: live predictions, oldest first, with the ``origin`` column and ``resolved_at`` (data time at
            which the outcome became known, NaT while unresolved).
        origin: the origin column (``as_of`` of a forecast, ``signal_ts`` of a scored signal).
        outcomes: the columns filled once the outcome is known (``actual``; ``outcome``, ``realised_return``).
        as_of: data time of the pass (None or NaT: now, the frame's newest ``window`` rows as they are).
        window: most rows judged.
    """
    if as_of is None or pd.isna(as_of):
        return frame.iloc[-window:] if window > 0 else frame
    made = frame[pd.to_datetime(frame[origin]) <= as_of]
    view = (made.iloc[-window:] if window > 0 else made).copy()
    known = pd.to_datetime(view["resolved_at"])
    unknown = known.isna() | (known > as_of)
    for column in outcomes:
        view[column] = view[column].astype("float64").mask(unknown)
    return view
