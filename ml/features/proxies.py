"""Per-bar variance proxies: close-to-close, Parkinson, Garman-Klass, Rogers-Satchell (+ overnight)."""

from __future__ import annotations

import numpy as np
import pandas as pd

VOL_ESTIMATORS = ("cc", "pk", "gk", "rs")
_LN2 = np.log(2.0)


def variance_proxy(bars: pd.DataFrame, kind: str = "cc") -> pd.Series:
    """Per-bar variance proxy (squared per-bar units).

    Args:
        bars: Bars frame.
        kind: ``"cc"`` squared close-to-close log return; ``"pk"`` Parkinson (1980)
            ``ln(H/L)^2 / (4 ln 2)``; ``"gk"`` Garman-Klass (1980)
            ``0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2``; ``"rs"`` Rogers-Satchell (1991)
            ``ln(H/C) ln(H/O) + ln(L/C) ln(L/O)``. Range-based proxies measure the open-to-close
            session only; add the squared overnight return ``ln(O_t/C_{t-1})^2`` for the full bar
            with the ``"+on"`` suffix (e.g. ``"gk+on"``).

    Returns:
        The proxy at each bar (NaN where it needs the previous close on the first bar).
    """
    base, _, extra = kind.partition("+")
    o, h, l, c = (np.log(bars[k].astype("float64")) for k in ("open", "high", "low", "close"))
    if base == "cc":
        var = c.diff() ** 2
    elif base == "pk":
        var = (h - l) ** 2 / (4.0 * _LN2)
    elif base == "gk":
        var = 0.5 * (h - l) ** 2 - (2.0 * _LN2 - 1.0) * (c - o) ** 2
    elif base == "rs":
        var = (h - c) * (h - o) + (l - c) * (l - o)
    else:
        raise ValueError(f"unknown variance proxy {kind!r}")
    if extra == "on":
        var = var + (o - c.shift(1)) ** 2
    elif extra:
        raise ValueError(f"unknown variance proxy suffix in {kind!r}")
    return var.rename(kind)
