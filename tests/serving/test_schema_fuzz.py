"""Schemathesis on the service's OpenAPI document **as served** (``GET /docs.json``, not rewritten): every
``/ml`` operation, with generated valid (positive) and invalid (negative) requests, with an admin key and
without a key, validated by every built-in check (``--checks all``: no server error, the status code, content
type, headers and body as documented, invalid data refused, valid data accepted where it can be, auth not
ignored, unsupported methods refused). Zero failures means 0 5xx and 0 schema violations."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.serving import support
from tests.serving.conftest import _forget_http_metrics

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 10  # per operation, mode and key: 25 operations x 2 modes x 2 keys, ~25 s on 2 cores
#: Operations with rules JSON Schema cannot state, so a schema-valid body may still be refused with 422 naming
#: the field (the check that valid data is accepted is off for them; every other check runs): the clock (no
#: origin/bar after the server clock), order (inline bars strictly increasing), cross-field rules (a bar's
#: low <= open, close <= high; one of stop_loss/stop_multiple; low_quantile < high_quantile; a filled outcome
#: needs exit_ts and an exit price or return).
CROSS_FIELD_RULES = {
    ("POST", "/ml/volatility/predict"), ("POST", "/ml/volatility/predict_batch"), ("POST", "/ml/signal/score"),
    ("POST", "/ml/signal/score_batch"), ("POST", "/ml/risk/position_size"), ("POST", "/ml/risk/stops"),
    ("POST", "/ml/risk/regime"), ("POST", "/ml/signal/outcome"),
}

#: Operations called with a signature no generator can forge (MLflow's webhook): every valid body is a 401.
SIGNED = {("POST", "/ml/models/webhook")}


SIGNAL = {"symbol": support.SYMBOL, "strategy": "sma_crossover", "side": "BUY"}
#: Valid requests on the stored series (generated symbols are unknown: 404), so the success answers are validated
#: against the document too (nullable fields, datetimes), before the generated ones run.
KNOWN = [
    ("POST", "/ml/signal/score", {**SIGNAL, "explain": True}),
    ("POST", "/ml/signal/score", {**SIGNAL, "strategy": "my_own", "side": "SELL", "plan": {"stop_multiple": 2}}),
    ("POST", "/ml/signal/score_batch", {"signals": [SIGNAL, {**SIGNAL, "side": "SELL"}]}),
    ("POST", "/ml/volatility/predict", {"symbol": support.SYMBOL, "explain": True}),
    ("POST", "/ml/volatility/predict_batch", {"requests": [{"symbol": support.SYMBOL}, {"symbol": support.OTHER}]}),
    ("POST", "/ml/risk/position_size", {"symbol": support.SYMBOL, "equity": 1e5, "target_volatility": 0.1}),
    ("POST", "/ml/risk/stops", {"symbol": support.SYMBOL, "side": "BUY"}),
    ("POST", "/ml/risk/regime", {"symbol": support.SYMBOL, "lookback": 20}),
    ("POST", "/ml/tune/start", {"strategy": "sma_crossover", "symbol": support.SYMBOL, "budget": 10}),
    ("POST", "/ml/models/reload", {}),
    ("GET", "/ml/signal/history", None),
    ("GET", "/ml/volatility/history", None),
    ("GET", "/ml/signal/stats", None),
    ("GET", "/ml/volatility/accuracy", None),
    ("GET", "/ml/audit", None),
    ("POST", "/ml/models/train", {"model_type": "VOLATILITY", "symbols": [support.SYMBOL]}),
]
#: Known reads of what a known request created: (method, path, the (method, path) whose answer's ``job_id`` it
#: reads). Generated ids rarely name a row (and on PostgreSQL ids keep counting across tests: emptied tables
#: do not restart their sequences), so these make sure the success answers of the id routes are validated.
FOLLOW_UPS = [
    ("GET", "/ml/tune/status/{job_id}", ("POST", "/ml/tune/start")),
    ("GET", "/ml/models/jobs/{job_id}", ("POST", "/ml/models/train")),
]


@pytest.fixture(scope="module")
def app(registry_store: dict, db_url: str):
    """A fresh service app; schemathesis runs its lifespan (startup once, in process) and its requests."""
    from schemathesis.python import asgi

    _forget_http_metrics()
    with support.EnvPatch(support.service_env(registry_store["uri"])):
        from serving.service import MLService

        app = MLService.to_asgi()
        try:
            yield app
        finally:
            asgi.shutdown_lifespans()  # the service's shutdown (pollers), as the TestClient would


def _served_schema(app, key: str | None):
    """The document as the service serves it (``GET /docs.json``), with ``key`` as the X-API-Key credential."""
    auth = {"auth": {"openapi": {"X-API-Key": {"api_key": support.KEYS[key]}}}} if key else {}
    return schemathesis.openapi.from_asgi("/docs.json", app, config=SchemathesisConfig.from_dict(auth))


def _fuzz(op, mode: GenerationMode, statuses: Counter, failures: list[str]) -> None:
    name = f"{op.method.upper()} {op.path} [{mode.value}]"
    excluded = [positive_data_acceptance] if (op.method.upper(), op.path) in CROSS_FIELD_RULES | SIGNED else []

    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode))
    def check(case):
        _validate(case, name, excluded, statuses, failures)

    check()


def _validate(case, name: str, excluded: list, statuses: Counter, failures: list[str],
              sent: dict[str, str] | None = None) -> Any:
    response = case.call(headers=sent)
    try:
        case.validate_response(response, excluded_checks=excluded, headers=sent)
    except FailureGroup as group:
        failures.extend(f"{name} {type(f).__name__}: {f.title}: {f.message[:300]} -> {response.status_code} "
                        f"{response.text[:300]}" for f in group.exceptions)
    else:
        statuses[(name, response.status_code)] += 1
    return response


def _run(schema, key: str | None) -> tuple[Counter, list[str]]:
    """The known requests, then every /ml operation fuzzed in both modes; (answers per operation and status,
    failures)."""
    statuses: Counter = Counter()
    failures: list[str] = []
    sent = {"X-API-Key": support.KEYS[key]} if key else None  # a hand-made case has no generated auth
    job_ids: dict[tuple[str, str], int] = {}
    for method, path, body in KNOWN:
        op = schema[path][method]
        case = op.Case(body=body) if body is not None else op.Case()
        response = _validate(case, f"{method} {path} [known]", [], statuses, failures, sent)
        if response.status_code == 202:
            job_ids[(method, path)] = response.json()["job_id"]
    for method, path, source in FOLLOW_UPS:
        if source in job_ids:
            case = schema[path][method].Case(path_parameters={"job_id": job_ids[source]})
            _validate(case, f"{method} {path} [known]", [], statuses, failures, sent)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/ml/")]
    assert len(operations) >= 23
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(op, mode, statuses, failures)
    return statuses, failures


def test_admin_key_no_server_errors_no_schema_violations(app, store):
    statuses, failures = _run(_served_schema(app, "admin"), "admin")
    assert not failures, "\n".join(sorted(set(failures)))
    assert not [k for k in statuses if k[1] >= 500], statuses
    codes = {code for _, code in statuses}
    assert {200, 202, 422} <= codes, codes  # valid requests were served (jobs queued), invalid ones refused
    served = {name.split(" [")[0] for name, code in statuses if code < 300}
    assert len(served) >= 20, "; ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    known = {(name, code) for name, code in statuses if name.endswith("[known]")}
    expected = {(m, p) for m, p, _ in KNOWN} | {(m, p) for m, p, _ in FOLLOW_UPS}
    assert {code for _, code in known} <= {200, 202} and len(known) == len(expected), known


def test_without_a_key_everything_is_401_as_documented(app, store):
    statuses, failures = _run(_served_schema(app, None), None)
    assert not failures, "\n".join(sorted(set(failures)))
    assert statuses and {code for _, code in statuses} == {401}, statuses
