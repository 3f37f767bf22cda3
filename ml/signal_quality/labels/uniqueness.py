"""Average-uniqueness sample weights (AFML ch. 4): labels that overlap in time weigh less."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
