"""``/ml/volatility/*``: forecasts (single and batch), the caller's forecast history and its live accuracy."""

from __future__ import annotations

import math
from typing import Any

import bentoml
from fastapi import APIRouter, Depends, Query, Request

from serving import persistence
from serving.auth import current_user
from serving.http import MAX_INT32, PREDICTIONS, caller, explanation, guarded, too_many
from serving.inference import (
    contract_inline,
    group_indices,
    load_bars,
    origin_positions,
    predict_volatility,
    window_from_request,
)
from serving.schemas import (
    AccuracyBlock,
    ModelRef,
    QueryDatetime,
    VolatilityAccuracy,
    VolatilityBatchRequest,
    VolatilityBatchResponse,
    VolatilityHistory,
    VolatilityHistoryItem,
    VolatilityRequest,
    VolatilityResult,
    timeframe_minutes,
)
from store import predictions
from store.users import ApiUser

router = APIRouter()


def bars_per_year(timeframe: str) -> float:
    """Bars in a year: 252 trading days for daily and longer bars, 24h sessions for intraday bars."""
    minutes = timeframe_minutes(timeframe)
    return 252.0 * 1440.0 / minutes if minutes < 1440 else 252.0 / (minutes / 1440.0)


class VolatilityRoutes:
    """POST ``/ml/volatility/predict`` and ``/ml/volatility/predict_batch``."""

    def _volatility_answers(self, items: list[VolatilityRequest],
                            batch_field: str | None = None) -> tuple[Any, list[Any]]:
        """The champion used and each item's :class:`~ml.inference.Forecast` (memoised; nothing stored)."""
        model = self.volatility.require()  # one snapshot for the whole request
        contract_inline([("bars" if batch_field is None else f"{batch_field}.{i}.bars", r.timeframe, r.bars)
                         for i, r in enumerate(items) if r.bars])
        n = self.serving.volatility_bars
        outs: list[Any] = [None] * len(items)
        keys = [(r.symbol, r.timeframe, r.coverage, r.explain, i if r.bars else None) for i, r in enumerate(items)]
        for (symbol, timeframe, coverage, explain, inline), idx in group_indices(keys).items():
            origins = [items[i].as_of for i in idx]
            if inline is not None:
                bars = window_from_request(items[inline].bars or [])
            else:
                bars = load_bars(self.db_url, symbol, timeframe, origins, n, cache=self.windows)
            names = ["as_of" if batch_field is None else f"{batch_field}.{i}.as_of" for i in idx]
            positions = origin_positions(bars, origins, names, inline=inline is not None)
            for i, out in zip(idx, predict_volatility(model, symbol, bars, positions, coverage, explain, self.cache)):
                outs[i] = out
        return model, outs

    def _volatility_results(self, items: list[VolatilityRequest], user: ApiUser, endpoint: str,
                            batch_field: str | None = None) -> tuple[ModelRef, list[VolatilityResult]]:
        model, outs = self._volatility_answers(items, batch_field)
        rows = []
        for r, out in zip(items, outs):
            minutes = out.horizon_bars * timeframe_minutes(r.timeframe)
            rows.append({"user_id": user.id, "symbol": r.symbol, "timeframe": r.timeframe,
                         "predicted": out.predicted, "confidence": r.coverage, "lower": out.lower,
                         "upper": out.upper, "features": out.features, "horizon": minutes, "as_of": out.as_of,
                         "model_name": model.name, "model_version": model.version,
                         "caller_supplied": bool(r.bars)})  # inline bars: kept, outside accuracy and drift
        ids = predictions.save_volatility(self.db_url, rows)
        PREDICTIONS.labels(model=model.name, version=model.version, endpoint=endpoint).inc(len(ids))
        ref = ModelRef(name=model.name, version=model.version)
        results = [
            VolatilityResult(id=i, symbol=r.symbol, timeframe=r.timeframe, as_of=out.as_of,
                             horizon_bars=out.horizon_bars, horizon_minutes=row["horizon"], predicted=out.predicted,
                             lower=out.lower, upper=out.upper, confidence=r.coverage,
                             annualised=out.predicted * math.sqrt(bars_per_year(r.timeframe)), model=ref,
                             explanation=explanation(out.explanation) if r.explain else None)
            for i, r, out, row in zip(ids, items, outs, rows)
        ]
        return ref, results

    @bentoml.api(route="/ml/volatility/predict")
    def volatility_predict(self, request: VolatilityRequest, /, ctx: bentoml.Context) -> VolatilityResult:
        """Forecast the realised volatility of the next ``horizon`` bars (with a conformal interval)."""
        return guarded(lambda: self._volatility_results([request], caller(ctx), "volatility_predict")[1][0], ctx)

    @bentoml.api(route="/ml/volatility/predict_batch")
    def volatility_predict_batch(self, request: VolatilityBatchRequest, /,
                                 ctx: bentoml.Context) -> VolatilityBatchResponse:
        """Up to 1,000 forecasts with one model version; each is stored."""
        if (refused := too_many(request.requests, self.serving.max_batch, "requests", ctx)) is not None:
            return refused

        def run() -> VolatilityBatchResponse:
            ref, results = self._volatility_results(request.requests, caller(ctx), "volatility_predict_batch",
                                                    "requests")
            return VolatilityBatchResponse(model=ref, count=len(results), predictions=results)

        return guarded(run, ctx)


@router.get("/volatility/history", response_model=VolatilityHistory)
def volatility_history(request: Request, limit: int = Query(100, ge=1, le=1000),
                       offset: int = Query(0, ge=0, le=MAX_INT32), symbol: str | None = None,
                       timeframe: str | None = None, start: QueryDatetime | None = None, end: QueryDatetime | None = None,
                       include_features: bool = True, svc: Any = Depends(bentoml.get_current_service)) -> Any:
    """The caller's volatility forecasts, newest first (``include_features=false`` for lean pages)."""
    user = current_user(request.scope)
    total, rows = predictions.volatility_history(svc.db_url, user.id, symbol=symbol, timeframe=timeframe,
                                                 start=start, end=end, limit=limit, offset=offset)
    items = [VolatilityHistoryItem(id=r.id, symbol=r.symbol, timeframe=r.timeframe, as_of=r.as_of,
                                   horizon=r.horizon, predicted=r.predicted, actual=r.actual, lower=r.lower,
                                   upper=r.upper, confidence=r.confidence,
                                   features=r.features if include_features else None,
                                   model=ModelRef(name=r.model_name or "", version=r.model_version or ""),
                                   created_at=r.created_at,
                                   caller_supplied=bool(r.caller_supplied)) for r in rows]
    return VolatilityHistory(total=total, limit=limit, offset=offset, items=items)


@router.get("/volatility/accuracy", response_model=VolatilityAccuracy)
def volatility_accuracy(request: Request, symbol: str | None = None, timeframe: str | None = None,
                        start: QueryDatetime | None = None, end: QueryDatetime | None = None,
                        limit: int = Query(10_000, ge=1, le=100_000),
                        svc: Any = Depends(bentoml.get_current_service)) -> Any:
    """Accuracy of the caller's forecasts whose horizon has passed (actual from the stored bars)."""
    user = current_user(request.scope)
    return accuracy(svc.db_url, user.id, symbol=symbol, timeframe=timeframe, start=start, end=end, limit=limit)


def accuracy(url: str, user_id: int | None, **filters: Any) -> VolatilityAccuracy:
    """Live accuracy of stored forecasts (``user_id`` None: everyone's), overall, per symbol and per version."""
    frame = predictions.volatility_rows(url, user_id, **filters)
    if frame.empty:
        return VolatilityAccuracy(n_predictions=0, n_resolved=0, overall=AccuracyBlock(n=0), by_symbol={},
                                  by_model_version={})
    frame = persistence.resolve_actuals(url, frame)
    overall = accuracy_block(frame)
    by_symbol = {str(s): accuracy_block(g) for s, g in frame.groupby("symbol")}
    by_version = {f"{n}/{v}": accuracy_block(g) for (n, v), g in frame.groupby(["model_name", "model_version"])}
    return VolatilityAccuracy(n_predictions=len(frame), n_resolved=overall.n, overall=overall,
                              by_symbol=by_symbol, by_model_version=by_version)


#: API name of each metric of :func:`ml.monitoring.volatility_live_metrics`.
_ACCURACY_NAMES = {"mae": "mae", "rmse": "rmse", "qlike": "qlike", "dir_acc": "directional_accuracy",
                   "coverage": "interval_coverage"}


def accuracy_block(frame: Any) -> AccuracyBlock:
    """The accuracy of stored forecasts as computed by monitoring (one function), under the API's names."""
    from ml.monitoring import resolved, volatility_live_metrics

    live = volatility_live_metrics(frame)
    block: dict[str, Any] = {api: live[k] for k, api in _ACCURACY_NAMES.items() if k in live}
    if live["n"]:
        block["mean_confidence"] = float(frame["confidence"][resolved(frame["actual"], frame["predicted"])].mean())
    block = {k: (v if math.isfinite(v) else None) for k, v in block.items()}
    return AccuracyBlock(n=int(live["n"]), **block)
