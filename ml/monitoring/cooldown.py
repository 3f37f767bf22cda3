"""Whether a retrain may fire (pure): the cooldown between two fired triggers in bars of data time, and its
backoff after retrains in a row that lost to the champion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CooldownDecision:
    """Whether a retrain may fire now."""

    allowed: bool
    reason: str
    next_allowed_at: datetime | None = None


def bar_cooldown_check(last_fired_ts: datetime | None, bars_since: int, current_ts: datetime | None,
                       cooldown_bars: int) -> CooldownDecision:
    """May a retrain fire, counting the cooldown in bars of data time?

    Args:
        last_fired_ts: newest bar (data time) of the window judged by the last trigger that fired (None: none).
        bars_since: stored bars of the series between that bar (exclusive) and ``current_ts`` (inclusive).
        current_ts: newest bar of the window judged now.
        cooldown_bars: bars that must lie between two fired triggers.
    """
    if last_fired_ts is None:
        return CooldownDecision(True, "no earlier retrain trigger")
    if current_ts is not None and bars_since >= cooldown_bars:
        return CooldownDecision(True, f"{bars_since} bars since the last trigger at {last_fired_ts:%Y-%m-%d %H:%M} "
                                      f"(cooldown {cooldown_bars} bars)")
    return CooldownDecision(False, f"in cooldown: {bars_since} of {cooldown_bars} bars since the last trigger at "
                                   f"{last_fired_ts:%Y-%m-%d %H:%M} (data time)")


@dataclass(frozen=True)
class RetrainRecord:
    """One earlier fired trigger of the champion being judged: whether its retrain is still open, and whether
    its candidate was promoted (None while open or when it failed)."""

    trigger_id: int
    open: bool
    promoted: bool | None


def retrain_backoff(cooldown_bars: int, history: list[RetrainRecord], max_doublings: int = 3) -> tuple[int, str | None]:
    """The cooldown for the next trigger of a champion, and why a trigger may not fire at all.

    ``history`` holds the champion's fired triggers, newest first. While one of them is still open (its retrain
    queued or running) no new one fires: it would retrain on nearly the same data. After each retrain in a row
    that lost to the champion, the cooldown doubles (up to ``2 ** max_doublings`` times): a champion that keeps
    drifting but keeps winning is not retrained every ``cooldown_bars`` bars. A promotion starts a new champion,
    so its history is empty again.

    Returns:
        (cooldown in bars, the reason no trigger may fire now, or None).
    """
    for record in history:
        if record.open:
            return cooldown_bars, f"the retrain of trigger #{record.trigger_id} for this champion is still open"
    lost = 0
    for record in history:
        if record.promoted is not False:
            break
        lost += 1
    factor = 2 ** min(lost, max_doublings)
    return cooldown_bars * factor, None


def backoff_note(cooldown_bars: int, effective: int) -> str:
    """What the trigger's reasons say when the cooldown was lengthened."""
    return (f"cooldown {effective} bars: {cooldown_bars} x {effective // cooldown_bars} after "
            f"{(effective // cooldown_bars).bit_length() - 1} retrain(s) in a row that lost to this champion")
