"""The volatility and risk endpoints: forecasts one or many, the caller's history and accuracy; position size,
stops and regime from the champion forecast."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from abtpro.client.transport import MAX_FORECASTS, Transport, _chunks
from serving.schemas import (
    PositionSizeRequest,
    PositionSizeResult,
    RegimeRequest,
    RegimeResult,
    StopsRequest,
    StopsResult,
    VolatilityAccuracy,
    VolatilityBatchRequest,
    VolatilityBatchResponse,
    VolatilityHistory,
    VolatilityRequest,
    VolatilityResult,
)


class VolatilityMethods(Transport):
    """``/ml/volatility/*``."""

    def predict_volatility(self, symbol: str | None = None, request: VolatilityRequest | None = None,
                           **fields: Any) -> VolatilityResult:
        """Forecast realised volatility with its interval (``POST /ml/volatility/predict``)."""
        request = request or VolatilityRequest(symbol=symbol, **fields)
        return self._call("POST", "/ml/volatility/predict", VolatilityResult, request)

    def predict_volatilities(self, requests: Iterable[VolatilityRequest | dict[str, Any]]) -> list[VolatilityResult]:
        """Many forecasts (``POST /ml/volatility/predict_batch``, split into calls of at most 1,000)."""
        items = [r if isinstance(r, VolatilityRequest) else VolatilityRequest(**r) for r in requests]
        out: list[VolatilityResult] = []
        for chunk in _chunks(items, MAX_FORECASTS):
            out += self._call("POST", "/ml/volatility/predict_batch", VolatilityBatchResponse,
                              VolatilityBatchRequest(requests=chunk)).predictions
        return out

    def volatility_history(self, **filters: Any) -> VolatilityHistory:
        """The caller's volatility forecasts, newest first."""
        return self._call("GET", "/ml/volatility/history", VolatilityHistory, params=filters)

    def volatility_accuracy(self, **filters: Any) -> VolatilityAccuracy:
        """Live accuracy of the caller's forecasts whose horizon has passed."""
        return self._call("GET", "/ml/volatility/accuracy", VolatilityAccuracy, params=filters)


class RiskMethods(Transport):
    """``/ml/risk/*``."""

    def position_size(self, symbol: str | None = None, request: PositionSizeRequest | None = None,
                      **fields: Any) -> PositionSizeResult:
        """Units that run at ``target_volatility`` (annualised) from the champion forecast."""
        request = request or PositionSizeRequest(symbol=symbol, **fields)
        return self._call("POST", "/ml/risk/position_size", PositionSizeResult, request)

    def stops(self, symbol: str | None = None, side: str | None = None, request: StopsRequest | None = None,
              **fields: Any) -> StopsResult:
        """Volatility-scaled stop-loss and take-profit prices for an entry."""
        request = request or StopsRequest(symbol=symbol, side=side, **fields)
        return self._call("POST", "/ml/risk/stops", StopsResult, request)

    def regime(self, symbol: str | None = None, request: RegimeRequest | None = None, **fields: Any) -> RegimeResult:
        """The series' volatility regime (low / normal / high against its own forecast history)."""
        request = request or RegimeRequest(symbol=symbol, **fields)
        return self._call("POST", "/ml/risk/regime", RegimeResult, request)
