"""``POST /ml/signal/outcome``: the platform's report is stored (replacing a triple-barrier outcome), counts at once
in the win rate of similar signals of later scores (leak-free: only outcomes that exited before a signal),
is audited, and is refused with a 4xx naming the field when it does not add up."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from store.db import session_scope
from store.models import AuditLog, MLSignalOutcome
from store.monitoring import save_signal_outcomes
from tests.serving import support
from tests.serving.conftest import headers

ALICE, BOB, ADMIN = headers("alice"), headers("bob"), headers("admin")
BARS = support.garch_bars()


def _score(client, ts, side="BUY", who=ALICE, strategy="sma_crossover") -> dict:
    r = client.post("/ml/signal/score", json={"symbol": "SYN", "strategy": strategy, "side": side,
                                               "ts": str(ts)}, headers=who)
    assert r.status_code == 200, r.text
    return r.json()


def _outcome(url: str, score_id: int):
    with session_scope(url) as s:
        return s.execute(select(MLSignalOutcome).where(MLSignalOutcome.score_id == score_id)).scalar_one_or_none()


def test_a_report_is_stored_replacing_the_triple_barrier_outcome_and_audited(client, store):
    ts = BARS.index[-60]
    scored = _score(client, ts, side="SELL")
    save_signal_outcomes(store, [{"score_id": scored["id"], "outcome": 1.0, "realised_return": 0.02,
                                  "barrier": "pt", "exit_ts": BARS.index[-55].to_pydatetime()}])
    entry = float(BARS.loc[ts, "close"])
    r = client.post("/ml/signal/outcome", json={"signal_id": scored["id"], "filled": True,
                                                 "exit_ts": str(BARS.index[-50]), "exit_price": entry * 1.05},
                    headers=ALICE)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["replaced"] == "pt" and out["source"] == "reported"
    assert out["realised_return"] == pytest.approx(-0.05) and out["outcome"] == 0.0  # a short that rose lost
    row = _outcome(store, scored["id"])
    assert (row.barrier, row.outcome) == ("reported", 0.0) and row.exit_ts == BARS.index[-50].to_pydatetime()
    unfilled = client.post("/ml/signal/outcome", json={"signal_id": scored["id"], "filled": False},
                           headers=ALICE).json()
    assert unfilled["outcome"] is None and unfilled["replaced"] == "reported"
    with session_scope(store) as s:
        assert len(s.execute(select(AuditLog).where(AuditLog.action == "signal.outcome")).all()) == 2


def test_reported_outcomes_move_the_win_rate_of_later_similar_signals_only(client, store):
    early, late = BARS.index[-120], BARS.index[-20]
    before, before_sell, before_early = _score(client, late), _score(client, late, side="SELL"), _score(client, early)
    for k in range(12):  # twelve winning BUYs of the strategy, all closed before `late`, after `early`
        ts = BARS.index[-110 + 5 * k]
        sid = _score(client, ts)["id"]
        r = client.post("/ml/signal/outcome", json={"signal_id": sid, "filled": True, "realised_return": 0.03,
                                                     "exit_ts": str(ts + pd.Timedelta(days=3))}, headers=ALICE)
        assert r.status_code == 200, r.text
    after = _score(client, late)
    assert after["win_rate"] > before["win_rate"] and 12 <= after["win_rate_n"] <= 50
    assert _score(client, early)["win_rate"] == before_early["win_rate"]  # no look-ahead
    # similar = same strategy and side: a SELL moves only through the shrinkage towards the strategy's own rate
    sell = _score(client, late, side="SELL")["win_rate"]
    assert abs(sell - before_sell["win_rate"]) < 0.5 * (after["win_rate"] - before["win_rate"])


def test_only_the_owner_or_an_admin_reports(client, store):
    sid = _score(client, BARS.index[-30])["id"]
    body = {"signal_id": sid, "filled": True, "realised_return": 0.01, "exit_ts": str(BARS.index[-29])}
    assert client.post("/ml/signal/outcome", json=body, headers=BOB).status_code == 404
    assert client.post("/ml/signal/outcome", json={**body, "signal_id": 10**6}, headers=ALICE).status_code == 404
    assert client.post("/ml/signal/outcome", json=body, headers=ADMIN).status_code == 200
    assert client.post("/ml/signal/outcome", json=body).status_code == 401


@pytest.mark.parametrize(("change", "field"), [
    ({"exit_ts": None}, "exit_ts"),
    ({"realised_return": None}, "exit_price"),
    ({"exit_ts": "2000-01-01T00:00:00"}, "exit_ts"),  # before the signal
    ({"exit_ts": "2999-01-01T00:00:00"}, "exit_ts"),  # in the future
    ({"realised_return": "Infinity"}, "realised_return"),
    ({"exit_price": -3, "realised_return": None}, "exit_price"),
    ({"filled": 1}, "filled"),  # strict: not a boolean
])
def test_a_report_that_does_not_add_up_is_a_422_naming_the_field(client, store, change, field):
    sid = _score(client, BARS.index[-30])["id"]
    body = {"signal_id": sid, "filled": True, "realised_return": 0.01, "exit_ts": str(BARS.index[-29]), **change}
    r = client.post("/ml/signal/outcome", json={k: v for k, v in body.items() if v is not None}, headers=ALICE)
    assert r.status_code == 422, r.text
    assert field in r.text
    assert _outcome(store, sid) is None
