"""Feature drift between a training reference sample and live inputs (pure numpy/scipy).

Three per-feature statistics, each with its usual reading:

* **PSI**, the population stability index (Siddiqi 2006, *Credit Risk Scorecards*; Yurdakul 2018):
  ``sum_b (live_b - ref_b) * ln(live_b / ref_b)`` over bins cut at the reference's quantiles.
  Rule of thumb: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 (here: >= ``psi_threshold``) drift.
  It is 0 for identical samples and symmetric in the two shares.
* **KS**, the two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``): the largest gap
  between the two empirical CDFs and its p-value under "same distribution". With autocorrelated
  time-series features (rolling windows) the p-value is too small, so it is combined with PSI
  rather than used alone.
* **Wasserstein-1** distance (earth mover's, ``scipy.stats.wasserstein_distance``) divided by the
  reference's standard deviation, so it reads as "shift in reference standard deviations".

A feature counts as drifted when PSI crosses its threshold *and* the KS test rejects at
``ks_alpha`` (both a material and a significant change); the share of drifted features is the
early signal that can fire the retraining trigger (accuracy decay is the late one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

PSI_EPS = 1e-4


@dataclass(frozen=True)
class DriftThresholds:
    """When a feature, and a whole feature set, count as drifted.

    Attributes:
        psi_threshold: PSI at or above which a feature's distribution has shifted materially.
        ks_alpha: KS test level; the shift must also be significant (p-value below it).
        share_threshold: Share of drifted features at or above which the feature set has drifted.
        n_bins: Quantile bins of the reference used by PSI.
        min_samples: Features with fewer finite values in either sample are skipped.
    """

    psi_threshold: float = 0.25
    ks_alpha: float = 0.01
    share_threshold: float = 0.5
    n_bins: int = 10
    min_samples: int = 30


@dataclass(frozen=True)
class FeatureDrift:
    """The drift statistics of one feature."""

    feature: str
    psi: float
    ks_stat: float
    ks_pvalue: float
    wasserstein: float
    n_reference: int
    n_live: int
    drifted: bool


@dataclass(frozen=True)
class DriftReport:
    """Per-feature statistics and the verdict on the whole set."""

    features: list[FeatureDrift] = field(default_factory=list)
    share_drifted: float = 0.0
    drifted: bool = False
    skipped: list[str] = field(default_factory=list)

    @property
    def drifted_features(self) -> list[str]:
        """Names of the drifted features."""
        return [f.feature for f in self.features if f.drifted]

    def to_dict(self) -> dict:
        """JSON-ready form (for the monitoring table and artifacts)."""
        return {
            "share_drifted": self.share_drifted, "drifted": self.drifted, "skipped": list(self.skipped),
            "drifted_features": self.drifted_features,
            "features": {f.feature: {k: v for k, v in asdict(f).items() if k != "feature"} for f in self.features},
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per feature."""
        return pd.DataFrame([asdict(f) for f in self.features]).set_index("feature") if self.features else \
            pd.DataFrame(columns=["psi", "ks_stat", "ks_pvalue", "wasserstein", "n_reference", "n_live", "drifted"])


def _finite(x: Iterable[float]) -> np.ndarray:
    a = np.asarray(x, dtype="float64").ravel()
    return a[np.isfinite(a)]


def psi(reference: Iterable[float], live: Iterable[float], n_bins: int = 10, eps: float = PSI_EPS) -> float:
    """Population stability index of ``live`` against ``reference``.

    Bins are the reference's quantiles (so each holds ~1/n_bins of it; ties merge bins), with open
    outer edges so that live values outside the reference range land in the outer bins. Empty bins
    get share ``eps`` to keep the logarithm finite.

    Args:
        reference: Reference sample (training data).
        live: Live sample.
        n_bins: Number of quantile bins.
        eps: Floor on a bin share.

    Returns:
        PSI >= 0 (NaN when either sample has no finite value).
    """
    ref, cur = _finite(reference), _finite(live)
    if ref.size == 0 or cur.size == 0:
        return float("nan")
    inner = np.unique(np.quantile(ref, np.linspace(0, 1, n_bins + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=inner.size + 1) / ref.size
    cur_share = np.bincount(np.searchsorted(inner, cur, side="right"), minlength=inner.size + 1) / cur.size
    ref_share, cur_share = np.maximum(ref_share, eps), np.maximum(cur_share, eps)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def ks_test(reference: Iterable[float], live: Iterable[float]) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and two-sided p-value (NaN, NaN for empty samples)."""
    ref, cur = _finite(reference), _finite(live)
    if ref.size == 0 or cur.size == 0:
        return float("nan"), float("nan")
    res = stats.ks_2samp(ref, cur)
    return float(res.statistic), float(res.pvalue)


def wasserstein(reference: Iterable[float], live: Iterable[float]) -> float:
    """Wasserstein-1 distance in units of the reference's standard deviation (raw distance if it is 0)."""
    ref, cur = _finite(reference), _finite(live)
    if ref.size == 0 or cur.size == 0:
        return float("nan")
    scale = float(np.std(ref))
    dist = float(stats.wasserstein_distance(ref, cur))
    return dist / scale if scale > 0 else dist


def feature_drift(name: str, reference: Iterable[float], live: Iterable[float],
                  thresholds: DriftThresholds = DriftThresholds()) -> FeatureDrift:
    """PSI, KS and Wasserstein of one feature and whether it drifted."""
    ref, cur = _finite(reference), _finite(live)
    p = psi(ref, cur, thresholds.n_bins)
    ks_stat, ks_p = ks_test(ref, cur)
    drifted = bool(p >= thresholds.psi_threshold and ks_p < thresholds.ks_alpha)
    return FeatureDrift(name, p, ks_stat, ks_p, wasserstein(ref, cur), int(ref.size), int(cur.size), drifted)


def drift_report(reference: pd.DataFrame, live: pd.DataFrame, features: Iterable[str] | None = None,
                 thresholds: DriftThresholds = DriftThresholds()) -> DriftReport:
    """Drift of every shared feature column of ``live`` against ``reference``.

    Args:
        reference: Training-reference feature frame.
        live: Live feature frame (e.g. the features stored with recent predictions).
        features: Columns to compare (default: the columns both frames have).
        thresholds: Per-feature and set-level thresholds.

    Returns:
        A :class:`DriftReport`; features with fewer than ``min_samples`` finite values in either
        sample are listed in ``skipped`` and do not count in the share.
    """
    names = list(features) if features is not None else [c for c in reference.columns if c in live.columns]
    rows, skipped = [], []
    for name in names:
        if name not in reference or name not in live:
            skipped.append(name)
            continue
        ref, cur = _finite(reference[name]), _finite(live[name])
        if min(ref.size, cur.size) < thresholds.min_samples:
            skipped.append(name)
            continue
        rows.append(feature_drift(name, ref, cur, thresholds))
    share = float(np.mean([r.drifted for r in rows])) if rows else 0.0
    return DriftReport(rows, share, bool(rows) and share >= thresholds.share_threshold, skipped)
