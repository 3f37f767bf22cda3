"""store.predictions: the API's prediction rows written and read back on the real database (SQLite or PG)."""

from datetime import datetime, timedelta

import pytest

from store import predictions
from store.users import create_user

T0 = datetime(2024, 1, 1)


def _users(url: str) -> tuple[int, int]:
    alice, _ = create_user(url, "alice")
    bob, _ = create_user(url, "bob")
    return alice.id, bob.id


def _vol(user_id: int, i: int, **extra) -> dict:
    return {"user_id": user_id, "symbol": "SYN", "timeframe": "1d", "predicted": 0.01 + i / 1000,
            "confidence": 0.9, "lower": 0.005, "upper": 0.02, "features": {"f": float(i)}, "horizon": 7200, "actual": None,
            "as_of": T0 + timedelta(days=i), "model_name": "vol", "model_version": "1",
            "created_at": T0 + timedelta(minutes=i), **extra}


def _sig(user_id: int, score: float, i: int, **extra) -> dict:
    return {"user_id": user_id, "symbol": "SYN", "timeframe": "1d", "strategy": "sma_crossover", "side": "BUY",
            "signal_ts": T0 + timedelta(days=i), "score": score, "confidence": abs(score - 0.5) * 2,
            "features": {"x": score}, "prediction": "BUY" if score >= 0.5 else "HOLD", "model_name": "sig",
            "model_version": "1", "created_at": T0 + timedelta(minutes=i), **extra}


def test_saves_return_ids_in_order_and_history_pages_newest_first(clean_db):
    alice, bob = _users(clean_db)
    one = predictions.save_volatility(clean_db, [_vol(alice, 0)])
    many = predictions.save_volatility(clean_db, [_vol(alice, i) for i in range(1, 6)] + [_vol(bob, 9)])
    assert len(one) == 1 and len(many) == 6 and many == sorted(many) and many[0] > one[0]
    assert predictions.save_volatility(clean_db, []) == []
    total, rows = predictions.volatility_history(clean_db, alice, limit=2, offset=1)
    assert total == 6 and [r.id for r in rows] == [many[3], many[2]]  # newest first, second page of 2
    assert rows[0].features == {"f": 4.0} and rows[0].as_of == T0 + timedelta(days=4)
    assert predictions.volatility_history(clean_db, alice, symbol="OTHER")[0] == 0
    since = predictions.volatility_history(clean_db, alice, start=T0 + timedelta(minutes=3))
    assert since[0] == 3 and {r.id for r in since[1]} == set(many[2:5])
    assert predictions.volatility_history(clean_db, bob, end=T0 + timedelta(minutes=8))[0] == 0


def test_created_at_defaults_to_now(clean_db):
    alice, _ = _users(clean_db)
    row = _vol(alice, 0)
    del row["created_at"]
    before = datetime.utcnow() - timedelta(seconds=5)  # noqa: DTZ003 - the store keeps naive UTC
    [vid] = predictions.save_volatility(clean_db, [row])
    [item] = predictions.volatility_history(clean_db, alice)[1]
    assert item.id == vid and item.created_at >= before


def test_signal_history_filters_by_strategy_and_user(clean_db):
    alice, bob = _users(clean_db)
    ids = predictions.save_signal_scores(clean_db, [_sig(alice, 0.7, 0), _sig(alice, 0.2, 1, strategy="other"),
                                                    _sig(bob, 0.9, 2)])
    total, rows = predictions.signal_history(clean_db, alice, strategy="sma_crossover")
    assert total == 1 and rows[0].id == ids[0] and rows[0].score == pytest.approx(0.7)
    assert predictions.signal_history(clean_db, alice)[0] == 2
    assert [r.id for r in predictions.signal_history(clean_db, bob)[1]] == [ids[2]]


def test_signal_stats_aggregate_in_sql(clean_db):
    alice, bob = _users(clean_db)
    predictions.save_signal_scores(clean_db, [_sig(alice, 0.05, 0), _sig(alice, 0.55, 1), _sig(alice, 0.95, 2),
                                              _sig(alice, 1.0, 3, strategy="other", model_version="2"),
                                              _sig(bob, 0.15, 4)])
    stats = predictions.signal_stats(clean_db, alice)
    assert stats["count"] == 4 and stats["mean_score"] == pytest.approx((0.05 + 0.55 + 0.95 + 1.0) / 4)
    assert stats["score_histogram"]["0.0-0.1"] == 1 and stats["score_histogram"]["0.5-0.6"] == 1
    assert stats["score_histogram"]["0.9-1.0"] == 2 and sum(stats["score_histogram"].values()) == 4
    assert stats["predictions"] == {"HOLD": 1, "BUY": 3}
    assert stats["by_strategy"]["sma_crossover"]["count"] == 3
    assert stats["by_strategy"]["sma_crossover"]["take_rate"] == pytest.approx(2 / 3)
    assert stats["model_versions"] == {"1": 3, "2": 1}
    assert predictions.signal_stats(clean_db, None)["count"] == 5
    assert predictions.signal_stats(clean_db, alice, strategy="other")["count"] == 1
    empty = predictions.signal_stats(clean_db, bob, symbol="NONE")
    assert empty["count"] == 0 and empty["mean_score"] is None and empty["by_strategy"] == {}


def test_volatility_rows_frame_newest_first_with_float_actuals(clean_db):
    alice, bob = _users(clean_db)
    ids = predictions.save_volatility(clean_db, [_vol(alice, 0, actual=0.012), _vol(alice, 1), _vol(alice, 2),
                                                 _vol(bob, 3)])
    frame = predictions.volatility_rows(clean_db, alice, limit=2)
    assert list(frame.columns) == predictions.VOLATILITY_COLUMNS
    assert frame["id"].tolist() == [ids[2], ids[1]] and frame["actual"].dtype == "float64"
    assert frame["actual"].isna().all()
    everyone = predictions.volatility_rows(clean_db, None)
    assert len(everyone) == 4 and everyone.set_index("id").loc[ids[0], "actual"] == pytest.approx(0.012)
    assert predictions.volatility_rows(clean_db, alice, timeframe="1h").empty


def test_counts(clean_db):
    alice, _ = _users(clean_db)
    assert predictions.counts(clean_db) == {"volatility": 0, "signal": 0}
    predictions.save_volatility(clean_db, [_vol(alice, i) for i in range(3)])
    predictions.save_signal_scores(clean_db, [_sig(alice, 0.5, 0)])
    assert predictions.counts(clean_db) == {"volatility": 3, "signal": 1}
