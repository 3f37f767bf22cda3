"""``/ml/signal/*``: signal scores (single and batch), the caller's scored signals and their aggregates."""

from __future__ import annotations

from typing import Any

import bentoml
from fastapi import APIRouter, Depends, Query, Request

from ml.signal_quality.features import CALLER_PREFIX
from serving.auth import current_user
from serving.http import MAX_INT32, PREDICTIONS, caller, explanation, guarded, too_many
from serving.inference import (
    context_windows,
    contract_inline,
    group_indices,
    load_bars,
    origin_positions,
    score_signals,
    signal_history_bars,
    window_from_request,
)
from serving.schemas import (
    ErrorResponse,
    ModelRef,
    QueryDatetime,
    SignalBatchRequest,
    SignalBatchResponse,
    SignalHistory,
    SignalHistoryItem,
    SignalRequest,
    SignalResult,
    SignalStats,
)
from store import predictions
from store.users import ApiUser

router = APIRouter()


def caller_features(request: SignalRequest) -> dict[str, float]:
    """The strategy-supplied numbers of a request as ``caller_*`` feature columns (:mod:`ml.signal_quality`)."""
    given = {f"{CALLER_PREFIX}{name}": value for name, value in (request.features or {}).items()}
    if request.confidence is not None:
        given[f"{CALLER_PREFIX}confidence"] = request.confidence
    return given


def stored_plan(request: SignalRequest, out: Any) -> dict[str, float] | None:
    """What the outcome backfill resolves the signal with: the plan's barriers and horizon (None: training's)."""
    if request.plan is None:
        return None
    plan = dict(out.barriers or {})
    if request.plan.horizon_bars is not None:
        plan["max_holding"] = request.plan.horizon_bars
    return plan or None


class SignalRoutes:
    """POST ``/ml/signal/score`` and ``/ml/signal/score_batch``."""

    def _signal_answers(self, items: list[SignalRequest], batch_field: str | None = None) -> tuple[Any, list[Any]]:
        """The champion used and each item's :class:`~ml.inference.SignalScore` (memoised; nothing stored)."""
        model = self.signal.require()
        contract_inline([("bars" if batch_field is None else f"{batch_field}.{i}.bars", r.timeframe, r.bars)
                         for i, r in enumerate(items) if r.bars])
        outs: list[Any] = [None] * len(items)
        keys = [(r.symbol, r.timeframe, r.strategy, r.explain, i if r.bars else None) for i, r in enumerate(items)]
        for (symbol, timeframe, strategy, explain, inline), idx in group_indices(keys).items():
            origins = [items[i].ts for i in idx]
            live = None
            if inline is not None:
                bars = window_from_request(items[inline].bars or [])
            else:
                n = signal_history_bars(model, self.serving.signal_bars)
                bars = load_bars(self.db_url, symbol, timeframe, origins, n, cache=self.windows)
                live = self.outcome_history.get(symbol, timeframe)
            names = ["ts" if batch_field is None else f"{batch_field}.{i}.ts" for i in idx]
            positions = origin_positions(bars, origins, names, inline=inline is not None)
            others = context_windows(self.db_url, model.model, symbol, timeframe, [bars.ts[p] for p in positions],
                                     signal_history_bars(model, self.serving.signal_bars), self.windows)
            sides = [1 if items[i].side == "BUY" else -1 for i in idx]
            strengths = [items[i].strength for i in idx]
            plans = [items[i].plan.model_dump(exclude={"horizon_bars"}) if items[i].plan else {} for i in idx]
            given = [caller_features(items[i]) for i in idx]
            for i, out in zip(idx, score_signals(model, symbol, strategy, bars, positions, sides, strengths,
                                                 explain, self.cache, live, plans, given, self.contexts,
                                                 others)):
                outs[i] = out
        return model, outs

    def _signal_results(self, items: list[SignalRequest], user: ApiUser, endpoint: str,
                        batch_field: str | None = None) -> tuple[ModelRef, list[SignalResult]]:
        model, outs = self._signal_answers(items, batch_field)
        rows = [{"user_id": user.id, "symbol": r.symbol, "timeframe": r.timeframe, "strategy": r.strategy,
                 "side": r.side, "signal_ts": out.ts, "score": out.score, "confidence": out.confidence,
                 "features": out.features, "prediction": out.prediction, "model_name": model.name,
                 "model_version": model.version, "plan": stored_plan(r, out), "caller_supplied": bool(r.bars)}
                for r, out in zip(items, outs)]
        ids = predictions.save_signal_scores(self.db_url, rows)
        PREDICTIONS.labels(model=model.name, version=model.version, endpoint=endpoint).inc(len(ids))
        ref = ModelRef(name=model.name, version=model.version)
        results = [
            SignalResult(id=i, symbol=r.symbol, timeframe=r.timeframe, strategy=r.strategy, side=r.side, ts=out.ts,
                         score=out.score, confidence=out.confidence, prediction=out.prediction,
                         threshold=out.threshold, model=ref, win_rate=out.features.get("hist_win_rate"),
                         win_rate_n=out.features.get("hist_n"), risk_reward=out.features.get("risk_reward"),
                         feature_set=out.feature_set,
                         caller_features_used=[c.removeprefix(CALLER_PREFIX) for c in out.caller_used],
                         explanation=explanation(out.explanation) if r.explain else None)
            for i, r, out in zip(ids, items, outs)
        ]
        return ref, results

    @bentoml.api(route="/ml/signal/score")
    def signal_score(self, request: SignalRequest, /, ctx: bentoml.Context) -> SignalResult:
        """Score a trading signal: calibrated P(success), confidence and BUY/SELL/HOLD."""
        return guarded(lambda: self._signal_results([request], caller(ctx), "signal_score")[1][0], ctx)

    @bentoml.api(route="/ml/signal/score_batch")
    def signal_score_batch(self, request: SignalBatchRequest, /, ctx: bentoml.Context) -> SignalBatchResponse:
        """Score up to 1,000 signals with one model version; each is stored."""
        if (refused := too_many(request.signals, self.serving.max_batch, "signals", ctx)) is not None:
            return refused

        def run() -> SignalBatchResponse:
            ref, results = self._signal_results(request.signals, caller(ctx), "signal_score_batch", "signals")
            return SignalBatchResponse(model=ref, count=len(results), scores=results)

        return guarded(run, ctx)


@router.get("/signal/history", response_model=SignalHistory, responses={401: {"model": ErrorResponse}})
def signal_history(request: Request, limit: int = Query(100, ge=1, le=1000),
                   offset: int = Query(0, ge=0, le=MAX_INT32), symbol: str | None = None,
                   strategy: str | None = None, timeframe: str | None = None, start: QueryDatetime | None = None,
                   end: QueryDatetime | None = None, include_features: bool = True,
                   svc: Any = Depends(bentoml.get_current_service)) -> Any:
    """The caller's scored signals, newest first (filters: symbol, strategy, timeframe, created_at range)."""
    user = current_user(request.scope)
    total, rows = predictions.signal_history(svc.db_url, user.id, symbol=symbol, strategy=strategy,
                                             timeframe=timeframe, start=start, end=end, limit=limit, offset=offset)
    items = [SignalHistoryItem(id=r.id, symbol=r.symbol, timeframe=r.timeframe, strategy=r.strategy, side=r.side,
                               ts=r.signal_ts, score=r.score, confidence=r.confidence, prediction=r.prediction,
                               features=r.features if include_features else None,
                               model=ModelRef(name=r.model_name or "", version=r.model_version or ""),
                               created_at=r.created_at,
                               caller_supplied=bool(r.caller_supplied)) for r in rows]
    return SignalHistory(total=total, limit=limit, offset=offset, items=items)


@router.get("/signal/stats", response_model=SignalStats)
def signal_stats(request: Request, symbol: str | None = None, strategy: str | None = None,
                 timeframe: str | None = None, start: QueryDatetime | None = None, end: QueryDatetime | None = None,
                 svc: Any = Depends(bentoml.get_current_service)) -> Any:
    """Aggregates of the caller's scored signals."""
    user = current_user(request.scope)
    return SignalStats(**predictions.signal_stats(svc.db_url, user.id, symbol=symbol, strategy=strategy,
                                                  timeframe=timeframe, start=start, end=end))
