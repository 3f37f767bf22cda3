"""Combinatorial purged CV: purge and embargo on a small index, no overlap, every sample tested C(N-1, k-1) times."""

from __future__ import annotations

from collections import Counter
from math import comb

import numpy as np
import pandas as pd
import pytest

from ml.signal_quality.validation import CombinatorialPurgedCV


def _daily(n: int, label_days: int = 1) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    t0 = pd.date_range("2020-01-01", periods=n, freq="D")
    return t0, t0 + pd.Timedelta(days=label_days)


def test_purge_and_embargo_on_a_small_index():
    # 12 samples, labels [t, t+1 day], 4 groups of 3: [0 1 2] [3 4 5] [6 7 8] [9 10 11]; embargo 1 sample.
    t0, t1 = _daily(12)
    cv = CombinatorialPurgedCV(n_groups=4, n_test_groups=2, embargo_pct=1 / 12)
    splits = dict(zip(cv.test_group_sets(), cv.split(t0, t1)))
    assert len(splits) == 6
    train, test = splits[(0, 1)]
    assert test.tolist() == [0, 1, 2, 3, 4, 5]
    # sample 6 ([day 6, day 7]) touches the end of group 1's span (sample 5 ends on day 6): purged;
    # sample 7 is the first sample after that span: embargoed.
    assert train.tolist() == [8, 9, 10, 11]
    train, test = splits[(0, 2)]
    assert test.tolist() == [0, 1, 2, 6, 7, 8]
    # 3 purged (overlaps group 0's end), 4 embargoed; 5 purged (ends where group 2 starts), 9 purged, 10 embargoed
    assert train.tolist() == [11]
    train, test = splits[(1, 3)]
    # 2 purged (ends on day 3 where group 1 starts), 6 purged, 7 embargoed; 8 purged; nothing after group 3
    assert train.tolist() == [0, 1]
    train, test = splits[(2, 3)]
    assert train.tolist() == [0, 1, 2, 3, 4]  # only sample 5 purged (ends on day 6 = start of group 2)


def test_without_embargo_only_overlapping_labels_are_dropped():
    t0, t1 = _daily(12)
    cv = CombinatorialPurgedCV(n_groups=4, n_test_groups=1, embargo_pct=0.0)
    splits = dict(zip(cv.test_group_sets(), cv.split(t0, t1)))
    assert splits[(1,)][0].tolist() == [0, 1, 7, 8, 9, 10, 11]  # 2 and 6 purged, none embargoed


def test_a_long_label_reaching_a_later_test_group_is_purged():
    t0, t1 = _daily(12)
    t1 = t1.to_numpy().copy()
    t1[0] = t0[9].to_datetime64()  # sample 0's label runs into group 3
    cv = CombinatorialPurgedCV(n_groups=4, n_test_groups=1, embargo_pct=0.0)
    splits = dict(zip(cv.test_group_sets(), cv.split(t0, t1)))
    for g in (1, 2, 3):  # [day 0, day 9] overlaps the span of groups 1, 2 and 3 (group 3 starts on day 9)
        assert 0 not in splits[(g,)][0]
        assert 1 in splits[(g,)][0]  # the short label next to it stays
    assert splits[(3,)][0].tolist() == [1, 2, 3, 4, 5, 6, 7]  # 8 ends on day 9 = group 3's start


@pytest.mark.parametrize(("n_groups", "k"), [(6, 2), (5, 3), (4, 1)])
def test_no_overlap_no_leak_and_each_sample_tested_n_paths_times(n_groups, k):
    rng = np.random.default_rng(0)
    n = 97
    t0 = pd.date_range("2021-01-01", periods=n, freq="D")
    t1 = t0 + pd.to_timedelta(rng.integers(0, 6, n), unit="D")
    cv = CombinatorialPurgedCV(n_groups=n_groups, n_test_groups=k, embargo_pct=0.03)
    assert cv.n_splits == comb(n_groups, k)
    assert cv.n_paths == comb(n_groups - 1, k - 1) == cv.n_splits * k // n_groups
    groups = cv.groups(n)
    tested = Counter()
    splits = list(cv.split(t0, t1))
    assert len(splits) == cv.n_splits
    a, b = t0.asi8, t1.asi8
    for (train, test), test_groups in zip(splits, cv.test_group_sets()):
        assert not set(train) & set(test)
        assert sorted(test) == sorted(np.concatenate([groups[g] for g in test_groups]))
        for g in test_groups:
            start, end = a[groups[g][0]], b[groups[g]].max()
            assert not np.any((a[train] <= end) & (b[train] >= start)), "a training label overlaps a test group"
            after = np.searchsorted(a, end, side="right")
            assert not np.isin(np.arange(after, after + 2), train).any(), "an embargoed sample is in training"
        tested.update(test.tolist())
    assert set(tested) == set(range(n))
    assert set(tested.values()) == {cv.n_paths}


def test_path_splits_cover_every_group_once_per_path():
    cv = CombinatorialPurgedCV(n_groups=6, n_test_groups=2)
    paths = cv.path_splits()
    sets = cv.test_group_sets()
    assert paths.shape == (6, 5)
    for p in range(cv.n_paths):
        for g in range(6):
            assert g in sets[paths[g, p]]
    assert sorted(paths.ravel().tolist()) == sorted(s for s in range(cv.n_splits) for _ in range(2))


def test_bad_settings_and_input_are_rejected():
    with pytest.raises(ValueError, match="n_test_groups"):
        CombinatorialPurgedCV(n_groups=3, n_test_groups=3)
    t0, t1 = _daily(5)
    with pytest.raises(ValueError, match="cannot be cut"):
        list(CombinatorialPurgedCV(n_groups=6).split(t0, t1))
    with pytest.raises(ValueError, match="sorted"):
        list(CombinatorialPurgedCV(n_groups=2, n_test_groups=1).split(t0[::-1], t1[::-1]))
