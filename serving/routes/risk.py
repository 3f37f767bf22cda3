"""``/ml/risk/*``: position sizing, volatility-scaled stops and the volatility regime, from the champion forecast.

Each answer carries the stored forecast it used (persisted like any ``/ml/volatility/predict`` answer, so it is
in the caller's history and in live accuracy), and each decision is written to the audit log. The arithmetic is
:mod:`ml.risk`'s, the same the sizing backtest uses.
"""

from __future__ import annotations

import math

import bentoml

from ml import risk
from serving.http import caller, guarded
from serving.inference import BadInputError, load_bars, origin_positions, predict_volatility
from serving.routes.volatility import bars_per_year
from serving.schemas import (
    PositionSizeRequest,
    PositionSizeResult,
    RegimeRequest,
    RegimeResult,
    StopsRequest,
    StopsResult,
    VolatilityRequest,
    VolatilityResult,
)
from store import records
from store.users import ApiUser


class RiskRoutes:
    """POST ``/ml/risk/position_size``, ``/ml/risk/stops`` and ``/ml/risk/regime``."""

    def _forecast(self, symbol: str, timeframe: str, as_of, coverage: float, user: ApiUser,
                  endpoint: str) -> tuple[VolatilityResult, float]:
        """The champion's stored forecast at ``as_of`` and the close of its bar."""
        request = VolatilityRequest(symbol=symbol, timeframe=timeframe, as_of=as_of, coverage=coverage)
        forecast = self._volatility_results([request], user, endpoint)[1][0]
        window = load_bars(self.db_url, symbol, timeframe, [forecast.as_of], 1, cache=self.windows)
        close = float(window.frame["close"].iloc[origin_positions(window, [forecast.as_of], "as_of")[0]])
        return forecast, close

    @bentoml.api(route="/ml/risk/position_size")
    def risk_position_size(self, request: PositionSizeRequest, /, ctx: bentoml.Context) -> PositionSizeResult:
        """Units and notional that run at ``target_volatility`` (annualised) given the champion forecast."""
        user = caller(ctx)

        def run() -> PositionSizeResult:
            forecast, close = self._forecast(request.symbol, request.timeframe, request.as_of, request.coverage,
                                             user, "risk_position_size")
            price = request.price or close
            plan = risk.size_position(request.equity, price, forecast.annualised, request.target_volatility,
                                      request.max_leverage)
            upper = forecast.upper * math.sqrt(bars_per_year(request.timeframe))
            at_upper = float(risk.position_size(1.0, upper, request.target_volatility, request.max_leverage))
            result = PositionSizeResult(symbol=request.symbol, timeframe=request.timeframe, price=price,
                                        units=plan.units, notional=plan.notional, leverage=plan.leverage,
                                        capped=plan.capped, leverage_at_upper=at_upper,
                                        target_volatility=request.target_volatility, forecast=forecast)
            records.audit(self.db_url, user.name, "risk.position_size", f"{request.symbol}/{request.timeframe}",
                          {"forecast_id": forecast.id, "units": plan.units, "leverage": plan.leverage,
                           "target_volatility": request.target_volatility, "model_version": forecast.model.version})
            return result

        return guarded(run, ctx)

    @bentoml.api(route="/ml/risk/stops")
    def risk_stops(self, request: StopsRequest, /, ctx: bentoml.Context) -> StopsResult:
        """Stop-loss / take-profit prices ``stop_multiple`` / ``take_multiple`` forecast moves from the entry."""
        user = caller(ctx)

        def run() -> StopsResult:
            forecast, close = self._forecast(request.symbol, request.timeframe, request.as_of, 0.9, user,
                                             "risk_stops")
            price, horizon = request.price or close, request.horizon_bars or forecast.horizon_bars
            side = 1 if request.side == "BUY" else -1
            levels = risk.volatility_stops(price, side, forecast.predicted, horizon, request.stop_multiple,
                                           request.take_multiple)
            records.audit(self.db_url, user.name, "risk.stops", f"{request.symbol}/{request.timeframe}",
                          {"forecast_id": forecast.id, "side": request.side, "stop_loss": levels.stop_loss,
                           "take_profit": levels.take_profit, "model_version": forecast.model.version})
            return StopsResult(symbol=request.symbol, timeframe=request.timeframe, side=request.side, price=price,
                               horizon_bars=horizon, stop_loss=levels.stop_loss, take_profit=levels.take_profit,
                               move=levels.move, risk_reward=levels.risk_reward, forecast=forecast)

        return guarded(run, ctx)

    @bentoml.api(route="/ml/risk/regime")
    def risk_regime(self, request: RegimeRequest, /, ctx: bentoml.Context) -> RegimeResult:
        """``low`` / ``normal`` / ``high``: the latest forecast against the champion's forecasts of the last
        ``lookback`` bars of the same series (quantile thresholds returned)."""
        user = caller(ctx)

        def run() -> RegimeResult:
            forecast, _ = self._forecast(request.symbol, request.timeframe, None, 0.9, user, "risk_regime")
            model = self.volatility.require()
            window = load_bars(self.db_url, request.symbol, request.timeframe, [forecast.as_of],
                               self.serving.volatility_bars + request.lookback, cache=self.windows)
            last = origin_positions(window, [forecast.as_of], "as_of")[0]
            positions = list(range(max(0, last - request.lookback), last))
            past = predict_volatility(model, request.symbol, window, positions, 0.9, False, self.cache)
            try:
                regime = risk.volatility_regime(forecast.predicted, [p.predicted for p in past],
                                                request.low_quantile, request.high_quantile)
            except ValueError as exc:  # too short a stored history
                raise BadInputError("lookback", str(exc)) from None
            records.audit(self.db_url, user.name, "risk.regime", f"{request.symbol}/{request.timeframe}",
                          {"forecast_id": forecast.id, "regime": regime.regime,
                           "model_version": forecast.model.version})
            return RegimeResult(symbol=request.symbol, timeframe=request.timeframe, regime=regime.regime,
                                current=regime.current, low_threshold=regime.low_threshold,
                                high_threshold=regime.high_threshold, percentile=regime.percentile,
                                n_history=regime.n_history, forecast=forecast)

        return guarded(run, ctx)
