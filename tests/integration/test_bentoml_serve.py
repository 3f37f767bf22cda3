"""The service under a real ``bentoml serve`` process on 127.0.0.1 (random free port)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.serving import support

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, db_url: str):
    root = tmp_path_factory.mktemp("serve-mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    versions = support.register_all(uri, root / "artifacts")
    port = _free_port()
    env = {**os.environ, **support.service_env(uri, ABTPRO_SERVING_POLL_SECONDS="1",
                                                        ABTPRO_SERVING_MAX_REQUESTS_PER_CONNECTION="5"),
           "DATABASE_URL": db_url, "BENTOML_DO_NOT_TRACK": "true", "PYTHONPATH": str(ROOT)}
    bentoml = Path(sys.executable).with_name("bentoml")
    log = open(root / "serve.log", "wb")
    proc = subprocess.Popen([str(bentoml), "serve", "serving.service:MLService", "--host", "127.0.0.1",
                             "--port", str(port), "--working-dir", str(ROOT)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"bentoml serve exited: {(root / 'serve.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"bentoml serve not ready: {(root / 'serve.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"base": base, "uri": uri, "versions": versions, "log": root / "serve.log"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_real_server_scores_stores_and_exports_metrics(served, clean_db):
    support.populate_store(clean_db)
    base, v = served["base"], served["versions"]
    alice = {"X-API-Key": support.KEYS["alice"]}
    with httpx.Client(base_url=base, timeout=30) as http:
        assert http.post("/ml/volatility/predict", json={"symbol": "SYN"}).status_code == 401
        vol = http.post("/ml/volatility/predict", json={"symbol": "SYN"}, headers=alice)
        assert vol.status_code == 200, vol.text
        assert vol.json()["model"] == {"name": "abtpro-volatility", "version": v["volatility_har_gk_log"]}
        sig = http.post("/ml/signal/score", json={"symbol": "SYN", "strategy": "sma_crossover", "side": "SELL",
                                                  "explain": True}, headers=alice)
        assert sig.status_code == 200, sig.text
        assert sig.json()["explanation"]["contributions"]
        bad = http.post("/ml/volatility/predict", json={"symbol": "SYN", "coverage": 5}, headers=alice)
        assert bad.status_code == 422 and bad.json()["fields"] == ["coverage"]
        assert http.post("/ml/volatility/predict", json={"symbol": "NOPE"}, headers=alice).status_code == 404
        hist = http.get("/ml/signal/history", headers=alice).json()
        assert hist["total"] == 1 and hist["items"][0]["id"] == sig.json()["id"]
        metrics = http.get("/metrics").text
        assert 'abtpro_predictions_total{endpoint="volatility_predict",model="abtpro-volatility",' \
               f'version="{v["volatility_har_gk_log"]}"}} 1.0' in metrics
        assert "abtpro_request_duration_seconds_bucket" in metrics and "/ml/volatility/predict" in metrics
        assert http.get("/docs.json").status_code == 200
        # issue 18: series are labelled by route template; 200 random paths (404 / 401) add none
        assert 'endpoint="/ml/volatility/predict"' in metrics
        http.get("/first-unknown-path")  # the one 'unmatched' series of each status (404, 401)...
        http.get("/ml/first-unknown-path")
        before = len(http.get("/metrics").text)  # ... and no more after that
        for i in range(200):
            http.get(f"/{uuid.uuid4().hex}/{i}" if i % 2 else f"/ml/{uuid.uuid4().hex}")
        after = http.get("/metrics").text
        assert len(after) - before < 3_000 and 'endpoint="unmatched"' in after, (before, len(after))
        # 4xx answers are logged in one line each, without a traceback (BentoML logs a validation error's)
        assert http.post("/ml/volatility/predict", content=b"x", headers={**alice, "Content-Type": "text/plain"}
                         ).status_code == 415
    time.sleep(0.5)
    log = served["log"].read_text(errors="replace")
    assert "POST /ml/volatility/predict -> 422: invalid request: coverage" in log, log[-3000:]
    assert "POST /ml/volatility/predict -> 415" in log and "Traceback" not in log, log[-3000:]


def test_keep_alive_connections_are_recycled(served):
    """Every 5th answer of a connection (the fixture's setting) says ``Connection: close``; the client reconnects
    and every request is answered (serving.keepalive: spreads keep-alive clients over the worker processes)."""
    with httpx.Client(base_url=served["base"], timeout=30) as http:
        answers = [http.get("/readyz") for _ in range(12)]
    assert [a.status_code for a in answers] == [200] * 12
    assert [a.headers.get("connection") == "close" for a in answers] == [i % 5 == 4 for i in range(12)]


def test_bentoml_build_packs_the_service(tmp_path):
    """``bentoml build -f serving/bentofile.yaml .`` works offline and documents every /ml route."""
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "home"), "BENTOML_DO_NOT_TRACK": "true"}
    bentoml = Path(sys.executable).with_name("bentoml")
    out = subprocess.run([str(bentoml), "build", "-f", "serving/bentofile.yaml", "."], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    (bento,) = [p for p in (tmp_path / "home" / "bentos" / "abtpro_ml").iterdir() if p.name != "latest"]
    spec = (bento / "apis" / "openapi.yaml").read_text()
    for route in ("/ml/signal/score", "/ml/signal/score_batch", "/ml/signal/history", "/ml/signal/stats",
                  "/ml/volatility/predict", "/ml/volatility/predict_batch", "/ml/volatility/history",
                  "/ml/volatility/accuracy", "/ml/models/list", "/ml/models/train", "/ml/models/performance",
                  "/ml/models/jobs/{job_id}", "/ml/models/reload"):
        assert f"  {route}:" in spec, route
    assert (bento / "src" / "store" / "migrations" / "env.py").exists()
    assert (bento / "src" / "serving" / "service.py").exists() and not (bento / "src" / "tests").exists()


def test_real_server_takes_pushed_bars(served, clean_db):
    """``POST /ml/bars`` under ``bentoml serve``: auth, per-row reasons, idempotent re-push, 422 for bad bodies."""
    from store.bars import read_bars
    from store.users import create_user

    support.populate_store(clean_db)
    create_user(clean_db, "feed", key="key-feed-0123456789", role="feeder")
    feeder, alice = {"X-API-Key": "key-feed-0123456789"}, {"X-API-Key": support.KEYS["alice"]}
    bars = [{"symbol": "LIVE", "timeframe": "1d", "ts": f"2024-01-0{d}", "open": 10, "high": 11, "low": 9,
             "close": 10.5, "volume": 5} for d in range(1, 4)]
    bars.append({**bars[0], "ts": "2024-01-05", "close": "NaN"})
    with httpx.Client(base_url=served["base"], timeout=60) as http:
        assert http.post("/ml/bars", json={"bars": bars}).status_code == 401
        assert http.post("/ml/bars", json={"bars": bars}, headers=alice).status_code == 403
        first = http.post("/ml/bars", json={"bars": bars}, headers=feeder)
        assert first.status_code == 200, first.text
        out = first.json()
        assert (out["inserted"], out["quarantined"]) == (3, 1) and out["rejected"][0]["index"] == 3
        assert "close: not finite" in out["rejected"][0]["reason"]
        again = http.post("/ml/bars", json={"bars": bars}, headers=feeder).json()
        assert (again["inserted"], again["merged"]) == (0, 3)
        for body in ([1, 2], {"bars": 3}, {"bars": []}):
            bad = http.post("/ml/bars", json=body, headers=feeder)
            assert bad.status_code == 422, (body, bad.text)
    assert len(read_bars(clean_db, "LIVE", "1d")) == 3


def test_the_integration_example_scores_sizes_and_reports_a_platform_strategy(served, clean_db, prefect_harness,
                                                                             monkeypatch):
    """examples/strategy_integration.py against `bentoml serve`: 200 signals of the platform's own `my_breakout`
    scored with trade plans from the risk endpoints, positions sized, outcomes reported, later answers'
    risk/reward and win-rate factors reflect those outcomes, and a retrain includes the reported outcomes."""
    import importlib.util

    import pandas as pd

    from abtpro.client import ABTProClient
    from store.bars import upsert_bars

    support.populate_store(clean_db)
    bars = support.garch_bars(n=2000, seed=11)
    upsert_bars(clean_db, support.long_frame(bars, "BRK"))
    spec = importlib.util.spec_from_file_location("strategy_integration", ROOT / "examples" / "strategy_integration.py")
    example = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = example  # its dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(example)
    with ABTProClient(served["base"], api_key=support.KEYS["alice"], timeout=60) as ml:
        result = example.run(ml, "BRK", bars, last=len(bars) - 260, take_all=True, max_signals=200, window=5)
        assert result.scored == 200 and result.taken == 200 and result.reported >= 190
        assert {r.feature_set for r in result.responses} == {"generic"}
        for r, t in zip(result.responses, result.trades):  # the plan's risk/reward, not the training constant
            expected = abs(t.target - t.entry) / abs(t.entry - t.stop)
            assert abs(r.risk_reward - expected) / expected < 0.05, (r.risk_reward, expected)
        assert ml.signal_stats(strategy=example.STRATEGY).model_dump()["count"] == 200
        # the win rate of later similar signals is computed from the reported outcomes
        wins = {1: [], -1: []}
        for t in result.trades:
            if t.exit_price is not None:
                wins[t.side].append(float(t.side * (t.exit_price - t.entry) > 0))
        last_ts = bars.index[-1]
        probe = ml.score_signal(symbol="BRK", strategy=example.STRATEGY, side="BUY", ts=last_ts)
        fresh = ml.score_signal(symbol="BRK", strategy="never_reported", side="BUY", ts=last_ts)
        assert probe.win_rate_n > 0 and fresh.win_rate_n == 0
        assert (probe.win_rate > fresh.win_rate) == (sum(wins[1]) / len(wins[1]) > 0.5)
        assert pd.Timestamp(probe.ts) == last_ts
    # a retrain of the scorer on BRK takes the platform's reported (filled) outcomes as training rows
    import mlflow

    import registry
    from flows.signal_quality import signal_quality_pipeline

    monkeypatch.setenv("ABTPRO_MLFLOW_TRACKING_URI", served["uri"])
    outcome = signal_quality_pipeline(symbols=["BRK"], n_splits=3, n_estimators=40, min_improvement=-1.0,
                                      min_auc=0.0, max_ece=1.0, min_kept=0.0, min_auc_lift=-1.0)
    version = mlflow.MlflowClient(served["uri"]).get_model_version(registry.SIGNAL_QUALITY_MODEL, outcome.version)
    params = mlflow.MlflowClient(served["uri"]).get_run(version.run_id).data.params
    filled = sum(1 for t in result.trades if t.exit_price is not None)
    assert filled >= 150 and int(params["n_platform_signals"]) == filled
