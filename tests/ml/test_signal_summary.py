"""The signal-quality training report and recipe (pure): settings, metrics table, flat metrics, reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.signal_quality.recipe import ModelSettings, PooledSets, Protocol, model_settings, settings_key
from ml.signal_quality.summary import flat_metrics, overall_line, reference_sample, summary_table


def test_settings_round_trip_and_key_is_stable():
    ms = model_settings("xgboost", ["sma_crossover"], {"sma_crossover": [{"fast": 5, "slow": 20}]}, 2.0, 1.0, 5,
                        30, False, 40, 3, 0.3, "isotonic")
    back = ModelSettings.from_json(ms.to_json())
    assert back == ms and back.feature_config() == ms.feature_config()
    assert back.feature_config().barrier.pt_mult == 2.0 and back.scorer_params["min_keep"] == 0.3
    assert settings_key(back, Protocol(3)) == settings_key(ms, Protocol(3)) != settings_key(ms, Protocol(4))
    with pytest.raises(ValueError, match="unknown scorer"):
        model_settings("forest", None, None, 1.5, 1.5, 10, 50, True, 10, 2, 0.4, "sigmoid")
    with pytest.raises(ValueError, match="unknown strategies"):
        model_settings("xgboost", ["nope"], None, 1.5, 1.5, 10, 50, True, 10, 2, 0.4, "sigmoid")


def _oos(score, y, idx):
    return pd.DataFrame({"fold": 0, "score": score, "threshold": 0.5, "taken": score >= 0.5, "label": y,
                         "ret": np.where(y > 0, 0.01, -0.01), "side": 1,
                         "group": np.where(np.arange(len(y)) % 2, "A|sma_crossover", "B|rsi_mean_reversion")},
                        index=idx)


def test_metrics_tables_name_datasets_baselines_and_lift():
    rng = np.random.default_rng(0)
    idx = pd.date_range("2010-01-01", periods=400, freq="D")
    y = rng.integers(0, 2, 400).astype(float)
    good = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.1, 400), 0, 1)
    table = summary_table({"xgboost": _oos(good, y, idx), "take_all": _oos(np.full(400, 0.5), y, idx)}, "xgboost")
    assert ("xgboost", "A", "sma_crossover") in table.index and ("take_all", "A", "sma_crossover") not in table.index
    m = flat_metrics(table, "xgboost")
    assert {"auc", "auc_A", "auc_B", "win_ratio_A", "take_all_auc", "auc_lift_take_all"} <= set(m)
    assert m["auc"] > 0.8 and m["take_all_auc"] == 0.5 and m["auc_lift_take_all"] == pytest.approx(m["auc"] - 0.5)
    assert m["win_kept"] > m["win_all"] and m["kept_frac"] < 1
    assert flat_metrics(table, "take_all")["auc_lift_take_all"] == 0.0
    line = overall_line("xgboost", table)
    assert line.startswith(f"xgboost out-of-sample: AUC {m['auc']:.4f} (take_all 0.5000)")


def test_reference_sample_keeps_resolved_rows_in_time_order_and_caps_them():
    idx = pd.date_range("2010-01-01", periods=10, freq="D")
    X = pd.DataFrame({"a": np.arange(10), "b": np.arange(10) * 2.0}, index=idx)
    labels = pd.DataFrame({"label": [1.0, np.nan, 0.0, 1.0, np.nan, 1.0, 0.0, 1.0, 0.0, 1.0]}, index=idx)
    pooled = PooledSets(X, labels, None, pd.DataFrame(), {})
    full = reference_sample(pooled)
    assert list(full["a"]) == [0, 2, 3, 5, 6, 7, 8, 9] and (full.dtypes == "float64").all()
    capped = reference_sample(pooled, max_rows=3, seed=1)
    assert len(capped) == 3 and capped["a"].is_monotonic_increasing and set(capped["a"]) <= set(full["a"])
    assert capped.equals(reference_sample(pooled, max_rows=3, seed=1))
