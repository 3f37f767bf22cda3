"""Explanations of volatility forecasts (ml.inference.explanations): HAR linear terms, ensembles, the rest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.datasets import load_sample
from ml.features import compute_features
from ml.inference.explanations import TOP_K, volatility_explanations, volatility_terms
from ml.volatility import DEFAULT_MODEL, make_model

POSITIONS = [120, 500, 899]


@pytest.fixture(scope="module")
def goog() -> pd.DataFrame:
    return load_sample("GOOG").iloc[:900]


@pytest.fixture(scope="module")
def features(goog) -> pd.DataFrame:
    return compute_features(goog)


def _log_variance(model, bars: pd.DataFrame) -> np.ndarray:
    return 2.0 * np.log(model.predict(bars).iloc[POSITIONS].to_numpy(float))


@pytest.mark.parametrize("name", [DEFAULT_MODEL, "har_gk_log", "har_cc_log", "lhar_rs_qlike"])
def test_log_har_terms_add_up_to_the_forecast_ln_variance(goog, features, name):
    model = make_model(name).fit(goog)
    terms = volatility_terms(model, goog, features, POSITIONS)
    assert terms.method == "har_linear_terms" and terms.units == "ln variance of the forecast"
    cols = list(terms.contributions.columns)
    assert cols[0] == "intercept" and cols[-2:] == ["smearing", "scale"]
    assert set(cols[1:-2]) == set(model._design(goog, True).columns)
    np.testing.assert_allclose(terms.contributions.sum(axis=1).to_numpy(), _log_variance(model, goog), rtol=1e-8)
    np.testing.assert_allclose(terms.contributions["intercept"], model.coef_[0])
    np.testing.assert_allclose(terms.contributions["smearing"], np.log(model.smearing_))
    if name == DEFAULT_MODEL:  # the leverage HAR with six windows
        assert {"lev_1", "lev_66", "har_66"} <= set(cols)


def test_level_har_terms_add_up_to_the_forecast_variance(goog, features):
    model = make_model("har_gk").fit(goog)
    terms = volatility_terms(model, goog, features, POSITIONS)
    assert terms.units == "variance per bar" and "smearing" not in terms.contributions
    variance = model.predict(goog).iloc[POSITIONS].to_numpy(float) ** 2
    np.testing.assert_allclose(terms.contributions.sum(axis=1).to_numpy(), variance, rtol=1e-8)
    design = model._design(goog, False).iloc[POSITIONS].reset_index(drop=True)
    pd.testing.assert_frame_equal(terms.values[design.columns], design)


def test_har_explanation_shows_the_intercept_and_top_terms_by_magnitude(goog, features):
    model = make_model(DEFAULT_MODEL).fit(goog)
    terms = volatility_terms(model, goog, features, POSITIONS)
    out = volatility_explanations(model, goog, features, POSITIONS)
    for i, p in enumerate(POSITIONS):
        expl = out[p]
        assert expl["method"] == "har_linear_terms" and expl["units"] == "ln variance of the forecast"
        shown = expl["contributions"]
        assert len(shown) == TOP_K  # 12 regressors + intercept: capped
        mags = [abs(c["contribution"]) for c in shown]
        assert mags == sorted(mags, reverse=True)
        by_name = {c["feature"]: c for c in shown}
        assert by_name["intercept"]["value"] is None
        assert by_name["intercept"]["contribution"] == pytest.approx(model.coef_[0])
        row = terms.contributions.iloc[i]
        regressors = row.drop(["intercept", "smearing", "scale"])
        expected = set(regressors.abs().sort_values(ascending=False).index[: TOP_K - 1])
        assert set(by_name) - {"intercept"} == expected
        for c in shown:
            assert c["contribution"] == pytest.approx(row[c["feature"]], rel=1e-12)
        omitted = float(row.drop(list(by_name)).sum())
        assert f"{len(row) - TOP_K - 2} smaller terms not shown (sum {omitted:.6g})" in expl["note"]
        assert f"= {row.sum():.6g}" in expl["note"]


def test_small_har_shows_every_nonzero_term(goog, features):
    model = make_model("har_gk_log").fit(goog)
    expl = volatility_explanations(model, goog, features, [899])[899]
    names = {c["feature"] for c in expl["contributions"]}
    assert names == {"intercept", "har_1", "har_5", "har_22", "smearing"}  # scale = 1: no term
    total = sum(c["contribution"] for c in expl["contributions"])
    assert total == pytest.approx(_log_variance(model, goog)[-1], rel=1e-8)
    assert "not shown" not in expl["note"]


def test_ensemble_terms_are_weighted_member_terms_adding_up_to_its_ln_variance(goog, features):
    members = ("lhar_gk_ext", "har_gk", "garch_t", "xgb")
    model = make_model("ensemble", members=members, combination="nnls").fit(goog)
    terms = volatility_terms(model, goog, features, POSITIONS)
    assert terms.method == "ensemble_log_linear_terms" and terms.units == "ln variance of the forecast"
    np.testing.assert_allclose(terms.contributions.sum(axis=1).to_numpy(), _log_variance(model, goog), rtol=1e-8)
    har, weight = model.members_[0], model.weights_[0]
    har_terms = volatility_terms(har, goog, features, POSITIONS).contributions
    np.testing.assert_allclose(terms.contributions[[f"lhar_gk_ext:{c}" for c in har_terms]].to_numpy(),
                               weight * har_terms.to_numpy(), rtol=1e-12)
    for whole in ("har_gk", "garch_t"):  # no additive terms: weight x the member's ln variance
        k = members.index(whole)
        np.testing.assert_allclose(terms.contributions[whole].to_numpy(),
                                   model.weights_[k] * _log_variance(model.members_[k], goog), rtol=1e-12)
    xgb = model.members_[members.index("xgb")]
    assert [f"xgb:{c}" for c in xgb.feature_names_in_] + ["xgb:base"] == [
        c for c in terms.contributions if c.startswith("xgb:")]
    np.testing.assert_allclose(terms.contributions["intercept"], model.intercept_)
    np.testing.assert_allclose(terms.contributions["scale"], 2.0 * np.log(model.scale_))
    expl = volatility_explanations(model, goog, features, [899])[899]
    assert expl["method"] == "ensemble_log_linear_terms" and len(expl["contributions"]) == TOP_K
    assert {"intercept", "scale"} <= {c["feature"] for c in expl["contributions"]}
    assert "har_gk, garch_t enter whole" in expl["note"]


@pytest.mark.parametrize("name", ["garch_t", "ewma"])
def test_models_without_terms_say_so(goog, features, name):
    model = make_model(name).fit(goog)
    assert volatility_terms(model, goog, features, POSITIONS) is None
    out = volatility_explanations(model, goog, features, POSITIONS)
    for expl in out.values():
        assert expl["method"] is None and expl["contributions"] == []
        assert "no XGBoost member and no linear terms" in expl["note"]
