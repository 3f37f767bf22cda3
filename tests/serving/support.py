"""Small real models for the serving tests, registered into a throw-away MLflow store.

Models are fitted in seconds on synthetic bars: volatility v1 = log-HAR (no XGBoost member),
v2 = XGBoost (has SHAP contributions); the signal-quality model is a calibrated XGBoost scorer on
SMA-crossover signals with triple-barrier labels in the ScorerBundle the signal-quality flow registers.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SYMBOL = "SYN"
OTHER = "SYN2"
N_BARS = 900
KEYS = {"alice": "key-alice-0123456789", "bob": "key-bob-0123456789", "admin": "key-admin-0123456789"}


def garch_bars(n: int = N_BARS, seed: int = 0, start: str = "2018-01-01") -> pd.DataFrame:
    """Daily bars of a GARCH(1,1) process (a volatility structure the models can learn)."""
    rng = np.random.default_rng(seed)
    var = np.empty(n)
    ret = np.empty(n)
    var[0] = 1e-4
    for t in range(n):
        if t:
            var[t] = 2e-6 + 0.08 * ret[t - 1] ** 2 + 0.9 * var[t - 1]
        ret[t] = np.sqrt(var[t]) * rng.standard_t(6) / np.sqrt(1.5)
    close = 100 * np.exp(np.cumsum(ret))
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(rng.normal(0, 0.001, n))
    spread = np.abs(rng.normal(0, np.sqrt(var), n))
    high = np.maximum(open_, close) * (1 + spread)
    low = np.minimum(open_, close) * (1 - spread)
    index = pd.date_range(start, periods=n, freq="D", name="ts")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": rng.integers(1_000, 100_000, n).astype(float)}, index=index)


def long_frame(bars: pd.DataFrame, symbol: str, timeframe: str = "1d") -> pd.DataFrame:
    """A bars frame as the long frame ``store.bars.upsert_bars`` takes."""
    frame = bars.reset_index()
    frame.insert(0, "timeframe", timeframe)
    frame.insert(0, "symbol", symbol)
    frame["source"] = "test"
    return frame


def fit_volatility(kind: str, bars: pd.DataFrame):
    from ml.bundles import SymbolModels
    from ml.volatility import make_model

    params = {"n_estimators": 30} if kind == "xgb" else {}
    model = make_model(kind, horizon=5, **params).fit(bars)
    return SymbolModels({SYMBOL: model}, SYMBOL, {"horizon": 5, "model": kind, "timeframe": "1d"})


def fit_signal(bars: pd.DataFrame, symbol: str = SYMBOL):
    """The registered shape: a ``ScorerBundle`` (scorer, feature config, ``symbol``'s resolved training outcomes)."""
    from ml.signal_quality import (
        SignalFeatureConfig,
        SignalQualityScorer,
        build_signal_features,
        triple_barrier_labels,
    )
    from ml.signal_quality.bundle import ScorerBundle, resolved_history
    from ml.strategies import SMACrossover

    config = SignalFeatureConfig()
    signals = SMACrossover(fast=2, slow=6).signals(bars)
    labels = triple_barrier_labels(bars, signals, config.barrier)
    X = build_signal_features(bars, signals, labels, "sma_crossover", config)
    scorer = SignalQualityScorer(n_estimators=40, min_child_weight=1.0, max_depth=2, calibration_fraction=0.3).fit(
        X, labels["label"], label_end=labels["exit_time"])
    history = resolved_history(labels.assign(strategy="sma_crossover"), symbol)
    return ScorerBundle(scorer, config, list(X.columns), {"sma_crossover": [{"fast": 2, "slow": 6}]}, history,
                        {"strategy": "sma_crossover", "timeframe": "1d"})


def register_all(tracking_uri: str, artifact_dir: Path) -> dict[str, Any]:
    """Register volatility v1 (HAR), v2 (XGB) and signal v1 into ``tracking_uri``; champions = v1."""
    import mlflow
    from mlflow import MlflowClient

    import registry

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    exp = client.get_experiment_by_name("serving-tests")
    exp_id = exp.experiment_id if exp else client.create_experiment(
        "serving-tests", artifact_location=artifact_dir.as_uri())
    mlflow.set_experiment(experiment_id=exp_id)
    bars = garch_bars()
    out: dict[str, Any] = {}
    for kind in ("har_gk_log", "xgb"):
        model = fit_volatility(kind, bars)
        example = long_frame(bars.iloc[-320:], SYMBOL)[["symbol", "ts", "open", "high", "low", "close", "volume"]]
        with mlflow.start_run():
            mlflow.log_metric("qlike", 0.5)
            info = registry.log_model(model, example)
        version = registry.register(info.model_uri, registry.VOLATILITY_MODEL, {"model": kind}, f"test {kind}")
        out[f"volatility_{kind}"] = str(version.version)
    signal = fit_signal(bars)
    X = _signal_example(bars, signal)
    with mlflow.start_run():
        mlflow.log_metric("auc", 0.6)
        info = registry.log_model(signal, X)
    version = registry.register(info.model_uri, registry.SIGNAL_QUALITY_MODEL, {"model": "xgb"}, "test scorer")
    out["signal"] = str(version.version)
    registry.set_alias(registry.VOLATILITY_MODEL, registry.CHAMPION, out["volatility_har_gk_log"])
    registry.set_alias(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION, out["signal"])
    return out


def _signal_example(bars: pd.DataFrame, signal: Any) -> pd.DataFrame:
    from ml.signal_quality import build_signal_features
    from ml.strategies import SMACrossover

    signals = SMACrossover(fast=2, slow=6).signals(bars).iloc[-5:]
    X = build_signal_features(bars, signals, signal.history, "sma_crossover", signal.feature_config)
    return X.reset_index(drop=True)


def populate_store(url: str) -> None:
    """Bars of SYN and SYN2 and users alice, bob (plain) and admin, with the keys in ``KEYS``."""
    from store.bars import upsert_bars
    from store.users import create_user

    upsert_bars(url, long_frame(garch_bars(), SYMBOL))
    upsert_bars(url, long_frame(garch_bars(seed=3), OTHER))
    for name, key in KEYS.items():
        create_user(url, name, is_admin=name == "admin", key=key)


def service_env(tracking_uri: str, **extra: str) -> dict[str, str]:
    """Environment for a service instance in tests."""
    env = {"ABTPRO_MLFLOW_TRACKING_URI": tracking_uri, "ABTPRO_SERVING_AUTH_CACHE_SECONDS": "0",
           "ABTPRO_SERVING_POLL_SECONDS": "0", "ABTPRO_SERVING_USE_PREFECT_DEPLOYMENTS": "false",
           "ABTPRO_SERVING_VOLATILITY_FLOW": "tests.serving.support:fake_volatility_flow",
           "ABTPRO_SERVING_SIGNAL_FLOW": "tests.serving.support:fake_signal_flow",
           "ABTPRO_SERVING_WARM_SERIES": "0"}  # no background thread racing the tests' DB resets (test_warm.py)
    env.update(extra)
    return env


class EnvPatch:
    """Set environment variables and restore them (usable from any fixture scope)."""

    def __init__(self, values: dict[str, str]):
        self.values = values
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> EnvPatch:
        for k, v in self.values.items():
            self.saved[k] = os.environ.get(k)
            os.environ[k] = v
        return self

    def __exit__(self, *exc: object) -> None:
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ------------------------------------------------------------------ fake training flows for job tests

#: Open by default; a test clears it to hold the fake volatility flow while it looks at the job.
TRAIN_GATE = threading.Event()
TRAIN_GATE.set()


def fake_volatility_flow(symbols: list[str] | None = None, horizon: int = 5, training_id: int | None = None,
                         actor: str = "pipeline") -> None:
    """Stands in for ``flows.volatility.volatility_pipeline``: marks the job COMPLETED with metrics."""
    import time

    from abtpro.settings import get_settings
    from store.db import session_scope
    from store.models import MLModelTraining, utcnow

    TRAIN_GATE.wait(30)
    time.sleep(0.05)
    if symbols and "FAIL" in symbols:
        raise RuntimeError("training failed on purpose")
    with session_scope(get_settings().db_url) as session:
        row = session.get(MLModelTraining, training_id)
        row.status, row.completed_at, row.model_version = "COMPLETED", utcnow(), "99"
        row.performance = {"qlike": 0.42, "horizon": horizon}


def fake_signal_flow(symbols: list[str] | None = None, training_id: int | None = None, actor: str = "pipeline") -> None:
    """Stands in for ``flows.signal_quality.signal_quality_pipeline``; returns without touching the row."""
    import time

    time.sleep(0.2)
