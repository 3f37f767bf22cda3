"""A cross-asset signal scorer in serving: the other stored series' windows feed the training feature code, and a
change to any of them is a new answer (their revisions are part of the cache keys)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.serving import support

TS_BACK = 50


@pytest.fixture(scope="module")
def bundle():
    """A ScorerBundle trained with the cross-asset context (SYN2 as the reference of SYN)."""
    from ml.signal_quality import (
        SignalFeatureConfig,
        SignalQualityScorer,
        build_signal_features,
        triple_barrier_labels,
    )
    from ml.signal_quality.bundle import ScorerBundle, resolved_history
    from ml.strategies import SMACrossover

    bars, other = support.garch_bars(), support.garch_bars(seed=3)
    config = SignalFeatureConfig(cross_asset=True, reference_symbols=(support.OTHER,))
    signals = SMACrossover(fast=2, slow=6).signals(bars)
    labels = triple_barrier_labels(bars, signals, config.barrier)
    X = build_signal_features(bars, signals, labels, "sma_crossover", config, closes={support.OTHER: other["close"]},
                              symbol=support.SYMBOL)
    scorer = SignalQualityScorer(n_estimators=40, min_child_weight=1.0, max_depth=2, calibration_fraction=0.3).fit(
        X, labels["label"], label_end=labels["exit_time"])
    history = resolved_history(labels.assign(strategy="sma_crossover"), support.SYMBOL)
    return ScorerBundle(scorer, config, list(X.columns), {"sma_crossover": [{"fast": 2, "slow": 6}]}, history,
                        {"timeframe": "1d", "symbols": [support.SYMBOL, support.OTHER]})


def _score(url, model, windows, answers, contexts):
    from serving.inference import context_windows, load_bars, origin_positions, score_signals

    ts = support.garch_bars().index[-TS_BACK].to_pydatetime()
    n = model.model.feature_config.min_history_bars
    window = load_bars(url, support.SYMBOL, "1d", [ts], n, cache=windows)
    pos = origin_positions(window, [ts], "ts")
    others = context_windows(url, model.model, support.SYMBOL, "1d", [ts], n, windows)
    out = score_signals(model, support.SYMBOL, "sma_crossover", window, pos, [1], [0.5], False, answers,
                        contexts=contexts, others=others)[0]
    return out, window, others


def _expected(bundle, other_close: pd.Series) -> pd.DataFrame:
    from ml.signal_quality import build_signal_features

    bars = support.garch_bars()
    ts = bars.index[-TS_BACK]
    window = bars.loc[:ts].iloc[-bundle.feature_config.min_history_bars:]
    return build_signal_features(window, pd.DataFrame({"side": [1], "strength": [0.5]}, index=[ts]),
                                 bundle.history, "sma_crossover", bundle.feature_config,
                                 closes={support.OTHER: other_close}, symbol=support.SYMBOL)[bundle.feature_columns]


def test_scores_with_the_stored_other_series_and_recomputes_when_it_changes(store, bundle):
    from registry import LoadedModel
    from serving.inference import LRUCache
    from store.bars import upsert_bars
    from store.windows import CachedWindows

    model = LoadedModel("abtpro-signal-quality", "9", None, bundle)
    windows, answers, contexts = CachedWindows(store, 1500), LRUCache(100), LRUCache(10)
    first, window, others = _score(store, model, windows, answers, contexts)
    assert list(others) == [support.OTHER]
    other = support.garch_bars(seed=3)
    X = _expected(bundle, other["close"])
    assert X[["f_corr_ref_66", "x_breadth", "x_ref_vol_ratio", "x_ref_trend"]].notna().all().all()
    assert abs(bundle.scorer.score_signals(X)["score"].iloc[0] - first.score) < 1e-9
    assert first.features["x_ref_trend"] == pytest.approx(X["x_ref_trend"].iloc[0], rel=1e-12)

    # a merged correction of the other series (before the signal bar): same SYN window, new context and answer
    fixed = other.copy()
    day = other.index[-TS_BACK - 5]
    fixed.loc[day, ["open", "high", "low", "close"]] *= 1.5
    upsert_bars(store, support.long_frame(fixed.loc[[day]], support.OTHER))
    second, window2, _ = _score(store, model, windows, answers, contexts)
    assert window2.key == window.key
    X2 = _expected(bundle, fixed["close"])
    assert X2["x_ref_trend"].iloc[0] != X["x_ref_trend"].iloc[0]
    assert second.features["x_ref_trend"] == pytest.approx(X2["x_ref_trend"].iloc[0], rel=1e-12)
    assert second.features["f_corr_ref_66"] == pytest.approx(X2["f_corr_ref_66"].iloc[0], rel=1e-9)
    assert abs(bundle.scorer.score_signals(X2)["score"].iloc[0] - second.score) < 1e-9


def test_a_scorer_without_the_context_reads_no_other_series(store):
    from serving.inference import context_windows

    plain = support.fit_signal(support.garch_bars())
    assert plain.context_symbols(support.SYMBOL) == []
    assert context_windows(store, plain, support.SYMBOL, "1d", [None], 600) == {}
