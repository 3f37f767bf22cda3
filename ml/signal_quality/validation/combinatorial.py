"""Combinatorial purged cross-validation (:class:`CombinatorialPurgedCV`, AFML ch. 12), its backtest paths."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from ml.signal_quality.validation.purged import _ns


@dataclass(frozen=True)
class CombinatorialPurgedCV:
    """Combinatorial purged cross-validation (López de Prado, AFML ch. 12).

    The samples (in ``t0`` order) are cut into ``n_groups`` contiguous groups; each of the ``C(N, k)`` splits
    tests ``n_test_groups`` of them and trains on the rest, minus

    * **purged** samples: a training label ``[t0, t1]`` that overlaps a test group's span
      ``[t0 of its first sample, max t1 of its samples]``;
    * **embargoed** samples: the first ``int(embargo_pct * n)`` samples that start after a test group's span
      ends (their features may still carry information of the test period).

    Each group is tested in ``C(N-1, k-1)`` splits, so the splits recombine into :attr:`n_paths` full
    backtest paths (:meth:`path_splits`).

    Attributes:
        n_groups: Number of groups ``N``.
        n_test_groups: Test groups per split ``k`` (1 <= k < N).
        embargo_pct: Embargo after each test group as a fraction of the number of samples.
    """

    n_groups: int = 6
    n_test_groups: int = 2
    embargo_pct: float = 0.01

    def __post_init__(self) -> None:
        if not 1 <= self.n_test_groups < self.n_groups:
            raise ValueError(f"need 1 <= n_test_groups < n_groups, got k={self.n_test_groups}, "
                             f"N={self.n_groups}")
        if not 0.0 <= self.embargo_pct < 1.0:
            raise ValueError(f"embargo_pct must be in [0, 1), got {self.embargo_pct}")

    @property
    def n_splits(self) -> int:
        """``C(N, k)``."""
        return comb(self.n_groups, self.n_test_groups)

    @property
    def n_paths(self) -> int:
        """Backtest paths the splits recombine into: ``C(N, k) * k / N = C(N-1, k-1)``."""
        return comb(self.n_groups - 1, self.n_test_groups - 1)

    def test_group_sets(self) -> list[tuple[int, ...]]:
        """The test groups of each split, in :meth:`split` order."""
        return list(combinations(range(self.n_groups), self.n_test_groups))

    def groups(self, n: int) -> list[np.ndarray]:
        """Positional indices of each group for ``n`` samples (contiguous, sizes differ by at most one)."""
        if n < self.n_groups:
            raise ValueError(f"{n} samples cannot be cut into {self.n_groups} groups")
        return np.array_split(np.arange(n), self.n_groups)

    def split(self, t0, t1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` positional indices for every split.

        Args:
            t0: Label start (signal) times, in time order.
            t1: Label end times (known; drop unresolved labels first), ``t1 >= t0``.
        """
        a, b = _ns(t0), _ns(t1)
        if np.any(np.diff(a) < 0):
            raise ValueError("samples must be sorted by t0")
        if np.any(b < a):
            raise ValueError("every label must end at or after its start (t1 >= t0)")
        groups = self.groups(len(a))
        embargo = int(np.floor(self.embargo_pct * len(a) + 1e-9))
        for test_groups in self.test_group_sets():
            test = np.concatenate([groups[g] for g in test_groups])
            keep = np.ones(len(a), bool)
            keep[test] = False
            for g in test_groups:
                start, end = a[groups[g][0]], b[groups[g]].max()
                keep &= ~((a <= end) & (b >= start))
                after = int(np.searchsorted(a, end, side="right"))
                keep[after:after + embargo] = False
            yield np.flatnonzero(keep), test

    def path_splits(self) -> np.ndarray:
        """``(n_groups, n_paths)`` array: entry ``[g, p]`` is the split whose test of group ``g`` belongs to path
        ``p`` (the ``p``-th split, in :meth:`split` order, that tests ``g``)."""
        out = np.empty((self.n_groups, self.n_paths), dtype=int)
        seen = np.zeros(self.n_groups, dtype=int)
        for split, test_groups in enumerate(self.test_group_sets()):
            for g in test_groups:
                out[g, seen[g]] = split
                seen[g] += 1
        return out
