"""Before any model is promoted the service starts, and scoring answers 503 with the reason."""

from __future__ import annotations

from tests.serving import support
from tests.serving.conftest import headers, make_client


def test_no_champion_is_503(tmp_path, store):
    uri = f"sqlite:///{tmp_path / 'empty-mlflow.db'}"
    with make_client(support.service_env(uri)) as client:
        r = client.post("/ml/volatility/predict", json={"symbol": "SYN"}, headers=headers("alice"))
        assert r.status_code == 503 and "champion" in r.json()["error"] and "abtpro-volatility" in r.json()["error"]
        r = client.post("/ml/signal/score", json={"symbol": "SYN", "strategy": "s", "side": "BUY"},
                        headers=headers("alice"))
        assert r.status_code == 503 and "abtpro-signal-quality" in r.json()["error"]
        r = client.post("/ml/signal/score_batch", json={"signals": [{"symbol": "SYN", "strategy": "s", "side": "BUY"}]},
                        headers=headers("alice"))
        assert r.status_code == 503
        listed = client.get("/ml/models/list", headers=headers("alice")).json()
        assert all(m["serving"] is None and m["versions"] == [] for m in listed["models"])
        assert client.get("/readyz").status_code == 200
        assert client.get("/ml/signal/history", headers=headers("alice")).json()["total"] == 0
