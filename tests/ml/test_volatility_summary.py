"""The volatility training report (pure): table, QLIKE ratios, model choice, flat metrics, settings key."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ml.volatility import summary
from ml.volatility.evaluation import WalkForwardResult


def _result(rows: dict[str, dict[str, float]]) -> WalkForwardResult:
    results = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
    return WalkForwardResult(results=results, forecasts=pd.DataFrame(), )


PER_SYMBOL = {
    "A": _result({"garch_t": {"qlike": 0.40, "coverage": 0.90, "mae": 1.0},
                  "har_gk_log": {"qlike": 0.20, "coverage": 0.70, "mae": 2.0},
                  "ewma": {"qlike": 0.50, "coverage": 0.88, "mae": 3.0}}),
    "B": _result({"garch_t": {"qlike": 0.80, "coverage": 0.92, "mae": 1.0},
                  "har_gk_log": {"qlike": 0.40, "coverage": 0.72, "mae": 2.0},
                  "ewma": {"qlike": 0.60, "coverage": 0.86, "mae": 3.0}}),
}


def _table():
    return summary.with_ratios(summary.summary_table(PER_SYMBOL), ["garch_t", "har_gk_log", "ewma"])


def test_table_has_ratios_to_garch_and_the_best_har_per_symbol():
    table = _table()
    assert table.index.names == ["symbol", "model"]
    assert table.loc[("A", "ewma"), "ratio_garch"] == pytest.approx(1.25)
    assert table.loc[("B", "garch_t"), "ratio_best_har"] == pytest.approx(2.0)
    no_har = summary.with_ratios(summary.summary_table(PER_SYMBOL), ["garch_t", "ewma"])
    assert "ratio_best_har" not in no_har


def test_choice_passes_the_coverage_band_else_falls_back_to_the_best_qlike():
    table = _table()
    assert summary.choose_model(table, (0.85, 0.95)) == "ewma"  # har has the best QLIKE but misses the band
    assert summary.choose_model(table, (0.999, 1.0)) == "har_gk_log"  # none passes: best QLIKE of all
    assert summary.choose_model(table, (0.85, 0.95), model="ewma") == "ewma"


def test_flat_metrics_per_symbol_means_and_worst_ratio():
    m = summary.flat_metrics(_table(), "ewma")
    assert m["qlike_A"] == 0.5 and m["qlike_B"] == 0.6 and m["qlike_mean"] == pytest.approx(0.55)
    assert m["coverage_mean"] == pytest.approx(0.87) and m["mae_mean"] == 3.0
    assert m["qlike_ratio_garch_max"] == pytest.approx(1.25)
    assert "mse_A" not in m  # not evaluated: not reported


def test_settings_key_ignores_candidate_order():
    assert summary.settings_key(5, ["b", "a"], None) == summary.settings_key(5, ["a", "b"], None)
    assert json.loads(summary.settings_key(5, None, "ewma"))["candidates"] == sorted(summary.DEFAULT_CANDIDATES)
