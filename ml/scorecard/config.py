"""The seed's targets and the scorecard's settings, declared before any lockbox was scored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ml.lockbox import Lockbox
from ml.signal_quality import SignalFeatureConfig
from ml.signal_quality.bundle import DEFAULT_PARAM_GRIDS
from ml.signal_quality.labels import BarrierConfig
from ml.signal_quality.validation import CombinatorialPurgedCV
from ml.volatility.registry import DEFAULT_MODEL
from ml.volatility.summary import GARCH, HAR_VARIANTS

#: The seed's targets (issue 19).
WIN_RATIO = 1.15
MIN_SERIES = 2
AUC = 0.56
MEAN_SCORE = 0.70
RATIO_GARCH = 0.90
RATIO_BEST_HAR = 0.97
MIN_CELLS = 4
MIN_KEPT = 0.30
COVERAGE_BAND = (0.87, 0.93)
MDD_RATIO = 0.80


@dataclass(frozen=True)
class ScorecardConfig:
    """Everything the scorecard chooses from, declared before any data is read.

    Attributes:
        lockbox_fraction: Share of each series locked away (the embargo is the longest label horizon).
        vol_horizon: Volatility forecast horizon in bars.
        vol_candidates: Volatility models the selection chooses from.
        vol_refit_every: Refit spacing of the selection walk-forward.
        vol_test_fraction: Share of each selection part forecast by the selection walk-forward.
        coverage: Nominal interval coverage.
        strategies: Primary strategies whose signals are scored (parameter sets of ``DEFAULT_PARAM_GRIDS``).
        barrier: Triple-barrier parameters of the signal labels.
        signal_candidates: Candidate scorers: ``name -> (scorer name, parameters)``.
        min_keeps: Fractions of the calibration rows the automatic threshold keeps (a grid for selection).
        cpcv: Splitter of the signal selection.
        max_leverage: Cap of the vol-targeted sizing.
        vol_reference: Volatility models scored beside the promoted one (not chosen: declared beforehand).
        cross_asset: Signal features with the cross-asset context of the other series
            (``SignalFeatureConfig.cross_asset``; decided on the selection parts, ``benchmarks/bench_cross_asset.py``).
    """

    lockbox_fraction: float = 0.2
    vol_horizon: int = 5
    vol_candidates: tuple[str, ...] = ("ewma", GARCH, *HAR_VARIANTS, "lhar_gk_qlike", "lhar_gk_ext", "lhar_rs_ext")
    vol_refit_every: int = 63
    vol_test_fraction: float = 0.4
    coverage: float = 0.9
    strategies: tuple[str, ...] = tuple(DEFAULT_PARAM_GRIDS)
    barrier: BarrierConfig = field(default_factory=lambda: BarrierConfig(pt_mult=1.5, sl_mult=1.5, max_holding=10,
                                                                         vol_span=50))
    signal_candidates: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=lambda: {
        "xgboost": ("xgboost", {"n_jobs": 2}),
        "logistic": ("logistic", {}),
    })
    min_keeps: tuple[float, ...] = (0.3, 0.4, 0.5)
    cpcv: CombinatorialPurgedCV = field(default_factory=lambda: CombinatorialPurgedCV(6, 2, embargo_pct=0.01))
    max_leverage: float = 2.0
    vol_reference: tuple[str, ...] = (DEFAULT_MODEL,)
    cross_asset: bool = False

    @property
    def lockbox(self) -> Lockbox:
        """The lockbox, embargoed by the longest label (vertical barrier + entry bar, or the vol horizon)."""
        return Lockbox(self.lockbox_fraction, max(self.vol_horizon, self.barrier.max_holding + 1))

    def feature_config(self) -> SignalFeatureConfig:
        return SignalFeatureConfig(barrier=self.barrier, cross_asset=self.cross_asset)
