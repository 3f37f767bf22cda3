"""Model monitoring decisions (pure): live accuracy vs validation, drift, and the retraining cooldown.

The monitoring flow measures a champion model on its recent, resolved live predictions and
compares each metric with the same metric the model earned out of sample at registration (its
MLflow run). Two families of evidence can ask for a retrain:

* **accuracy decay** (late: outcomes resolve only after the horizon) — e.g. live QLIKE more than
  ``max_qlike_increase`` above validation QLIKE, interval coverage fallen by more than
  ``max_coverage_drop``, a scorer's AUC below ``min_auc``;
* **feature drift** (early) — see :mod:`ml.drift`.

A cooldown then decides whether the retrain may actually fire, so that a persisting problem does not
start a retrain storm. Cooldowns and the spacing of monitoring passes count **bars of data time**
(:func:`bar_cooldown_check`, :func:`pass_due`), so they mean the same in a market replay and live.
Every function returns its reasons as text, which the flows record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from ml.classification_metrics import classification_report
from ml.drift import DriftReport
from ml.metrics import (
    directional_accuracy,
    interval_coverage,
    mean_interval_width,
    volatility_metrics,
)

OK = "ok"
RETRAIN = "retrain"
INSUFFICIENT = "insufficient_data"


@dataclass(frozen=True)
class Tolerances:
    """How far live metrics may fall behind validation metrics before a retrain is asked for.

    Attributes:
        max_qlike_increase: Relative QLIKE increase over validation tolerated (0.2 = +20%).
        max_coverage_drop: Absolute drop of interval coverage below validation tolerated.
        min_auc: Floor on a scorer's live AUC.
        max_brier_increase: Relative Brier-score increase over validation tolerated.
        min_resolved: Fewest resolved live outcomes needed to judge accuracy at all.
    """

    max_qlike_increase: float = 0.2
    max_coverage_drop: float = 0.15
    min_auc: float = 0.55
    max_brier_increase: float = 0.2
    min_resolved: int = 50


@dataclass(frozen=True)
class Check:
    """One tolerance check: the live value, the validation value it is held against, the limit."""

    name: str
    live: float | None
    validation: float | None
    limit: float | None
    passed: bool
    reason: str


@dataclass(frozen=True)
class MonitoringDecision:
    """Whether the model needs retraining, with every check and the reasons in words."""

    status: str
    retrain: bool
    reasons: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"status": self.status, "retrain": self.retrain, "reasons": list(self.reasons),
                "checks": [asdict(c) for c in self.checks]}


@dataclass(frozen=True)
class CooldownDecision:
    """Whether a retrain may fire now."""

    allowed: bool
    reason: str
    next_allowed_at: datetime | None = None


def _num(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def resolved(realised: object, forecast: object) -> np.ndarray:
    """Mask of the forecasts that count: realised vol known (finite) and positive, forecast finite."""
    y, p = (np.asarray(v, dtype="float64") for v in (realised, forecast))
    with np.errstate(invalid="ignore"):
        return np.isfinite(y) & (y > 0) & np.isfinite(p)


def volatility_accuracy(realised: object, forecast: object, current: object = None, lower: object = None,
                        upper: object = None) -> dict[str, float]:
    """The one accuracy computation of volatility forecasts (training, monitoring and the API use it).

    Only :func:`resolved` forecasts count. Directional accuracy is scored on those with a finite
    ``current`` level, interval coverage and width on those with both bounds (NaN = no interval).

    Args:
        realised: Realised volatility over each forecast's horizon (NaN while unresolved).
        forecast: Forecast volatility.
        current: Optional realised volatility up to each origin (for ``dir_acc``).
        lower: Optional lower interval bounds.
        upper: Optional upper interval bounds.

    Returns:
        ``n, qlike, mse, rmse, mae`` (:func:`ml.metrics.volatility_metrics`) plus ``dir_acc`` and
        ``coverage``, ``width`` when some counted forecast has what they need; ``{"n": 0.0}`` when
        nothing counts.
    """
    keep = resolved(realised, forecast)
    if not keep.any():
        return {"n": 0.0}
    y, p = (np.asarray(v, dtype="float64") for v in (realised, forecast))
    out = volatility_metrics(y[keep], p[keep])
    if current is not None:
        cur = np.asarray(current, dtype="float64")
        ok = keep & np.isfinite(cur)
        if ok.any():
            out["dir_acc"] = directional_accuracy(y[ok], p[ok], cur[ok])
    if lower is not None and upper is not None:
        lo, hi = (np.asarray(v, dtype="float64") for v in (lower, upper))
        ok = keep & ~np.isnan(lo) & ~np.isnan(hi)
        if ok.any():
            out["coverage"] = interval_coverage(y[ok], lo[ok], hi[ok])
            out["width"] = mean_interval_width(lo[ok], hi[ok])
    return out


def volatility_live_metrics(frame: pd.DataFrame) -> dict[str, float]:
    """Accuracy of live volatility forecasts: :func:`volatility_accuracy` of a frame of them.

    Args:
        frame: Columns ``predicted``, ``actual`` (realised vol, NaN when unresolved) and optionally
            ``lower``, ``upper`` (interval) and ``trailing`` (realised vol up to the origin).

    Returns:
        ``n, qlike, mse, rmse, mae`` and, when the columns exist, ``dir_acc``, ``coverage``, ``width``;
        ``{"n": 0.0}`` when nothing is resolved.
    """
    return volatility_accuracy(frame["actual"], frame["predicted"], frame.get("trailing"), frame.get("lower"),
                               frame.get("upper"))


def scorer_live_metrics(frame: pd.DataFrame, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy of resolved signal scores and the win rate of taken vs rejected signals.

    Args:
        frame: Columns ``score`` (P(success)), ``outcome`` (1/0, NaN when unresolved), optionally
            ``taken`` (bool: the score passed the user's threshold) and ``realised_return``.
        threshold: Score threshold for precision/recall when ``taken`` is absent.

    Returns:
        ``n, auc, brier, precision, recall, ...`` (:func:`ml.classification_metrics.classification_report`)
        plus ``win_rate_taken``, ``win_rate_rejected`` and ``mean_return_taken``/``_rejected``.
    """
    ok = frame[frame["outcome"].notna()]
    if ok.empty:
        return {"n": 0.0}
    y, p = ok["outcome"].astype(float).to_numpy(), ok["score"].astype(float).to_numpy()
    out = classification_report(y, p, threshold)
    taken = ok["taken"].astype(bool).to_numpy() if "taken" in ok else p >= threshold
    for label, mask in (("taken", taken), ("rejected", ~taken)):
        out[f"n_{label}"] = float(mask.sum())
        out[f"win_rate_{label}"] = float(y[mask].mean()) if mask.any() else float("nan")
        if "realised_return" in ok:
            rets = ok["realised_return"].astype(float).to_numpy()[mask]
            out[f"mean_return_{label}"] = float(np.nanmean(rets)) if mask.any() else float("nan")
    return out


def validation_value(validation: Mapping[str, float], metric: str, symbols: list[str] | None = None) -> float | None:
    """The validation value of ``metric``: the mean of its per-symbol values for ``symbols`` when the
    run logged them (``<metric>_<symbol>``), else ``<metric>_mean``, else ``<metric>``."""
    if symbols:
        per = [_num(validation.get(f"{metric}_{s}")) for s in symbols]
        per = [v for v in per if v is not None]
        if per:
            return float(np.mean(per))
    for key in (f"{metric}_mean", metric):
        if _num(validation.get(key)) is not None:
            return _num(validation.get(key))
    return None


def _relative_check(name: str, live: float | None, ref: float | None, max_increase: float) -> Check | None:
    if live is None or ref is None or ref <= 0:
        return None
    limit = ref * (1.0 + max_increase)
    passed = live <= limit
    change = live / ref - 1.0
    verb = "within" if passed else "exceeds"
    return Check(name, live, ref, limit, passed,
                 f"live {name} {live:.4g} vs validation {ref:.4g} ({change:+.1%}) {verb} tolerance +{max_increase:.0%}")


def volatility_checks(live: Mapping[str, float], validation: Mapping[str, float], tolerances: Tolerances,
                      symbols: list[str] | None = None) -> list[Check]:
    """Tolerance checks of a volatility model: QLIKE (relative) and interval coverage (absolute drop).

    MAE/RMSE are reported but not checked: they scale with the volatility level, so a calmer or
    wilder market moves them without any loss of skill (QLIKE is scale-free).
    """
    checks = []
    qlike = _relative_check("qlike", _num(live.get("qlike")), validation_value(validation, "qlike", symbols),
                            tolerances.max_qlike_increase)
    if qlike:
        checks.append(qlike)
    cov, ref = _num(live.get("coverage")), validation_value(validation, "coverage", symbols)
    if cov is not None and ref is not None:
        limit = ref - tolerances.max_coverage_drop
        passed = cov >= limit
        checks.append(Check("coverage", cov, ref, limit, passed,
                            f"live interval coverage {cov:.1%} vs validation {ref:.1%} "
                            f"({'within' if passed else 'below'} tolerance -{tolerances.max_coverage_drop:.0%})"))
    return checks


def scorer_checks(live: Mapping[str, float], validation: Mapping[str, float], tolerances: Tolerances) -> list[Check]:
    """Tolerance checks of a signal scorer: AUC floor and Brier score (relative to validation)."""
    checks = []
    auc = _num(live.get("auc"))
    if auc is not None:
        passed = auc >= tolerances.min_auc
        checks.append(Check("auc", auc, validation_value(validation, "auc"), tolerances.min_auc, passed,
                            f"live AUC {auc:.3f} {'at or above' if passed else 'below'} the floor {tolerances.min_auc:.3f}"))
    brier = _relative_check("brier", _num(live.get("brier")), validation_value(validation, "brier"),
                            tolerances.max_brier_increase)
    if brier:
        checks.append(brier)
    return checks


def decide(checks: list[Check], n_resolved: int, drift: DriftReport | None, tolerances: Tolerances) -> MonitoringDecision:
    """Combine accuracy checks and drift into one decision.

    Accuracy is judged only with at least ``min_resolved`` outcomes; drift is judged whenever a
    report is given. The model needs a retrain when an accuracy check fails or the feature set drifted.
    """
    reasons: list[str] = []
    judged = n_resolved >= tolerances.min_resolved
    failed = [c for c in checks if not c.passed] if judged else []
    reasons += [f"accuracy decay: {c.reason}" for c in failed]
    if drift is not None and drift.drifted:
        reasons.append(f"feature drift: {drift.share_drifted:.0%} of {len(drift.features)} features drifted "
                       f"({', '.join(drift.drifted_features)})")
    if reasons:
        return MonitoringDecision(RETRAIN, True, reasons, list(checks))
    if not judged and (drift is None or not drift.features):
        return MonitoringDecision(INSUFFICIENT, False,
                                  [f"{n_resolved} resolved outcomes < {tolerances.min_resolved}; no drift sample"],
                                  list(checks))
    not_judged = f"accuracy not judged: {n_resolved} resolved outcomes < {tolerances.min_resolved}"
    notes = [c.reason for c in checks] if judged else [not_judged]
    if drift is not None and drift.features:
        notes.append(f"no feature drift: {drift.share_drifted:.0%} of {len(drift.features)} features drifted")
    return MonitoringDecision(OK, False, notes, list(checks))


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
