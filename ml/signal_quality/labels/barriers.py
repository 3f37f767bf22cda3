"""One trade's outcome: which barrier it touches first (stop-loss first when one bar touches both), its exit
price and label; and each signal's barriers from its own trade plan."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ml.signal_quality.labels.config import BarrierConfig


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
