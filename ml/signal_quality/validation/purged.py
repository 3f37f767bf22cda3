"""Time-ordered folds with purging and embargo (:class:`PurgedWalkForwardCV`, AFML ch. 7)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd


def _ns(times) -> np.ndarray:
    return pd.DatetimeIndex(np.asarray(times)).as_unit("ns").asi8


@dataclass(frozen=True)
class PurgedWalkForwardCV:
    """Time-ordered folds with purging and embargo.

    Attributes:
        n_splits: Number of test folds.
        min_train_fraction: Leading fraction of samples that is never tested (first training set).
        embargo_pct: Embargo after each test fold as a fraction of the total time span of ``t0``.
        walk_forward: Train only on samples before the test fold (else on all other folds).
    """

    n_splits: int = 5
    min_train_fraction: float = 0.4
    embargo_pct: float = 0.01
    walk_forward: bool = True

    def split(self, t0, t1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` positional indices.

        Args:
            t0: Label start (signal) times, in time order.
            t1: Label end (exit) times; must be known (drop unresolved labels first).
        """
        a, b = _ns(t0), _ns(t1)
        if np.any(np.diff(a) < 0):
            raise ValueError("samples must be sorted by t0")
        embargo = int(self.embargo_pct * (a[-1] - a[0])) if len(a) else 0
        for test in self._tests(len(a)):
            yield self._train_indices(a, b, test, embargo), test

    def test_folds(self, n: int) -> list[int]:
        """Numbers of the test folds :meth:`split` yields for ``n`` samples (0 = the earliest)."""
        return list(range(len(self._tests(n))))

    def _tests(self, n: int) -> list[np.ndarray]:
        first = int(n * self.min_train_fraction) if self.walk_forward else 0
        return [test for test in np.array_split(np.arange(first, n), self.n_splits) if test.size]

    def _train_indices(self, a, b, test, embargo) -> np.ndarray:
        start, end = a[test[0]], b[test].max()
        candidate = np.ones(len(a), bool)
        candidate[test] = False
        if self.walk_forward:
            candidate &= a < start
        overlaps = (a <= end) & (b >= start)
        embargoed = (a > end) & (a <= end + embargo)
        return np.flatnonzero(candidate & ~overlaps & ~embargoed)
