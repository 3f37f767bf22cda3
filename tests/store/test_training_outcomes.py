"""store.training_outcomes: which scored signals are training rows, and their pseudonymous users."""

from datetime import datetime

import pytest

from store.db import get_engine
from store.models import MLSignalOutcome, MLSignalScore, User
from store.training_outcomes import KEY_FILE, platform_training_rows, pseudonym, pseudonym_key


def _score(conn, user_id, symbol="GOOG", timeframe="1d", caller_supplied=False, side="BUY", outcome=(1.0, True)):
    sid = conn.execute(MLSignalScore.__table__.insert().values(
        user_id=user_id, symbol=symbol, timeframe=timeframe, strategy="my_breakout", side=side,
        signal_ts=datetime(2024, 1, 2), score=0.6, confidence=0.6, features={"rsi": 30.0, "side": 1.0},
        prediction="BUY", caller_supplied=caller_supplied)).inserted_primary_key[0]
    if outcome is not None:
        value, has_exit = outcome
        conn.execute(MLSignalOutcome.__table__.insert(), [{
            "score_id": sid, "outcome": value, "realised_return": 0.02, "barrier": "reported",
            "exit_ts": datetime(2024, 1, 5) if has_exit else None}])
    return sid


@pytest.fixture
def scored(clean_db):
    with get_engine(clean_db).begin() as conn:
        conn.execute(User.__table__.insert(), [{"id": 7001, "name": "bob-real-name", "api_key_hash": "a" * 64},
                                               {"id": 7002, "name": "carol-real-name", "api_key_hash": "b" * 64}])
        ids = {"goog": _score(conn, 7001), "msft_sell": _score(conn, 7002, symbol="MSFT", side="SELL"),
               "caller": _score(conn, 7001, caller_supplied=True), "hourly": _score(conn, 7001, timeframe="1h"),
               "unfilled": _score(conn, 7001, outcome=(None, False)), "open": _score(conn, 7001, outcome=None),
               "no_exit": _score(conn, 7001, outcome=(0.0, False))}
    return clean_db, ids


def test_only_resolved_series_signals_with_pseudonyms(scored, tmp_path):
    url, ids = scored
    key = pseudonym_key(tmp_path)
    every = platform_training_rows(url, key)
    assert every["score_id"].tolist() == [ids["goog"], ids["msft_sell"], ids["hourly"]]
    goog = platform_training_rows(url, key, ["GOOG"], "1d")
    assert goog["score_id"].tolist() == [ids["goog"]]
    row = goog.iloc[0]
    assert row["features"] == {"rsi": 30.0, "side": 1.0} and row["label"] == 1.0 and row["ret"] == 0.02
    assert row["side"] == 1 and str(row["exit_ts"]) == "2024-01-05 00:00:00" and row["barrier"] == "reported"
    assert platform_training_rows(url, key, ["MSFT"])["side"].tolist() == [-1]
    assert row["user"] == pseudonym(7001, key) and row["user"].startswith("u_") and len(row["user"]) == 18
    assert set(every["user"]) == {pseudonym(7001, key), pseudonym(7002, key)}
    text = every.drop(columns=["features"]).to_csv()
    assert "7001" not in text and "7002" not in text and "real-name" not in text
    assert "user_id" not in every.columns
    assert platform_training_rows(url, key, ["NOPE"]).empty


def test_the_key_is_made_once_per_install_and_owner_only(tmp_path):
    key = pseudonym_key(tmp_path / "data")
    path = tmp_path / "data" / KEY_FILE
    assert len(key) == 32 and (path.stat().st_mode & 0o777) == 0o600
    assert pseudonym_key(tmp_path / "data") == key  # reused, not replaced
    other = pseudonym_key(tmp_path / "elsewhere")
    assert other != key and pseudonym(1, key) != pseudonym(1, other) and pseudonym(1, key) != pseudonym(2, key)
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="too short"):
        pseudonym_key(tmp_path / "data")
