"""StrategyOptimization records: job lifecycle in the performance JSON, filters, apply/unapply, audit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from store import optimizations as opt
from store.db import get_engine
from store.models import AuditLog

SERIES = ("sma_crossover", "GOOG", "1d")


def _completed(url: str, recommended: bool, params: dict, series=SERIES) -> int:
    oid = opt.start(url, *series, "optuna", original_params={"fast": 10, "slow": 30}, request={"budget": 10})
    opt.complete(url, oid, optimized_params=params,
                 performance={"recommended": recommended, "oos_improvement": 0.1 if recommended else -0.1})
    return oid


def _audit_rows(url: str) -> list[AuditLog]:
    with get_engine(url).connect() as conn:
        return list(conn.execute(select(AuditLog).order_by(AuditLog.id)).all())


def test_lifecycle_pending_running_completed(clean_db):
    oid = opt.create(clean_db, *SERIES, "optuna", user_id=None, request={"budget": 10, "seed": np.int64(3)})
    row = opt.get(clean_db, oid)
    assert row.status == opt.PENDING and row.method == "OPTUNA" and row.performance["request"]["seed"] == 3
    assert opt.start(clean_db, *SERIES, "rl_bandit", optimization_id=oid, original_params={"fast": 10}) == oid
    row = opt.get(clean_db, oid)
    assert row.status == opt.RUNNING and row.method == "RL_BANDIT" and "started_at" in row.performance
    done = opt.complete(clean_db, oid, optimized_params={"fast": np.int64(15), "slow": 60},
                        performance={"recommended": np.bool_(True), "dsr": np.float64(0.7), "pbo": float("nan"),
                                     "test_start": pd.Timestamp("2010-01-04")})
    assert done.status == opt.COMPLETED and done.recommended and not done.applied
    again = opt.get(clean_db, oid)
    assert again.optimized_params == {"fast": 15, "slow": 60} and again.original_params == {"fast": 10}
    assert again.performance["pbo"] is None and again.performance["dsr"] == 0.7
    assert again.performance["test_start"].startswith("2010-01-04") and again.performance["request"]["budget"] == 10
    with pytest.raises(ValueError, match="already COMPLETED"):
        opt.start(clean_db, *SERIES, "optuna", optimization_id=oid)


def test_start_rejects_unknown_or_mismatched_rows(clean_db):
    with pytest.raises(KeyError):
        opt.start(clean_db, *SERIES, "optuna", optimization_id=999_999)
    oid = opt.create(clean_db, *SERIES, "optuna")
    with pytest.raises(ValueError, match="not rsi_mean_reversion"):
        opt.start(clean_db, "rsi_mean_reversion", "GOOG", "1d", "optuna", optimization_id=oid)
    assert opt.get(clean_db, 999_999) is None


def test_failed_job_keeps_error(clean_db):
    oid = opt.start(clean_db, *SERIES, "optuna")
    failed = opt.fail(clean_db, oid, "ValueError: no stored bars")
    assert failed.status == opt.FAILED and failed.error == "ValueError: no stored bars" and not failed.recommended
    with pytest.raises(opt.ApplyRefused, match="FAILED"):
        opt.apply(clean_db, oid, "alice", force=True)


def test_list_filters(clean_db):
    a = _completed(clean_db, True, {"fast": 15, "slow": 60})
    b = _completed(clean_db, False, {"fast": 20, "slow": 80}, series=("sma_crossover", "SP500", "1d"))
    c = opt.start(clean_db, "rsi_mean_reversion", "GOOG", "1d", "rl_bandit")
    opt.apply(clean_db, a, "alice")
    ids = lambda rows: [r.id for r in rows]
    assert ids(opt.list_optimizations(clean_db)) == [c, b, a]
    assert ids(opt.list_optimizations(clean_db, symbol="GOOG")) == [c, a]
    assert ids(opt.list_optimizations(clean_db, strategy="sma_crossover", timeframe="1d")) == [b, a]
    assert ids(opt.list_optimizations(clean_db, status=opt.RUNNING)) == [c]
    assert ids(opt.list_optimizations(clean_db, status=opt.COMPLETED)) == [b, a]
    assert ids(opt.list_optimizations(clean_db, method="RL_BANDIT")) == [c]
    assert ids(opt.list_optimizations(clean_db, applied=True)) == [a]
    assert ids(opt.list_optimizations(clean_db, applied=False)) == [c, b]
    assert ids(opt.list_optimizations(clean_db, limit=1, offset=1)) == [b]


def test_apply_refuses_not_recommended_unless_forced(clean_db):
    oid = _completed(clean_db, False, {"fast": 20, "slow": 80})
    with pytest.raises(opt.ApplyRefused, match="not recommended"):
        opt.apply(clean_db, oid, "alice")
    assert opt.active_params(clean_db, *SERIES) is None and _audit_rows(clean_db) == []
    forced = opt.apply(clean_db, oid, "alice", force=True)
    assert forced.applied and forced.performance["forced"] is True
    assert opt.active_params(clean_db, *SERIES) == {"fast": 20, "slow": 80}


def test_apply_keeps_one_active_per_series_and_audits(clean_db):
    first = _completed(clean_db, True, {"fast": 15, "slow": 60})
    second = _completed(clean_db, True, {"fast": 25, "slow": 90})
    other = _completed(clean_db, True, {"fast": 5, "slow": 40}, series=("sma_crossover", "GOOG", "1h"))
    opt.apply(clean_db, first, "alice")
    opt.apply(clean_db, other, "alice")
    assert opt.active_params(clean_db, *SERIES) == {"fast": 15, "slow": 60}
    applied = opt.apply(clean_db, second, "bob")
    assert applied.applied and applied.performance["applied_by"] == "bob"
    assert opt.active_params(clean_db, *SERIES) == {"fast": 25, "slow": 90}
    assert opt.active(clean_db, *SERIES).id == second
    old = opt.get(clean_db, first)
    assert not old.applied and old.performance["superseded_by"] == second
    assert opt.active_params(clean_db, "sma_crossover", "GOOG", "1h") == {"fast": 5, "slow": 40}
    assert opt.active_params(clean_db, "sma_crossover", "NASDAQ", "1d") is None
    audit = [r for r in _audit_rows(clean_db) if r.action == "apply"]
    assert [(r.actor, r.target) for r in audit] == [
        ("alice", f"strategy_optimization/{first}"), ("alice", f"strategy_optimization/{other}"),
        ("bob", f"strategy_optimization/{second}")]
    assert audit[-1].details["superseded"] == [first] and audit[-1].details["params"] == {"fast": 25, "slow": 90}


def test_unapply_reverts_to_defaults(clean_db):
    oid = _completed(clean_db, True, {"fast": 15, "slow": 60})
    assert opt.unapply(clean_db, *SERIES, actor="alice") is None
    opt.apply(clean_db, oid, "alice")
    assert opt.unapply(clean_db, *SERIES, actor="bob") == oid
    assert opt.active_params(clean_db, *SERIES) is None
    assert [r.action for r in _audit_rows(clean_db)] == ["apply", "unapply"]


def test_apply_unknown_id(clean_db):
    with pytest.raises(KeyError):
        opt.apply(clean_db, 424242, "alice")


def test_concurrent_applies_leave_exactly_one_active(clean_db):
    """Applies racing on one series serialise: one row ends up active, every apply is audited."""
    from concurrent.futures import ThreadPoolExecutor

    ids = [_completed(clean_db, True, {"fast": 5 + i, "slow": 60}) for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda oid: opt.apply(clean_db, oid, f"user{oid}"), ids))
    active = opt.list_optimizations(clean_db, applied=True)
    assert len(active) == 1 and opt.active_params(clean_db, *SERIES) == active[0].optimized_params
    assert len([r for r in _audit_rows(clean_db) if r.action == "apply"]) == 6
