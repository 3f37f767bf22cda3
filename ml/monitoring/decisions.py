"""Monitoring decisions (pure): live metrics against validation with tolerances, drift, and the verdict; the
retraining cooldown and backoff in bars of data time are in :mod:`ml.monitoring.cooldown` (re-exported here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from ml.drift import DriftReport
from ml.monitoring.accuracy import _num, validation_value
from ml.monitoring.cooldown import (  # re-exported: their old home
    CooldownDecision,
    RetrainRecord,
    backoff_note,
    bar_cooldown_check,
    retrain_backoff,
)

__all__ = ["INSUFFICIENT", "OK", "RETRAIN", "Check", "CooldownDecision", "MonitoringDecision", "RetrainRecord",
           "Tolerances", "backoff_note", "bar_cooldown_check", "decide", "retrain_backoff", "scorer_checks",
           "volatility_checks"]

OK = "ok"
RETRAIN = "retrain"
INSUFFICIENT = "insufficient_data"


@dataclass(frozen=True)
class Tolerances:
    """How far live metrics may fall behind validation metrics before a retrain is asked for.

    Attributes:
        max_qlike_increase: Relative QLIKE increase over validation tolerated (0.2 = +20%).
        max_coverage_drop: Absolute drop of interval coverage below validation tolerated.
        min_auc: Floor on a scorer's live AUC.
        max_brier_increase: Relative Brier-score increase over validation tolerated.
        min_resolved: Fewest resolved live outcomes needed to judge accuracy at all.
    """

    max_qlike_increase: float = 0.2
    max_coverage_drop: float = 0.15
    min_auc: float = 0.55
    max_brier_increase: float = 0.2
    min_resolved: int = 50


@dataclass(frozen=True)
class Check:
    """One tolerance check: the live value, the validation value it is held against, the limit."""

    name: str
    live: float | None
    validation: float | None
    limit: float | None
    passed: bool
    reason: str


@dataclass(frozen=True)
class MonitoringDecision:
    """Whether the model needs retraining, with every check and the reasons in words."""

    status: str
    retrain: bool
    reasons: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"status": self.status, "retrain": self.retrain, "reasons": list(self.reasons),
                "checks": [asdict(c) for c in self.checks]}


def _relative_check(name: str, live: float | None, ref: float | None, max_increase: float) -> Check | None:
    if live is None or ref is None or ref <= 0:
        return None
    limit = ref * (1.0 + max_increase)
    passed = live <= limit
    change = live / ref - 1.0
    verb = "within" if passed else "exceeds"
    return Check(name, live, ref, limit, passed,
                 f"live {name} {live:.4g} vs validation {ref:.4g} ({change:+.1%}) {verb} tolerance +{max_increase:.0%}")


def volatility_checks(live: Mapping[str, float], validation: Mapping[str, float], tolerances: Tolerances,
                      symbols: list[str] | None = None) -> list[Check]:
    """Tolerance checks of a volatility model: QLIKE (relative) and interval coverage (absolute drop).

    MAE/RMSE are reported but not checked: they scale with the volatility level, so a calmer or
    wilder market moves them without any loss of skill (QLIKE is scale-free).
    """
    checks = []
    qlike = _relative_check("qlike", _num(live.get("qlike")), validation_value(validation, "qlike", symbols),
                            tolerances.max_qlike_increase)
    if qlike:
        checks.append(qlike)
    cov, ref = _num(live.get("coverage")), validation_value(validation, "coverage", symbols)
    if cov is not None and ref is not None:
        limit = ref - tolerances.max_coverage_drop
        passed = cov >= limit
        checks.append(Check("coverage", cov, ref, limit, passed,
                            f"live interval coverage {cov:.1%} vs validation {ref:.1%} "
                            f"({'within' if passed else 'below'} tolerance -{tolerances.max_coverage_drop:.0%})"))
    return checks


def scorer_checks(live: Mapping[str, float], validation: Mapping[str, float], tolerances: Tolerances) -> list[Check]:
    """Tolerance checks of a signal scorer: AUC floor and Brier score (relative to validation)."""
    checks = []
    auc = _num(live.get("auc"))
    if auc is not None:
        passed = auc >= tolerances.min_auc
        checks.append(Check("auc", auc, validation_value(validation, "auc"), tolerances.min_auc, passed,
                            f"live AUC {auc:.3f} {'at or above' if passed else 'below'} the floor {tolerances.min_auc:.3f}"))
    brier = _relative_check("brier", _num(live.get("brier")), validation_value(validation, "brier"),
                            tolerances.max_brier_increase)
    if brier:
        checks.append(brier)
    return checks


def decide(checks: list[Check], n_resolved: int, drift: DriftReport | None, tolerances: Tolerances) -> MonitoringDecision:
    """Combine accuracy checks and drift into one decision.

    Accuracy is judged only with at least ``min_resolved`` outcomes; drift is judged whenever a
    report is given. The model needs a retrain when an accuracy check fails or the feature set drifted.
    """
    reasons: list[str] = []
    judged = n_resolved >= tolerances.min_resolved
    failed = [c for c in checks if not c.passed] if judged else []
    reasons += [f"accuracy decay: {c.reason}" for c in failed]
    if drift is not None and drift.drifted:
        reasons.append(f"feature drift: {drift.share_drifted:.0%} of {len(drift.features)} features drifted "
                       f"({', '.join(drift.drifted_features)})")
    if reasons:
        return MonitoringDecision(RETRAIN, True, reasons, list(checks))
    if not judged and (drift is None or not drift.features):
        return MonitoringDecision(INSUFFICIENT, False,
                                  [f"{n_resolved} resolved outcomes < {tolerances.min_resolved}; no drift sample"],
                                  list(checks))
    not_judged = f"accuracy not judged: {n_resolved} resolved outcomes < {tolerances.min_resolved}"
    notes = [c.reason for c in checks] if judged else [not_judged]
    if drift is not None and drift.features:
        notes.append(f"no feature drift: {drift.share_drifted:.0%} of {len(drift.features)} features drifted")
    return MonitoringDecision(OK, False, notes, list(checks))
