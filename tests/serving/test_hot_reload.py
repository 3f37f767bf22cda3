"""A new champion is served without restart: background alias poll and the admin reload endpoint."""

from __future__ import annotations

import threading
import time

import registry
from tests.serving import support
from tests.serving.conftest import headers, make_client


def _set_champion(uri: str, version: str) -> None:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    registry.set_alias(registry.VOLATILITY_MODEL, registry.CHAMPION, version)


def test_champion_moves_while_serving(registry_store, store):
    uri, versions = registry_store["uri"], registry_store["versions"]
    v1, v2 = versions["volatility_har_gk_log"], versions["volatility_xgb"]
    env = support.service_env(uri, ABTPRO_SERVING_POLL_SECONDS="0.2")
    seen: list[str] = []
    failures: list[int] = []
    stop = threading.Event()
    try:
        with make_client(env) as client:
            first = client.post("/ml/volatility/predict", json={"symbol": "SYN"}, headers=headers("alice")).json()
            assert first["model"]["version"] == v1

            def hammer() -> None:  # requests keep flowing during the swap
                while not stop.is_set():
                    r = client.post("/ml/volatility/predict", json={"symbol": "SYN"}, headers=headers("bob"))
                    if r.status_code != 200:
                        failures.append(r.status_code)
                    else:
                        seen.append(r.json()["model"]["version"])

            worker = threading.Thread(target=hammer)
            worker.start()
            _set_champion(uri, v2)  # the poller notices it
            deadline = time.monotonic() + 10
            body = first
            while time.monotonic() < deadline and body["model"]["version"] != v2:
                time.sleep(0.05)
                body = client.post("/ml/volatility/predict", json={"symbol": "SYN", "explain": True},
                                   headers=headers("alice")).json()
            stop.set()
            worker.join()
            assert body["model"]["version"] == v2
            # v2 is the XGBoost model: its SHAP contributions are returned
            assert body["explanation"]["method"] == "xgboost_pred_contribs" and body["explanation"]["contributions"]
            assert body["predicted"] != first["predicted"]
            assert not failures and set(seen) <= {v1, v2}
            # versions never go back once the new one answered (one atomic swap)
            assert seen == sorted(seen, key=lambda v: v == v2)

            listed = client.get("/ml/models/list", headers=headers("alice")).json()
            assert {m["name"]: m["serving"]["version"] for m in listed["models"]}["abtpro-volatility"] == v2
    finally:
        _set_champion(uri, v1)


def test_admin_reload_picks_up_the_alias_now(registry_store, store):
    uri, versions = registry_store["uri"], registry_store["versions"]
    v1, v2 = versions["volatility_har_gk_log"], versions["volatility_xgb"]
    try:
        with make_client(support.service_env(uri)) as client:  # no polling
            assert client.post("/ml/volatility/predict", json={"symbol": "SYN"},
                               headers=headers("alice")).json()["model"]["version"] == v1
            _set_champion(uri, v2)
            assert client.post("/ml/volatility/predict", json={"symbol": "SYN"},
                               headers=headers("alice")).json()["model"]["version"] == v1
            r = client.post("/ml/models/reload", json={}, headers=headers("admin"))
            assert r.status_code == 200 and r.json()["changed"] == ["abtpro-volatility"]
            assert r.json()["models"]["abtpro-volatility"]["version"] == v2
            assert client.post("/ml/volatility/predict", json={"symbol": "SYN"},
                               headers=headers("alice")).json()["model"]["version"] == v2
            again = client.post("/ml/models/reload", json={"models": ["volatility"]}, headers=headers("admin"))
            assert again.json()["changed"] == []
    finally:
        _set_champion(uri, v1)


def test_slot_keeps_serving_when_the_registry_fails():
    from serving.models import ChampionSlot

    calls = {"n": 0}

    def version_of(name, alias):
        calls["n"] += 1
        if calls["n"] > 1:
            raise ConnectionError("registry down")
        return "1"

    slot = ChampionSlot("m", "volatility", loader=lambda n, a: registry.LoadedModel(n, "1", None, object()),
                        version_of=version_of)
    assert slot.refresh() and slot.current.version == "1"
    assert not slot.refresh() and slot.current.version == "1" and "registry down" in slot.last_error


def test_a_reload_on_one_worker_reaches_the_others(registry_store, store):
    """Two service instances on one database stand for two ``bentoml serve`` workers: ``POST /ml/models/reload``
    reaches one; the other follows within its reload check (store.reloads), with no alias poll at all."""
    uri, versions = registry_store["uri"], registry_store["versions"]
    v1, v2 = versions["volatility_har_gk_log"], versions["volatility_xgb"]

    def version(client) -> str:
        return client.post("/ml/volatility/predict", json={"symbol": "SYN"},
                           headers=headers("alice")).json()["model"]["version"]

    env = support.service_env(uri, ABTPRO_SERVING_RELOAD_CHECK_SECONDS="0.1")  # no alias poll (0)
    try:
        with make_client(env) as first, make_client(env) as second:
            assert version(first) == version(second) == v1
            _set_champion(uri, v2)
            assert first.post("/ml/models/reload", json={}, headers=headers("admin")).json()["changed"] == \
                ["abtpro-volatility"]
            assert version(first) == v2
            deadline = time.monotonic() + 10
            while version(second) != v2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert version(second) == v2
        with make_client({**env, "ABTPRO_SERVING_RELOAD_CHECK_SECONDS": "0"}) as first, \
                make_client({**env, "ABTPRO_SERVING_RELOAD_CHECK_SECONDS": "0"}) as second:
            assert version(first) == version(second) == v2
            _set_champion(uri, v1)  # without the announcements the other worker keeps its version
            first.post("/ml/models/reload", json={}, headers=headers("admin"))
            time.sleep(0.5)
            assert (version(first), version(second)) == (v1, v2)
    finally:
        _set_champion(uri, v1)
