"""signal-quality-pipeline run for real (Prefect test server, own MLflow store) on GOOG with small settings."""

import json

import mlflow
import pandas as pd
import pytest
from sqlalchemy import select

import registry
from flows.signal_quality import signal_quality_pipeline
from store.db import get_engine
from store.models import AuditLog, MLModelTraining

FAST = {"symbols": ["GOOG"], "n_splits": 3, "n_estimators": 60}


@pytest.fixture(scope="module")
def trained(goog_store):
    """A first pipeline run on GOOG into a fresh MLflow store."""
    return signal_quality_pipeline(**FAST)


def test_first_model_becomes_champion_and_scores_a_new_signal(trained, db_url):
    assert trained.promoted and trained.version == "1", trained.reason
    loaded = registry.load_alias(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION)
    assert loaded.version == "1"
    bundle = loaded.model
    from store.bars import read_bars

    bars = read_bars(db_url, "GOOG", "1d")
    from ml.inference import score

    signal = bundle.signals(bars, "sma_crossover").iloc[-1]
    (out,) = score(bundle, {"GOOG": bars}, pd.DataFrame([{"symbol": "GOOG", "strategy": "sma_crossover",
                                                         "side": int(signal["side"]), "ts": signal.name,
                                                         "strength": float(signal["strength"])}]))
    assert 0.0 <= out.score <= 1.0 and 0.5 <= out.confidence <= 1.0
    assert out.prediction in ("BUY", "SELL", "HOLD") and out.threshold == bundle.threshold
    assert out.features["strategy_sma_crossover"] == 1.0 and out.features["hist_n"] > 0
    assert set(bundle.history["symbol"]) == {"GOOG"} and set(bundle.strategy_params) == {
        "rsi_mean_reversion", "sma_crossover", "donchian_breakout"}
    with get_engine(db_url).connect() as conn:
        row = conn.execute(select(MLModelTraining)).one()
    assert row.model_type == "SIGNAL_QUALITY" and row.status == "COMPLETED" and row.model_version == "1"
    assert row.completed_at is not None and {"auc", "ece", "kept_frac", "auc_GOOG", "take_all_auc"} <= set(
        row.performance)


def test_run_has_metrics_plots_lineage_and_pyfunc(trained, db_url):
    version = registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION)
    run = mlflow.get_run(version.run_id)
    assert run.data.tags["data_digest"] == version.tags["data_digest"]
    assert run.data.tags["settings"] == version.tags["settings"]
    assert "code_version" in run.data.tags and "model_settings" in run.data.tags
    assert [i.dataset.name for i in run.inputs.dataset_inputs] == ["GOOG"]
    m = run.data.metrics
    assert 0 <= m["ece"] <= 0.1 and 0.3 <= m["kept_frac"] <= 1 and "logistic_auc" in m and "win_ratio" in m
    assert "sharpe_kept" in m and "mdd_all" in m and "precision" in m and "f1" in m
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id, "evaluation")}
    for name in ("calibration.png", "roc.png", "threshold_sweep.png", "feature_importance.png",
                 "threshold_sweep.csv", "oos_summary.csv"):
        assert f"evaluation/{name}" in artifacts
    sweep = pd.read_csv(mlflow.artifacts.download_artifacts(run_id=run.info.run_id,
                                                            artifact_path="evaluation/threshold_sweep.csv"))
    assert sweep["threshold"].round(2).tolist() == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]
    pyfunc = mlflow.pyfunc.load_model(f"models:/{registry.SIGNAL_QUALITY_MODEL}/1")
    example = pyfunc.input_example
    out = pyfunc.predict(example)
    assert list(out.columns) == ["score", "confidence", "prediction"] and len(out) == len(example)


def test_worse_candidate_is_registered_but_not_promoted(trained, db_url):
    grids = {"sma_crossover": [{"fast": 5, "slow": 20}], "rsi_mean_reversion": [{"period": 3, "lower": 20.0,
                                                                                   "upper": 80.0}]}
    worse = signal_quality_pipeline(**{**FAST, "n_splits": 4}, model="take_all", param_grids=grids,
                                    strategies=list(grids))
    assert worse.version == "2" and not worse.promoted
    assert "gates failed" in worse.reason and "auc lift over take-all" in worse.reason
    champion_run = mlflow.get_run(registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION).run_id)
    # the champion was re-evaluated under the candidate's 4 folds, not read from its 3-fold run
    assert worse.comparison["champion_auc"] is not None
    assert worse.comparison["champion_auc"] != pytest.approx(champion_run.data.metrics["auc"])
    assert str(registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION).version) == "1"
    version = registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHALLENGER)
    assert str(version.version) == "2" and version.tags["compared_with"] == "1"
    assert json.loads(version.tags["settings"])["model"]["param_grids"] == grids  # ints stay ints
    with get_engine(db_url).connect() as conn:
        actions = conn.execute(select(AuditLog.action, AuditLog.target)).all()
    assert ("train", "abtpro-signal-quality/2") in actions
    assert ("promote", "abtpro-signal-quality/2") not in actions


def test_identical_retrain_reuses_the_champions_score_and_is_not_promoted(trained):
    again = signal_quality_pipeline(**FAST)  # same data, settings and protocol: same seeded AUC
    assert not again.promoted and "not better than champion" in again.reason
    assert again.comparison["candidate_auc"] == pytest.approx(again.comparison["champion_auc"])
    champion = registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION)
    assert str(champion.version) == "1" and again.champion_version == "1"


def test_failed_training_is_recorded(trained, db_url):
    with pytest.raises(ValueError, match="unknown strategies"):
        signal_quality_pipeline(**FAST, strategies=["nope_strategy"])
    with get_engine(db_url).connect() as conn:
        failed = conn.execute(select(MLModelTraining).where(MLModelTraining.status == "FAILED")).all()
    assert len(failed) == 1 and "nope_strategy" in failed[0].error and failed[0].model_type == "SIGNAL_QUALITY"
    assert pd.Timestamp(failed[0].completed_at) >= pd.Timestamp(failed[0].started_at)


def _training_rows(url: str) -> int:
    with get_engine(url).connect() as conn:
        return len(conn.execute(select(MLModelTraining)).all())


def test_unchanged_data_is_not_retrained_without_force(trained, db_url):
    before = _training_rows(db_url)
    again = signal_quality_pipeline(**FAST, force=False)
    assert not again.promoted and again.reason.startswith("up to date")
    assert again.version == str(registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION).version)
    assert _training_rows(db_url) == before  # nothing trained, no training row


# --- resolved platform signals in retraining (issue 17): pseudonymous users, digest, up to date ----------------

RAW_USER_ID, RAW_USER_NAME = 48151623, "alice-raw-name-7731"
LOOSE_GATES = {"min_improvement": -1.0, "min_auc": 0.0, "max_ece": 1.0, "min_kept": 0.0, "min_auc_lift": -1.0}


def _feature_rows(bundle, bars, strategy: str, n: int) -> list[tuple[pd.Timestamp, int, dict]]:
    """(signal time, side, stored feature dict) of the last ``n`` signals, computed as the service stores them."""
    signals = bundle.signals(bars, "sma_crossover").iloc[-n - 5:-5]
    X = bundle.features(bars, signals, strategy, symbol="GOOG")
    return [(ts, int(side), {k: (None if pd.isna(v) else float(v)) for k, v in row.items()})
            for (ts, row), side in zip(X.iterrows(), signals["side"])]


def _insert_scored(db_url: str, rows: list[dict], outcomes: list[dict | None]) -> list[int]:
    from store.models import MLSignalOutcome, MLSignalScore, User

    ids = []
    with get_engine(db_url).begin() as conn:
        if conn.execute(select(User.id).where(User.id == RAW_USER_ID)).first() is None:
            conn.execute(User.__table__.insert(), [{"id": RAW_USER_ID, "name": RAW_USER_NAME,
                                                     "api_key_hash": "f" * 64, "is_admin": False, "role": "user"}])
        for row, outcome in zip(rows, outcomes):
            score_id = conn.execute(MLSignalScore.__table__.insert().values(
                user_id=RAW_USER_ID, score=0.5, confidence=0.5, prediction="BUY", model_name="m",
                model_version="1", **row)).inserted_primary_key[0]
            ids.append(score_id)
            if outcome is not None:
                conn.execute(MLSignalOutcome.__table__.insert(), [{"score_id": score_id, **outcome}])
    return ids


def _logged_text(run_id: str, tmp_path) -> str:
    """Every param, tag, dataset input and artifact of a run (parquet artifacts decoded) as one text."""
    from pathlib import Path

    run = mlflow.get_run(run_id)
    parts = [json.dumps(run.data.params), json.dumps(run.data.tags)]
    for i in run.inputs.dataset_inputs:
        d = i.dataset
        parts += [d.name, d.digest, d.source, d.source_type, d.schema or "", d.profile or ""]
    root = Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / run_id)))
    for path in root.rglob("*"):
        if path.is_file():
            parts.append(path.read_bytes().decode("latin-1"))
            if path.suffix == ".parquet":
                parts.append(pd.read_parquet(path).to_csv())
    return "\n".join(parts)


@pytest.fixture(scope="module")
def with_platform(trained, db_url):
    """Resolved platform signals stored for GOOG (plus rows that must not be trained on), then a retrain."""
    from store.bars import read_bars

    bundle = registry.load_alias(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION).model
    bars = read_bars(db_url, "GOOG", "1d")
    later = {ts: bars.index[min(bars.index.get_loc(ts) + 3, len(bars) - 1)] for ts in bars.index}
    rows, outcomes = [], []
    for strategy, n in (("my_breakout", 24), ("sma_crossover", 12)):
        for k, (ts, side, feats) in enumerate(_feature_rows(bundle, bars, strategy, n)):
            if k % 4 == 0:
                feats.pop("hist_n", None)  # an older scorer's row may lack a column: NaN in training
            feats["caller_confidence"] = 0.3 + 0.4 * (k % 2)  # the strategy's own number, on all 36 rows
            if strategy == "my_breakout":
                feats["caller_rank"] = float(k)  # on 24 rows: fewer than MIN_CALLER_ROWS
            rows.append({"symbol": "GOOG", "timeframe": "1d", "strategy": strategy, "side": "BUY" if side > 0
                         else "SELL", "signal_ts": ts.to_pydatetime(), "features": feats, "plan": None,
                         "caller_supplied": False})
            outcomes.append({"outcome": float(k % 2), "realised_return": 0.01 if k % 2 else -0.01,
                             "exit_ts": later[ts].to_pydatetime(), "barrier": "reported" if k % 3 else "pt"})
    resolved = len(rows)
    ts, side, feats = _feature_rows(bundle, bars, "my_breakout", 1)[0]
    base = {"symbol": "GOOG", "timeframe": "1d", "strategy": "my_breakout", "side": "BUY",
            "signal_ts": ts.to_pydatetime(), "features": feats, "plan": None, "caller_supplied": False}
    exit_ = later[ts].to_pydatetime()
    excluded = [  # never filled; not resolved yet; scored on caller-supplied bars; another timeframe
        ({**base}, {"outcome": None, "realised_return": None, "exit_ts": None, "barrier": "unfilled"}),
        ({**base}, None),
        ({**base, "caller_supplied": True}, {"outcome": 1.0, "realised_return": 0.1, "exit_ts": exit_,
                                             "barrier": "reported"}),
        ({**base, "timeframe": "1h"}, {"outcome": 1.0, "realised_return": 0.1, "exit_ts": exit_,
                                       "barrier": "reported"}),
    ]
    _insert_scored(db_url, rows + [r for r, _ in excluded], outcomes + [o for _, o in excluded])
    before = _training_rows(db_url)
    result = signal_quality_pipeline(**FAST, **LOOSE_GATES, force=False)
    return {"resolved": resolved, "result": result, "before": before}


def test_retrain_includes_the_resolved_platform_signals(with_platform, db_url):
    result = with_platform["result"]
    assert not result.reason.startswith("up to date"), result.reason  # new outcomes: the digest changed
    assert _training_rows(db_url) == with_platform["before"] + 1
    new = mlflow.MlflowClient().get_model_version(registry.SIGNAL_QUALITY_MODEL, result.version)
    first = mlflow.MlflowClient().get_model_version(registry.SIGNAL_QUALITY_MODEL, "1")
    run, first_run = mlflow.get_run(new.run_id), mlflow.get_run(first.run_id)
    n = with_platform["resolved"]
    assert int(run.data.params["n_platform_signals"]) == n
    assert int(run.data.params["n_signals"]) == int(first_run.data.params["n_signals"]) + n
    assert "n_platform_signals" not in first_run.data.params or first_run.data.params["n_platform_signals"] == "0"
    assert run.data.tags["data_digest"] != first_run.data.tags["data_digest"] == first.tags["data_digest"]
    assert new.tags["data_digest"] == run.data.tags["data_digest"]
    assert [i.dataset.name for i in run.inputs.dataset_inputs] == ["GOOG", "platform_signals"]
    lineage = pd.read_parquet(mlflow.artifacts.download_artifacts(
        run_id=new.run_id, artifact_path="training_data/platform_signals.parquet"))
    assert len(lineage) == n and set(lineage["strategy"]) == {"my_breakout", "sma_crossover"}
    assert set(lineage["barrier"]) == {"reported", "pt"} and set(lineage["timeframe"]) == {"1d"}
    assert result.promoted, result.reason
    champion = registry.load_alias(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION)
    assert str(champion.version) == result.version
    # the model's inputs are features only: neither the pseudonym nor the score id is a column
    assert not {"user", "score_id", "user_id"} & set(champion.model.feature_columns)
    # a strategy-supplied number enough reported outcomes carry is a feature now; a rarer one is not yet
    assert "caller_confidence" in champion.model.feature_columns
    assert "caller_rank" not in champion.model.feature_columns


def test_training_data_carries_pseudonymous_user_ids_only(with_platform, data_dir, tmp_path):
    from store.training_outcomes import KEY_FILE, pseudonym, pseudonym_key

    version = mlflow.MlflowClient().get_model_version(registry.SIGNAL_QUALITY_MODEL, with_platform["result"].version)
    lineage = pd.read_parquet(mlflow.artifacts.download_artifacts(
        run_id=version.run_id, artifact_path="training_data/platform_signals.parquet"))
    key_path = data_dir / KEY_FILE
    assert key_path.exists() and (key_path.stat().st_mode & 0o077) == 0  # per-install secret, owner-only
    expected = pseudonym(RAW_USER_ID, pseudonym_key(data_dir))
    assert set(lineage["user"]) == {expected} and expected != str(RAW_USER_ID)
    assert pseudonym(RAW_USER_ID, b"another install's key 0123456789") != expected
    text = _logged_text(version.run_id, tmp_path)
    assert expected in text  # the pseudonym is logged with the training data ...
    assert str(RAW_USER_ID) not in text and RAW_USER_NAME not in text  # ... the raw id and name never
    assert str(RAW_USER_ID) not in json.dumps(version.tags) and RAW_USER_NAME not in json.dumps(version.tags)


def test_nothing_new_is_up_to_date_and_a_new_outcome_is_not(with_platform, db_url):
    champion = registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION)
    before = _training_rows(db_url)
    again = signal_quality_pipeline(**FAST, **LOOSE_GATES, force=False)
    assert again.reason.startswith("up to date") and again.version == str(champion.version)
    assert _training_rows(db_url) == before  # nothing trained
    from flows.steps.signal_quality import platform_rows
    from flows.steps.signal_quality_run import training_data_digest
    from store.bars import read_bars

    rows = platform_rows(["GOOG"], "1d")
    digest = training_data_digest({"GOOG": read_bars(db_url, "GOOG", "1d")}, rows)
    assert digest == champion.tags["data_digest"]
    from store.models import MLSignalOutcome

    with get_engine(db_url).begin() as conn:  # the platform corrects one outcome: the data is not the same
        conn.execute(MLSignalOutcome.__table__.update().where(MLSignalOutcome.score_id == int(rows["score_id"].iloc[0]))
                     .values(outcome=1.0 - float(rows["label"].iloc[0])))
    assert training_data_digest({"GOOG": read_bars(db_url, "GOOG", "1d")},
                                platform_rows(["GOOG"], "1d")) != champion.tags["data_digest"]
