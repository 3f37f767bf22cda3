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
