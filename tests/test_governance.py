from registry.gates import decide_promotion

GATES_OK = {"coverage": True}


def test_first_model_is_promoted_when_gates_pass():
    assert decide_promotion(0.5, None, lower_is_better=True, min_improvement=0.02, gates=GATES_OK).promote


def test_worse_or_marginal_candidate_is_not_promoted():
    worse = decide_promotion(0.60, 0.50, lower_is_better=True, min_improvement=0.02, gates=GATES_OK)
    marginal = decide_promotion(0.495, 0.50, lower_is_better=True, min_improvement=0.02, gates=GATES_OK)
    assert not worse.promote and "not better" in worse.reason
    assert not marginal.promote


def test_better_candidate_is_promoted_for_losses_and_scores():
    assert decide_promotion(0.45, 0.50, lower_is_better=True, min_improvement=0.02, gates=GATES_OK).promote
    assert decide_promotion(0.70, 0.65, lower_is_better=False, min_improvement=0.02, gates=GATES_OK).promote
    assert not decide_promotion(0.60, 0.65, lower_is_better=False, min_improvement=0.02, gates=GATES_OK).promote


def test_failed_gate_blocks_even_a_better_candidate():
    decision = decide_promotion(0.1, 0.5, lower_is_better=True, min_improvement=0.0,
                                gates={"coverage in (0.85, 0.95)": False, "other": True})
    assert not decision.promote and decision.gates_failed == ["coverage in (0.85, 0.95)"]
