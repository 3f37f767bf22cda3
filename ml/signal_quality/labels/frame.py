"""The labels of a set of signals: :func:`triple_barrier_labels` and the frame it returns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.signal_quality.labels.barriers import _plan_configs, _resolve_one
from ml.signal_quality.labels.config import LABEL_COLUMNS, BarrierConfig, ewm_volatility


def triple_barrier_labels(
    bars: pd.DataFrame, signals: pd.DataFrame, config: BarrierConfig = BarrierConfig()  # noqa: B008 (frozen)
) -> pd.DataFrame:
    """Label each signal with its triple-barrier outcome.

    Args:
        bars: Bars frame (``ts`` index; open, high, low, close).
        signals: Frame indexed by signal ``ts`` (must be bars' timestamps) with an int ``side``
            column (+1 buy, -1 sell) and optionally a trade plan per signal: ``pt_mult``, ``sl_mult``,
            ``max_holding`` (NaN: ``config``'s); other columns are ignored.
        config: Barrier parameters.

    Returns:
        Frame indexed like ``signals`` with columns ``LABEL_COLUMNS``: ``vol`` and the barrier
        widths ``pt_ret``/``sl_ret`` (returns, known at signal time), ``exit_time`` (timestamp of
        the exit bar), side-adjusted ``ret``, ``holding_bars``, ``barrier`` ("pt", "sl",
        "vertical" or None) and ``label`` (1.0 / 0.0 / NaN when unresolved or vol unknown).
    """
    o, h, l, c = (bars[col].to_numpy(dtype="float64") for col in ("open", "high", "low", "close"))
    vol = ewm_volatility(bars["close"], config.vol_span).clip(lower=config.min_vol)
    pos = bars.index.get_indexer(signals.index)
    if (pos < 0).any():
        raise ValueError("every signal timestamp must be a bar timestamp")
    sig_vol = vol.to_numpy()[pos]
    configs = _plan_configs(signals, config)
    rows = []
    for p, side, v, cfg in zip(pos, signals["side"].to_numpy(dtype=int), sig_vol, configs):
        if p + 1 >= len(o) or not np.isfinite(v):
            rows.append({"barrier": None})
        else:
            rows.append(_resolve_one(o, h, l, c, p + 1, int(side), float(v), cfg))
    out = _assemble(bars.index, signals, pos, sig_vol, rows, config)
    out["pt_ret"] = np.array([cfg.pt_mult for cfg in configs]) * sig_vol
    out["sl_ret"] = np.array([cfg.sl_mult for cfg in configs]) * sig_vol
    return out

def _times_at(index: pd.DatetimeIndex, positions) -> pd.DatetimeIndex:
    """Timestamps at (possibly NaN / out-of-range) positions; NaT where there is none."""
    pos = np.asarray(positions, dtype=float)
    ok = np.isfinite(pos) & (pos < len(index))
    out = np.full(len(pos), np.datetime64("NaT"), dtype=index.dtype)
    out[ok] = index.to_numpy()[pos[ok].astype(int)]
    return pd.DatetimeIndex(out)


def _assemble(index, signals, pos, sig_vol, rows, config) -> pd.DataFrame:
    """Frame of per-signal outcomes with the ``LABEL_COLUMNS`` layout."""
    cols = ["entry_price", "exit_pos", "exit_price", "ret", "holding_bars", "barrier", "label"]
    out = pd.DataFrame(rows, index=signals.index).reindex(columns=cols)
    out["entry_time"] = _times_at(index, pos + 1)
    out["exit_time"] = _times_at(index, out.pop("exit_pos"))
    out["side"] = signals["side"].astype(int)
    out["vol"] = sig_vol
    out["pt_ret"] = config.pt_mult * sig_vol
    out["sl_ret"] = config.sl_mult * sig_vol
    out["label"] = out["label"].astype("float64")
    return out[LABEL_COLUMNS]
