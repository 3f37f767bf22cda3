"""Resolved platform signals as training rows of the signal-quality scorer.

Every signal the service scored is stored with its exact feature row; once the platform reports what happened
(or the outcome backfill resolves it by triple barrier on its own trade plan) it is a labelled example like the
bar-derived ones. :func:`platform_signal_sets` turns those stored rows into :class:`SignalSet`\\ s aligned to
the training feature columns (a column the stored row lacks is NaN, one the scorer does not use is dropped),
with ``t0`` = the signal time (the row's index) and ``t1`` = the exit time (``labels["exit_time"]``), so pooled
with the bar-derived sets the purged walk-forward CV purges them by their label interval like any other signal.

:func:`training_digest` folds the rows' content into the training data's identity (tag ``data_digest``): a new
outcome changes it, an unchanged table does not, and with no platform rows it is the bars' digest unchanged.

The rows carry a pseudonymous user id (``user``), never the raw one; it is lineage, not a feature.

Pure: pandas/numpy/hashlib only.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml.signal_quality.bundle import SignalSet
from ml.signal_quality.features import caller_columns
from ml.signal_quality.labels import LABEL_COLUMNS, average_uniqueness

#: The columns a stored platform row has (what :mod:`store.training_outcomes` returns).
PLATFORM_COLUMNS = ["score_id", "user", "symbol", "timeframe", "strategy", "side", "signal_ts", "exit_ts",
                    "label", "ret", "barrier", "features"]
#: Suffix of the pooled set names of platform rows: ``"<symbol>|<strategy>@platform"``.
PLATFORM_SUFFIX = "@platform"


def _naive_utc(values) -> pd.DatetimeIndex:
    idx = pd.DatetimeIndex(pd.to_datetime(values))
    return idx.tz_convert("UTC").tz_localize(None) if idx.tz is not None else idx


def usable_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows with a 0/1 label, a side (+1/-1), both times, and an exit not before the signal."""
    if rows.empty:
        return rows
    label = pd.to_numeric(rows["label"], errors="coerce")
    t0, t1 = _naive_utc(rows["signal_ts"]), _naive_utc(rows["exit_ts"])
    side = pd.to_numeric(rows["side"], errors="coerce")
    ok = label.isin([0.0, 1.0]).to_numpy() & side.isin([1, -1]).to_numpy() & ~t0.isna() & ~t1.isna()
    ok &= np.asarray(t1 >= t0)
    return rows[ok]


def platform_signal_set(rows: pd.DataFrame, feature_columns: Sequence[str]) -> SignalSet:
    """One :class:`SignalSet` from stored, resolved platform rows (``PLATFORM_COLUMNS``).

    Args:
        rows: Stored scored signals with their outcome: ``features`` (dict of feature name -> value, as scored),
            ``label`` (1/0), ``signal_ts`` (t0), ``exit_ts`` (t1), ``side`` (+1/-1), ``strategy``, ``ret``,
            ``barrier``. Rows without a 0/1 label, a side or an exit time, or exiting before the signal, are dropped.
        feature_columns: The training feature columns, in order.

    Returns:
        ``X`` indexed by signal time with exactly ``feature_columns`` (float64; NaN where the stored row lacks
        the column; ``side`` from the row when the features lack it), ``labels`` with the triple-barrier label
        columns (``entry_time`` = t0, ``exit_time`` = t1; price/barrier-size columns NaN) plus ``strategy``,
        uniqueness weights over the rows' own label intervals, and an empty history (the service reads
        platform outcomes from the database at request time, so the bundle does not repeat them).
    """
    rows = usable_rows(rows.reset_index(drop=True)).reset_index(drop=True)
    t0, t1 = _naive_utc(rows["signal_ts"]), _naive_utc(rows["exit_ts"])
    index = pd.DatetimeIndex(t0, name="ts")
    feats = pd.DataFrame([dict(f) if isinstance(f, dict) else {} for f in rows["features"]], index=index)
    X = feats.reindex(columns=list(feature_columns)).apply(pd.to_numeric, errors="coerce").astype("float64")
    side = pd.to_numeric(rows["side"], errors="coerce").to_numpy(dtype="float64")
    if "side" in X.columns:
        X["side"] = np.where(X["side"].isna(), side, X["side"].to_numpy())
    labels = pd.DataFrame({c: np.nan for c in LABEL_COLUMNS}, index=index)
    labels = labels.assign(side=side.astype("int64") if len(rows) else side, entry_time=t0, exit_time=t1,
                           ret=pd.to_numeric(rows["ret"], errors="coerce").to_numpy(dtype="float64"),
                           barrier=rows["barrier"].astype(object).to_numpy(),
                           label=pd.to_numeric(rows["label"]).to_numpy(dtype="float64"),
                           strategy=rows["strategy"].astype(str).to_numpy())
    labels["holding_bars"] = np.nan
    timeline = pd.DatetimeIndex(np.union1d(t0.to_numpy(), t1.to_numpy()))
    weights = average_uniqueness(labels, timeline) if len(rows) else pd.Series([], index=index, dtype="float64")
    history = pd.DataFrame(columns=["symbol", "strategy", "side", "exit_time", "label", "ret"])
    return SignalSet(X, labels, weights.rename("uniqueness"), history)


#: Resolved platform rows a strategy-supplied feature needs before training uses it.
MIN_CALLER_ROWS = 30


def caller_feature_columns(rows: pd.DataFrame | None, min_rows: int = MIN_CALLER_ROWS) -> list[str]:
    """The strategy-supplied feature columns (``caller_*``) that at least ``min_rows`` usable platform rows carry
    (a finite value), sorted: the ones a retrain adds to the feature columns (the bar-derived rows lack them:
    NaN, which the scorer handles as missing)."""
    if rows is None or rows.empty:
        return []
    counts: dict[str, int] = {}
    for features in usable_rows(rows)["features"]:
        for name in caller_columns((features or {}).keys()) if isinstance(features, dict) else []:
            value = features[name]
            if isinstance(value, int | float) and math.isfinite(float(value)):
                counts[name] = counts.get(name, 0) + 1
    return sorted(name for name, n in counts.items() if n >= min_rows)


def platform_signal_sets(rows: pd.DataFrame, feature_columns: Sequence[str]) -> dict[str, SignalSet]:
    """The usable platform rows as one set per (symbol, strategy), named ``"<symbol>|<strategy>@platform"`` (so
    the out-of-sample report shows them per dataset apart from the bar-derived signals); empty sets omitted."""
    rows = usable_rows(rows)
    out: dict[str, SignalSet] = {}
    for (symbol, strategy), group in rows.groupby(["symbol", "strategy"], sort=True):
        s = platform_signal_set(group, feature_columns)
        if len(s.X):
            out[f"{symbol}|{strategy}{PLATFORM_SUFFIX}"] = s
    return out


def _plain(value):
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp | np.datetime64):
        return str(pd.Timestamp(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if value is None or (not isinstance(value, str | bool | int) and pd.isna(value)):
        return None
    return value if isinstance(value, str | bool | int) else str(value)


def platform_digest(rows: pd.DataFrame) -> str:
    """Content hash of the usable platform rows (features, label, times, side, strategy, series), in score id
    order; the pseudonymous user is not part of it."""
    rows = usable_rows(rows)
    fields = [c for c in PLATFORM_COLUMNS if c != "user" and c in rows.columns]
    records = rows.sort_values("score_id")[fields].to_dict("records") if len(rows) else []
    text = json.dumps([{k: _plain(v) for k, v in r.items()} for r in records], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def training_digest(bars_digest: str, rows: pd.DataFrame | None) -> str:
    """The training data's identity: the bars' digest alone when no platform row is usable (so a model trained
    before platform outcomes existed stays up to date), else a hash of both."""
    if rows is None or usable_rows(rows).empty:
        return bars_digest
    return hashlib.sha256(f"{bars_digest}+platform:{platform_digest(rows)}".encode()).hexdigest()[:16]
