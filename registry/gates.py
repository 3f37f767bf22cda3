"""Champion/challenger promotion rules (pure: no MLflow calls), shared by every model's register flow."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PromotionDecision:
    """Whether a candidate takes the ``champion`` alias, and why (recorded on the model version)."""

    promote: bool
    reason: str
    gates_failed: list[str] = field(default_factory=list)


def decide_promotion(candidate: float, champion: float | None, *, lower_is_better: bool, min_improvement: float,
                     gates: dict[str, bool]) -> PromotionDecision:
    """Promote only a candidate that passes every gate and beats the champion by ``min_improvement``.

    Args:
        candidate: the candidate's out-of-sample score on the comparison window.
        champion: the current champion's score on the same window (None when there is no champion).
        lower_is_better: True for losses (QLIKE), False for scores (AUC).
        min_improvement: relative margin, e.g. 0.02 = the candidate must be 2% better.
        gates: named quality gates, True when passed.

    Returns:
        The decision with a human-readable reason.
    """
    failed = [name for name, ok in gates.items() if not ok]
    if failed:
        return PromotionDecision(False, f"gates failed: {', '.join(failed)}", failed)
    if champion is None:
        return PromotionDecision(True, "no current champion; candidate passes all gates")
    if lower_is_better:
        improvement = (champion - candidate) / abs(champion) if champion else float("-inf")
    else:
        improvement = (candidate - champion) / abs(champion) if champion else float("inf")
    verdict = f"candidate {candidate:.6g} vs champion {champion:.6g} ({improvement:+.2%}, margin {min_improvement:.2%})"
    if improvement >= min_improvement:
        return PromotionDecision(True, f"better than champion: {verdict}")
    return PromotionDecision(False, f"not better than champion by the margin: {verdict}")


def volatility_gates(metrics: dict[str, float], max_qlike_ratio_garch: float,
                     coverage_band: tuple[float, float]) -> dict[str, bool]:
    """The volatility predictor's quality gates on its flat out-of-sample metrics.

    Args:
        metrics: the candidate's metrics (``qlike_ratio_garch_max``, ``coverage_mean``).
        max_qlike_ratio_garch: the worst QLIKE ratio to GARCH-t across series allowed.
        coverage_band: the mean interval coverage must fall inside it.
    """
    return {
        f"qlike ratio to GARCH-t <= {max_qlike_ratio_garch}":
            metrics.get("qlike_ratio_garch_max", 0.0) <= max_qlike_ratio_garch,
        f"coverage in {coverage_band}": coverage_band[0] <= metrics.get("coverage_mean", 0.0) <= coverage_band[1],
    }


def signal_quality_gates(metrics: dict[str, float], min_auc: float, max_ece: float, min_kept: float,
                         min_auc_lift: float) -> dict[str, bool]:
    """The signal scorer's quality gates on its flat out-of-sample metrics (a missing metric fails its gate).

    Args:
        metrics: the candidate's metrics (``auc``, ``ece``, ``kept_frac``, ``auc_lift_take_all``).
        min_auc: out-of-sample AUC floor.
        max_ece: out-of-sample expected calibration error ceiling.
        min_kept: fraction of out-of-sample signals kept at the scorer's thresholds.
        min_auc_lift: the AUC must exceed the take-every-signal baseline's by more than this (a take-all
            model never passes: it filters nothing).
    """
    nan = float("nan")
    return {
        f"auc >= {min_auc}": bool(metrics.get("auc", nan) >= min_auc),
        f"ece <= {max_ece}": bool(metrics.get("ece", nan) <= max_ece),
        f"kept fraction >= {min_kept}": bool(metrics.get("kept_frac", nan) >= min_kept),
        f"auc lift over take-all > {min_auc_lift}": bool(metrics.get("auc_lift_take_all", 0.0) > min_auc_lift),
    }
