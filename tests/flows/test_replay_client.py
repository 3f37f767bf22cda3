"""The replay's service client: one batch call per step for the app's scores and forecasts, answers counted."""

from __future__ import annotations

import json

import httpx
import pandas as pd

from flows.steps.replay import ServiceClient
from ml.replay import AppSignal


def _client(seen: list[tuple[str, dict]], fail: set[str] = frozenset()) -> ServiceClient:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append((request.url.path, body))
        if request.url.path in fail:
            return httpx.Response(422, json={"detail": "bad"})
        model = {"name": "m", "version": "3"}
        if request.url.path == "/ml/volatility/predict_batch":
            return httpx.Response(200, json={"model": model, "count": len(body["requests"]),
                                             "predictions": [{"symbol": r["symbol"]} for r in body["requests"]]})
        return httpx.Response(200, json={"model": model, "count": len(body["signals"]),
                                         "scores": [{"score": 0.5} for _ in body["signals"]]})

    client = ServiceClient("http://service", "feed", "app")
    client.http = httpx.Client(base_url="http://service", transport=httpx.MockTransport(handler))
    return client


def test_a_step_is_one_forecast_call_and_one_score_call():
    seen: list[tuple[str, dict]] = []
    client = _client(seen)
    ts = pd.Timestamp("2018-02-05")
    signals = [AppSignal("SP500", "1d", "sma_crossover", "BUY", ts, 1.0),
               AppSignal("NASDAQ", "1d", "rsi_mean_reversion", "SELL", ts, 0.4)]
    client.score_batch(signals)
    client.forecast_batch([("SP500", "1d", ts), ("NASDAQ", "1d", ts), ("GOOG", "1d", ts)])
    assert client.score_batch([]) is None  # no signal fired: no call
    assert [path for path, _ in seen] == ["/ml/signal/score_batch", "/ml/volatility/predict_batch"]
    assert seen[0][1]["signals"][1] == {"symbol": "NASDAQ", "timeframe": "1d", "strategy": "rsi_mean_reversion",
                                        "side": "SELL", "ts": "2018-02-05T00:00:00", "strength": 0.4}
    assert [r["symbol"] for r in seen[1][1]["requests"]] == ["SP500", "NASDAQ", "GOOG"]
    counts = client.counts
    assert (counts.signals_scored, counts.forecasts) == (2, 3)
    assert counts.versions["m v3"] == 5 and not counts.errors


def test_a_refused_batch_counts_an_error_and_no_answers():
    seen: list[tuple[str, dict]] = []
    client = _client(seen, fail={"/ml/volatility/predict_batch"})
    client.forecast_batch([("SP500", "1d", pd.Timestamp("2018-02-05"))])
    assert len(seen) == 1  # a 4xx is not retried
    assert client.counts.forecasts == 0 and client.counts.errors == {"/ml/volatility/predict_batch 422": 1}
