"""``abtpro.client``: the typed client against the service app (every endpoint group), its errors, and its
retries (against an HTTP transport that answers 503 first)."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

from abtpro.client import ABTProClient, ABTProError
from serving.schemas import SignalRequest, SignalResult
from tests.serving import support
from tests.serving.conftest import headers


def _client(client, user: str = "alice") -> ABTProClient:
    return ABTProClient(api_key=headers(user)["X-API-Key"], http=client, backoff=0.01)


def test_scores_forecasts_and_history_round_trip_as_the_service_models(client, store, registry_store):
    ml = _client(client)
    one = ml.score_signal(symbol="SYN", strategy="sma_crossover", side="BUY")
    assert 0.0 <= one.score <= 1.0 and one.model.version == registry_store["versions"]["signal"]
    ts = support.garch_bars().index[-40:-10]
    many = ml.score_signals([SignalRequest(symbol="SYN", strategy="rsi_mean_reversion", side="SELL", ts=t)
                             for t in ts] + [{"symbol": "SYN2", "strategy": "donchian_breakout", "side": "BUY"}])
    assert [s.ts for s in many[:-1]] == list(ts) and many[-1].symbol == "SYN2"
    forecast = ml.predict_volatility(symbol="SYN")
    assert forecast.lower <= forecast.predicted <= forecast.upper
    assert len(ml.predict_volatilities([{"symbol": "SYN"}, {"symbol": "SYN2"}])) == 2
    history = ml.signal_history(limit=5, symbol="SYN")
    assert history.total == 1 + len(ts) and len(history.items) == 5
    assert ml.signal_stats(symbol="SYN").model_dump()["count"] == 1 + len(ts)
    assert ml.volatility_history().total == 3
    assert {m.kind for m in ml.models().models} == {"volatility", "signal_quality"}


def test_batches_longer_than_the_service_limit_are_split(client, store):
    ml = _client(client)
    ts = support.garch_bars().index[-200:]  # 600 bars of history before the first
    signals = [{"symbol": "SYN", "strategy": k, "side": side, "ts": t} for t in ts
               for k in ("sma_crossover", "rsi_mean_reversion", "donchian_breakout") for side in ("BUY", "SELL")]
    scores = ml.score_signals(signals)
    assert len(scores) == 1200 and [(s.ts, s.strategy, s.side) for s in scores] == [
        (pd.Timestamp(x["ts"]).to_pydatetime(), x["strategy"], x["side"]) for x in signals]
    assert ml.signal_history(limit=1).total == 1200


def test_a_refused_request_raises_with_the_status_and_the_failing_field(client, store):
    ml = _client(client)
    with pytest.raises(ABTProError) as err:
        ml.score_signal(symbol="NOPE", strategy="sma_crossover", side="BUY")
    assert err.value.status == 404 and "NOPE" in str(err.value)
    with pytest.raises(ABTProError) as err:
        ml.train(model_type="VOLATILITY")  # alice is no admin
    assert err.value.status == 403
    with pytest.raises(ABTProError) as err:
        ABTProClient(api_key="wrong-key-0123456789", http=client).models()
    assert err.value.status == 401
    with pytest.raises(ABTProError) as err:  # a body the client's own models would refuse, sent as is
        ml._call("POST", "/ml/signal/score", SignalResult,
                 _Raw({"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY", "strength": -1}))
    assert err.value.status == 422 and err.value.fields == ["strength"]


class _Raw:
    """A request body as is."""

    def __init__(self, body: dict) -> None:
        self.body = body

    def model_dump(self, **_: object) -> dict:
        return self.body


def _flaky(failures: list[int | type[Exception]]) -> httpx.MockTransport:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) <= len(failures):
            failure = failures[len(calls) - 1]
            if isinstance(failure, int):
                return httpx.Response(failure, json={"error": "no champion yet"})
            raise failure("refused", request=request)
        assert request.headers["X-API-Key"] == "k"
        return httpx.Response(200, json={"models": []})

    transport = httpx.MockTransport(handler)
    transport.calls = calls
    return transport


def test_503_and_connection_errors_are_retried_with_backoff_then_given_up():
    transport = _flaky([503, httpx.ConnectError, 503])
    with ABTProClient("http://svc", api_key="k", backoff=0.001,
                      http=httpx.Client(base_url="http://svc", transport=transport)) as ml:
        assert ml.models().models == [] and len(transport.calls) == 4
    transport = _flaky([503] * 10)
    ml = ABTProClient(api_key="k", retries=2, backoff=0.001, http=httpx.Client(base_url="http://svc",
                                                                                transport=transport))
    with pytest.raises(ABTProError) as err:
        ml.models()
    assert err.value.status == 503 and len(transport.calls) == 3
    transport = _flaky([400])
    ml = ABTProClient(api_key="k", backoff=0.001, http=httpx.Client(base_url="http://svc", transport=transport))
    with pytest.raises(ABTProError):
        ml.models()
    assert len(transport.calls) == 1  # a client error is not retried


def test_risk_methods_answer_from_one_stored_forecast_each(client, store):
    ml = _client(client)
    size = ml.position_size(symbol="SYN", equity=50_000, target_volatility=0.12)
    assert size.units * size.price == pytest.approx(size.notional) and size.forecast.id is not None
    stops = ml.stops(symbol="SYN", side="BUY", price=size.price)
    assert stops.stop_loss < size.price < stops.take_profit
    assert ml.regime(symbol="SYN", lookback=60).regime in ("low", "normal", "high")
    assert ml.volatility_history().total == 3


def test_outcomes_and_the_audit_log_through_the_client(client, store):
    ml, admin = _client(client), _client(client, "admin")
    scored = ml.score_signal(symbol="SYN", strategy="my_breakout", side="BUY", ts=support.garch_bars().index[-30],
                             plan={"stop_multiple": 1.0, "take_multiple": 2.0})
    assert scored.feature_set == "generic" and scored.risk_reward == pytest.approx(2.0)
    reported = ml.report_outcome(scored.id, filled=True, exit_ts=support.garch_bars().index[-25],
                                 realised_return=0.02)
    assert reported.outcome == 1.0 and reported.source == "reported"
    with pytest.raises(ABTProError) as err:
        ml.audit()
    assert err.value.status == 403
    page = admin.audit(action="signal.*")
    assert page.total == 1 and page.items[0].actor == "alice" and page.items[0].target == str(scored.id)
