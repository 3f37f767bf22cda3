"""Exact additive terms of a HAR forecast (:class:`~ml.volatility.econometric.HarModel`).

A HAR forecast is linear in its design (:func:`~ml.volatility.econometric.regressors.har_design`), so
its explanation is exact rather than approximate: one term ``coef_j * x_j`` per design column, the
intercept ``coef_[0]`` as a term of its own named ``"intercept"`` (value None), and for a log model
the constants of the bias correction as terms too:

* log model (``log=True``): terms in ln variance of the forecast. ``"smearing"`` (value the smearing
  factor, contribution ``ln smearing_``; 0 for a QLIKE fit) and ``"scale"`` (value ``scale_``,
  contribution ``2 ln scale_``; 0 unless the model rescales), so intercept + the regressor terms +
  those two = ``ln forecast^2`` exactly (unless the forecast is at the ``VOL_FLOOR`` clip).
  Values are the design values: ln of the ``d``-bar mean variance proxy (``har_d``, ``on_d``), the
  ``d``-bar mean negative log return (``lev_d``).
* level model: terms in variance per bar, intercept + the regressor terms = the forecast variance
  before its floor; a ``scale_`` other than 1 multiplies it by ``scale_^2`` (said in the note).
  Values are the ``d``-bar mean variances (``har_d``, ``on_d``), mean negative returns (``lev_d``).

:mod:`ml.inference.explanations` renders these terms (top ones by |contribution|) and combines them
for a log-linear ensemble.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

METHOD = "har_linear_terms"
#: Terms that are constants of the model (not regressors): always shown when non-zero.
CONSTANTS = ("intercept", "smearing", "scale")


def har_terms(model: Any, bars: pd.DataFrame, rows: list[int] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(values, contributions)`` of every additive term of a fitted HAR model at each bar of ``bars``.

    Both frames are indexed like ``bars`` (or, given bar positions ``rows``, hold those rows only, numbered
    from 0) with one column per term: ``"intercept"``, each design column, then (log model) ``"smearing"``
    and ``"scale"``. A row of ``contributions`` sums to the forecast's ln variance (log model) or its
    variance before the floor (level model).
    """
    x = model._design(bars, model.log)
    contrib = x * np.asarray(model.coef_[1:], dtype=float)
    contrib.insert(0, "intercept", float(model.coef_[0]))
    values = x.astype(float)
    values.insert(0, "intercept", np.nan)
    if model.log:
        scale = float(getattr(model, "scale_", 1.0))
        for name, factor, power in (("smearing", float(model.smearing_), 1.0), ("scale", scale, 2.0)):
            contrib[name] = power * np.log(factor)
            values[name] = factor
    if rows is not None:
        values, contrib = (f.iloc[rows].reset_index(drop=True) for f in (values, contrib))
    return values, contrib


def har_units(model: Any) -> str:
    """Units of :func:`har_terms`' contributions."""
    return "ln variance of the forecast" if model.log else "variance per bar"


def har_note(model: Any, total: float) -> str:
    """What the terms of a HAR forecast add up to (``total``: their sum at the explained bar)."""
    if model.log:
        return (f"exact linear terms of the log-HAR: intercept + contributions (with smearing and scale "
                f"when shown) = ln forecast variance = {total:.6g}; values are ln mean variances (har_d, "
                f"on_d) and mean negative returns (lev_d) over d bars")
    scale = float(getattr(model, "scale_", 1.0))
    note = (f"exact linear terms of the HAR in levels: intercept + contributions = forecast variance "
            f"before its floor = {total:.6g}; values are mean variances (har_d, on_d) and mean negative "
            f"returns (lev_d) over d bars")
    return note + (f"; the forecast variance is that times scale^2 = {scale**2:.6g}" if scale != 1.0 else "")
