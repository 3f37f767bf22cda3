"""Drift statistics against known distributions."""

import numpy as np
import pandas as pd
import pytest

from ml.drift import DriftThresholds, drift_report, feature_drift, ks_test, psi, wasserstein


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_psi_of_identical_samples_is_zero(rng):
    x = rng.normal(size=5000)
    assert psi(x, x) == pytest.approx(0.0, abs=1e-12)


def test_psi_of_two_samples_of_one_distribution_is_small(rng):
    assert psi(rng.normal(size=5000), rng.normal(size=5000)) < 0.02


def test_psi_is_symmetric_in_shares_and_nonnegative(rng):
    a, b = rng.normal(size=3000), rng.normal(0.3, 1.2, size=3000)
    assert psi(a, b) > 0
    assert psi(a, b) == pytest.approx(psi(a, b, n_bins=10))


@pytest.mark.parametrize("shift, drifted", [(0.0, False), (0.1, False), (1.0, True)])
def test_shifted_normal_crosses_the_threshold(rng, shift, drifted):
    ref, live = rng.normal(size=2000), rng.normal(shift, 1.0, size=500)
    result = feature_drift("x", ref, live)
    assert result.drifted is drifted
    if drifted:
        # a one-sigma shift of a normal: PSI is far above 0.25, the KS gap ~ 2*Phi(0.5)-1 = 0.38
        assert result.psi > 0.5 and result.ks_stat == pytest.approx(0.38, abs=0.06)
        assert result.wasserstein == pytest.approx(1.0, abs=0.12)


def test_psi_grows_with_the_shift(rng):
    ref = rng.normal(size=4000)
    values = [psi(ref, rng.normal(s, 1.0, size=2000)) for s in (0.0, 0.25, 0.5, 1.0)]
    assert values == sorted(values)


def test_doubled_scale_is_drift(rng):
    ref, live = rng.normal(size=2000), rng.normal(0, 2.0, size=500)
    assert feature_drift("vol", ref, live).drifted


def test_ks_pvalue_behaviour(rng):
    ref = rng.normal(size=1000)
    stat_same, p_same = ks_test(ref, rng.normal(size=1000))
    stat_shift, p_shift = ks_test(ref, rng.normal(0.5, 1.0, size=1000))
    assert p_same > 0.01 and stat_same < 0.1
    assert p_shift < 1e-10 and stat_shift > stat_same
    # same-distribution p-values are uniform: about 5% of tests reject at 5%
    pvals = [ks_test(rng.normal(size=200), rng.normal(size=200))[1] for _ in range(400)]
    assert 0.02 < np.mean(np.array(pvals) < 0.05) < 0.09


def test_wasserstein_reads_in_reference_standard_deviations(rng):
    ref = rng.normal(0, 3.0, size=5000)
    assert wasserstein(ref, ref + 1.5) == pytest.approx(0.5, rel=0.02)


def test_nan_values_are_ignored_and_empty_is_nan(rng):
    x = rng.normal(size=500)
    with_nan = np.concatenate([x, [np.nan] * 50])
    assert psi(x, with_nan) == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(psi(x, [np.nan]))


def test_report_share_and_verdict(rng):
    n_ref, n_live = 2000, 400
    ref = pd.DataFrame({c: rng.normal(size=n_ref) for c in "abcd"})
    live = pd.DataFrame({"a": rng.normal(2, 1, n_live), "b": rng.normal(size=n_live),
                         "c": rng.normal(size=n_live), "d": rng.normal(size=n_live), "e": rng.normal(size=n_live)})
    live.loc[: n_live - 10, "d"] = np.nan  # too few finite values: skipped
    report = drift_report(ref, live, features=["a", "b", "c", "d", "e"], thresholds=DriftThresholds(share_threshold=0.3))
    assert report.drifted_features == ["a"]
    assert set(report.skipped) == {"d", "e"}
    assert report.share_drifted == pytest.approx(1 / 3)
    assert report.drifted  # 1/3 >= 0.3
    assert not drift_report(ref, live, ["a", "b", "c"]).drifted  # default: half of the features
    assert not drift_report(ref, live, ["a", "b", "c"], DriftThresholds(share_threshold=0.5)).drifted
    payload = report.to_dict()
    assert payload["features"]["a"]["drifted"] and payload["drifted_features"] == ["a"]
    assert list(report.to_frame().index) == ["a", "b", "c"]
