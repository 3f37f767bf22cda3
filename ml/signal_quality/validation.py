"""Leak-free validation of signal scorers: purged, embargoed walk-forward cross-validation.

Labels span an interval ``[t0, t1]`` (signal time to exit time), so a training label can overlap a
test fold even when its signal precedes it. Following López de Prado (AFML ch. 7), training samples
whose label interval overlaps the test fold's span ``[min t0, max t1]`` are **purged**, and
samples starting within an **embargo** (a fraction of the whole time span) after the test fold are
dropped. Walk-forward mode (default) trains only on the past (expanding window); the k-fold mode
also trains on later folds, which is where the embargo matters.

:class:`CombinatorialPurgedCV` (AFML ch. 12) cuts the samples into ``N`` groups and tests every choice of
``k`` of them, purging and embargoing around each test group; its splits recombine into ``C(N-1, k-1)``
backtest paths. Both splitters share ``split(t0, t1)``, so :func:`walk_forward_predict` takes either.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np
import pandas as pd

from ml.classification_metrics import (
    calibration_table,
    classification_report,
    taken_vs_all,
    threshold_sweep,
)


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


def walk_forward_predict(
    make_model: Callable[[], object],
    X: pd.DataFrame,
    labels: pd.DataFrame,
    cv: PurgedWalkForwardCV | CombinatorialPurgedCV = PurgedWalkForwardCV(),
    sample_weight: pd.Series | None = None,
    folds: Collection[int] | None = None,
) -> tuple[pd.DataFrame, list]:
    """Out-of-sample scores for every test fold of ``cv`` (or only the folds numbered in ``folds``).

    Each fold fits a fresh model (which calibrates and chooses its threshold on its own, later
    training rows) on the purged training set and scores the test fold.

    Args:
        make_model: Factory returning an unfitted scorer (``fit(X, y, sample_weight, label_end)``,
            ``score_array``, ``threshold_``).
        X: Features indexed by signal time (same rows as ``labels``).
        labels: Triple-barrier labels (``label``, ``exit_time``, ``ret``); unresolved rows are dropped.
        cv: Splitter (:class:`PurgedWalkForwardCV` or :class:`CombinatorialPurgedCV`; with the latter a sample
            is scored once per split that tests it, ``fold`` telling the splits apart).
        sample_weight: Optional weights aligned with ``X``.
        folds: Fold numbers (0 = earliest test fold) to compute; the others are skipped, so the folds can be
            computed apart (in parallel) and concatenated in fold order, which equals computing them all.

    Returns:
        ``(oos, models)``: frame indexed by signal time with ``fold``, ``score``, ``threshold``,
        ``taken``, ``label``, ``ret``, ``side`` (and ``group`` when ``labels`` has it); and the
        fitted model of each fold.
    """
    ok = labels["label"].notna().to_numpy()
    order = np.argsort(_ns(X.index[ok]), kind="stable")
    Xs, lab = X[ok].iloc[order], labels[ok].iloc[order]
    w = None if sample_weight is None else sample_weight[ok].iloc[order].to_numpy()
    y, t1 = lab["label"].to_numpy(), lab["exit_time"]
    parts, models = [], []
    for fold, (tr, te) in enumerate(cv.split(Xs.index, t1)):
        if folds is not None and fold not in folds:
            continue
        model = make_model().fit(Xs.iloc[tr], y[tr], None if w is None else w[tr], t1.iloc[tr].to_numpy())
        score = model.score_array(Xs.iloc[te])
        parts.append(pd.DataFrame({"fold": fold, "score": score, "threshold": model.threshold_,
                                   "taken": score >= model.threshold_, "label": y[te],
                                   "ret": lab["ret"].to_numpy()[te], "side": lab["side"].to_numpy()[te]},
                                  index=Xs.index[te]))
        if "group" in lab.columns:
            parts[-1]["group"] = lab["group"].to_numpy()[te]
        models.append(model)
    if not parts:
        raise ValueError(f"no test fold of the splitter is among folds={sorted(folds or [])}")
    return pd.concat(parts), models


def pool_signal_sets(
    sets: Mapping[str, tuple[pd.DataFrame, pd.DataFrame, pd.Series | None]],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series | None]:
    """Pool several (symbol, strategy) signal sets into one time-ordered training set.

    One scorer trained on signals of several symbols and strategies sees several times more
    outcomes than one per set (the strategy is a feature). Folds of :class:`PurgedWalkForwardCV`
    then cut all sets at the same dates, and purging works across sets because it compares
    label intervals in time.

    Args:
        sets: ``group name -> (X, labels, sample_weight or None)``; all ``X`` share columns.

    Returns:
        ``(X, labels, weights)`` sorted by signal time (stable); ``labels`` gains a ``group``
        column; ``weights`` is None if any set has none.
    """
    xs = [x for x, _, _ in sets.values()]
    labels = [lab.assign(group=name) for name, (_, lab, _) in sets.items()]
    weights = [w for _, _, w in sets.values()]
    X, lab = pd.concat(xs), pd.concat(labels)
    order = np.argsort(_ns(X.index), kind="stable")
    w = None if any(v is None for v in weights) else pd.concat(weights).iloc[order]
    return X.iloc[order], lab.iloc[order], w


def evaluate_oos(oos: pd.DataFrame) -> dict:
    """Metrics of out-of-sample predictions from :func:`walk_forward_predict`.

    Returns:
        Dict with ``report`` (AUC, Brier, precision/recall/F1 at each fold's threshold, ECE),
        ``calibration`` (decile table), ``trading`` (taken vs all vs skipped) and ``sweep``
        (threshold sweep 0.50…0.80 with the fraction kept).
    """
    y, s, r = oos["label"].to_numpy(), oos["score"].to_numpy(), oos["ret"].to_numpy()
    return {
        "report": classification_report(y, s, oos["threshold"].to_numpy()),
        "calibration": calibration_table(y, s, n_bins=10, strategy="quantile"),
        "trading": taken_vs_all(r, s, oos["threshold"].to_numpy(), times=oos.index, labels=y),
        "sweep": threshold_sweep(y, s, r),
    }
