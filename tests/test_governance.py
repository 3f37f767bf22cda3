from registry.gates import decide_promotion, signal_quality_gates, volatility_gates
from registry.promotion import (
    Candidate,
    RegisterOutcome,
    plan_registration,
    retrain_decision,
    scorer_recipe,
    training_record,
    up_to_date,
    volatility_recipe,
)

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


# ------------------------------------------------------------------ registry.promotion (plain Python)


CANDIDATE = Candidate("runs:/r/model", "r", "qlike", 0.40, {"qlike_mean": 0.40}, {"model": "garch_t"}, "garch_t, h5")


def test_plan_registration_tags_the_version_with_the_decision_and_the_comparison():
    plan = plan_registration(CANDIDATE, 0.50, "3", lower_is_better=True, min_improvement=0.02, gates=GATES_OK,
                             code_version="1.0+abc")
    assert plan.decision.promote
    assert plan.comparison == {"candidate_qlike": 0.40, "champion_qlike": 0.50}
    assert plan.tags == {"model": "garch_t", "code_version": "1.0+abc", "promotion": plan.decision.reason,
                         "compared_with": "3", "candidate_qlike": "0.4", "champion_qlike": "0.5"}
    assert plan.description == f"garch_t, h5; {plan.decision.reason}"


def test_plan_registration_without_a_champion_compares_with_none():
    plan = plan_registration(CANDIDATE, None, None, lower_is_better=True, min_improvement=0.02,
                             gates={"coverage": False}, code_version="1.0")
    assert not plan.decision.promote and plan.tags["compared_with"] == "none"
    assert plan.tags["champion_qlike"] == "None" and plan.tags["promotion"].startswith("gates failed")


def test_up_to_date_only_for_the_same_data_and_settings():
    tags = {"data_digest": "d1", "settings": "s1"}
    current = up_to_date("4", tags, "d1", "s1")
    assert current == RegisterOutcome("4", False, "up to date: champion v4 was trained on identical data and "
                                      "settings", "4")
    assert up_to_date("4", tags, "d2", "s1") is None and up_to_date("4", tags, "d1", "s2") is None
    assert up_to_date(None, {}, "d1", "s1") is None


def test_training_record_holds_the_metrics_and_the_registration():
    outcome = RegisterOutcome("2", True, "better", "1", {"candidate_qlike": 0.4})
    assert training_record(CANDIDATE, outcome) == {"qlike_mean": 0.40, "version": "2", "promoted": True,
                                                   "reason": "better", "champion_version": "1",
                                                   "comparison": {"candidate_qlike": 0.4}}


def test_volatility_gates():
    gates = volatility_gates({"qlike_ratio_garch_max": 0.9, "coverage_mean": 0.9}, 1.0, (0.85, 0.95))
    assert gates == {"qlike ratio to GARCH-t <= 1.0": True, "coverage in (0.85, 0.95)": True}
    failed = volatility_gates({"qlike_ratio_garch_max": 1.1, "coverage_mean": 0.7}, 1.0, (0.85, 0.95))
    assert not any(failed.values())


def test_signal_quality_gates_fail_a_missing_metric():
    good = {"auc": 0.6, "ece": 0.05, "kept_frac": 0.5, "auc_lift_take_all": 0.1}
    assert all(signal_quality_gates(good, 0.5, 0.1, 0.3, 0.0).values())
    missing = signal_quality_gates({}, 0.5, 0.1, 0.3, 0.0)
    assert list(missing.values()) == [False, False, False, False]
    assert list(missing) == ["auc >= 0.5", "ece <= 0.1", "kept fraction >= 0.3", "auc lift over take-all > 0.0"]


def test_retrain_decision_needs_the_margin_and_the_registration_gates():
    assert retrain_decision("not better than champion", 0.50, 0.40, "3", 0.02) == (
        True, "on the recent out-of-sample window vs deployed v3: " + decide_promotion(
            0.40, 0.50, lower_is_better=True, min_improvement=0.02, gates={}).reason)
    promote, reason = retrain_decision("gates failed: coverage", 0.50, 0.40, "3", 0.02)
    assert not promote and reason.endswith("; but not promoted: registration gates failed: coverage")
    promote, reason = retrain_decision("not better", 0.50, 0.499, "3", 0.02)
    assert not promote and "not better than champion by the margin" in reason


def test_recipes_are_read_from_run_params():
    assert volatility_recipe({"symbols": "A,B", "candidates": "ewma", "horizon": "5", "refit_every": "21",
                              "test_fraction": "0.4", "timeframe": "1d", "other": "x"}) == {
        "symbols": ["A", "B"], "candidates": ["ewma"], "timeframe": "1d", "horizon": 5, "refit_every": 21,
        "test_fraction": 0.4}
    assert volatility_recipe({}) == {} and scorer_recipe({}) == {}
    assert scorer_recipe({"symbols": "A", "strategies": "s1,s2", "model": "xgboost", "pt_mult": "1.5",
                          "max_holding": "10"}) == {"symbols": ["A"], "strategies": ["s1", "s2"], "model": "xgboost",
                                                    "pt_mult": 1.5, "max_holding": 10}
