"""Triple-barrier outcomes of trading signals (López de Prado, *Advances in Financial ML*, ch. 3).

A primary strategy proposes a side at the close of a bar; the trade would enter at the next bar's
open. Three barriers decide whether acting on it would have paid:

* take-profit at ``entry * (1 + side * pt_mult * vol)``,
* stop-loss at ``entry * (1 - side * sl_mult * vol)``,
* a vertical barrier: exit at the close of the ``max_holding``-th bar held (the entry bar counts).

``vol`` is the EWM standard deviation of close-to-close returns known at the signal bar's close.
Touches are detected with each bar's high/low. When one bar touches both barriers we cannot know
the intrabar order, so the conservative rule is **stop-loss first**. A stop hit through a gap fills
at the (worse) open; a take-profit fills at its limit price. The label is 1 when take-profit is hit
first or the trade ends positive at the vertical barrier, else 0. A signal whose outcome is not
resolved by the end of the data keeps a NaN label (it is returned, never dropped).

Average-uniqueness sample weights (AFML ch. 4) down-weight labels that overlap in time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

LABEL_COLUMNS = [
    "side",
    "entry_time",
    "entry_price",
    "vol",
    "pt_ret",
    "sl_ret",
    "exit_time",
    "exit_price",
    "ret",
    "holding_bars",
    "barrier",
    "label",
]


@dataclass(frozen=True)
class BarrierConfig:
    """Triple-barrier parameters.

    Attributes:
        pt_mult: Take-profit distance in multiples of ``vol``.
        sl_mult: Stop-loss distance in multiples of ``vol``.
        max_holding: Bars held at most (vertical barrier); the entry bar is the first.
        vol_span: Span of the EWM standard deviation of close-to-close returns.
        min_vol: Floor on ``vol`` so that barriers never collapse onto the entry price.
    """

    pt_mult: float = 1.5
    sl_mult: float = 1.5
    max_holding: int = 10
    vol_span: int = 50
    min_vol: float = 1e-4


def ewm_volatility(close: pd.Series, span: int = 50) -> pd.Series:
    """EWM standard deviation of simple close-to-close returns, known at each bar's close.

    Args:
        close: Close prices indexed by ``ts``.
        span: EWM span in bars.

    Returns:
        Series aligned with ``close`` (NaN during warm-up).
    """
    return close.pct_change().ewm(span=span, min_periods=max(span // 2, 2)).std()


def _first_touch(hit_pt: np.ndarray, hit_sl: np.ndarray) -> tuple[int, str]:
    """Position of the first bar touching a barrier and which one ("pt"/"sl"); (-1, "") if none.

    When one bar touches both, the stop-loss is assumed first (conservative).
    """
    hits = np.flatnonzero(hit_pt | hit_sl)
    if hits.size == 0:
        return -1, ""
    k = int(hits[0])
    return k, ("sl" if hit_sl[k] else "pt")


def _resolve_one(o, h, l, c, j: int, side: int, vol: float, cfg: BarrierConfig) -> dict:
    """Outcome of one trade entering at the open of bar ``j`` (positions into the arrays)."""
    n = len(o)
    entry = o[j]
    up_mult, dn_mult = (cfg.pt_mult, cfg.sl_mult) if side > 0 else (cfg.sl_mult, cfg.pt_mult)
    upper, lower = entry * (1 + up_mult * vol), entry * (1 - dn_mult * vol)
    end = min(j + cfg.max_holding, n)
    hit_up, hit_dn = h[j:end] >= upper, l[j:end] <= lower
    k, barrier = _first_touch(*((hit_up, hit_dn) if side > 0 else (hit_dn, hit_up)))
    if k >= 0:
        pos = j + k
        if barrier == "sl":  # a stop gapped through fills at the open, otherwise at the stop price
            price = min(lower, o[pos]) if side > 0 else max(upper, o[pos])
        else:
            price = upper if side > 0 else lower
    elif j + cfg.max_holding <= n:
        pos, price, barrier = j + cfg.max_holding - 1, c[j + cfg.max_holding - 1], "vertical"
    else:
        return {"entry_price": entry, "barrier": None}
    ret = side * (price / entry - 1.0)
    label = 1.0 if barrier == "pt" or (barrier == "vertical" and ret > 0) else 0.0
    return {"entry_price": entry, "exit_pos": pos, "exit_price": price, "ret": ret,
            "holding_bars": pos - j + 1, "barrier": barrier, "label": label}


def triple_barrier_labels(
    bars: pd.DataFrame, signals: pd.DataFrame, config: BarrierConfig = BarrierConfig()
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


def _plan_configs(signals: pd.DataFrame, config: BarrierConfig) -> list[BarrierConfig]:
    """Each signal's barriers: ``config`` with the signal's own ``pt_mult`` / ``sl_mult`` / ``max_holding``."""
    n = len(signals)
    cols = {k: pd.to_numeric(signals[k], errors="coerce").to_numpy(float) if k in signals else np.full(n, np.nan)
            for k in ("pt_mult", "sl_mult", "max_holding")}
    if all(np.isnan(v).all() for v in cols.values()):
        return [config] * n
    out = []
    for pt, sl, hold in zip(cols["pt_mult"], cols["sl_mult"], cols["max_holding"]):
        out.append(replace(config, pt_mult=float(pt) if pt > 0 else config.pt_mult,
                           sl_mult=float(sl) if sl > 0 else config.sl_mult,
                           max_holding=int(hold) if hold >= 1 else config.max_holding))
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


def average_uniqueness(labels: pd.DataFrame, bar_index: pd.DatetimeIndex) -> pd.Series:
    """Average uniqueness of each resolved label over its life (AFML ch. 4, ``mpSampleTW``).

    A label lives on the bars from ``entry_time`` to ``exit_time``; on each bar its uniqueness is
    ``1 / c_t`` where ``c_t`` is the number of labels alive on that bar. The weight is the mean
    uniqueness over the label's life. Unresolved labels get NaN.

    Args:
        labels: Output of :func:`triple_barrier_labels`.
        bar_index: The bars' ``ts`` index.

    Returns:
        Series indexed like ``labels`` with values in (0, 1].
    """
    ok = labels["exit_time"].notna().to_numpy() & labels["entry_time"].notna().to_numpy()
    start = bar_index.get_indexer(labels["entry_time"][ok])
    end = bar_index.get_indexer(labels["exit_time"][ok])
    conc = np.zeros(len(bar_index) + 1)
    np.add.at(conc, start, 1.0)
    np.add.at(conc, end + 1, -1.0)
    inv = np.zeros(len(bar_index) + 1)
    inv[:-1] = 1.0 / np.maximum(np.cumsum(conc)[:-1], 1.0)
    cum_inv = np.concatenate([[0.0], np.cumsum(inv[:-1])])
    weights = np.full(len(labels), np.nan)
    weights[ok] = (cum_inv[end + 1] - cum_inv[start]) / (end - start + 1)
    return pd.Series(weights, index=labels.index, name="uniqueness")
