"""A typed Python client of the ``/ml`` API, for apps such as the ABTPro trading platform.

::

    from abtpro.client import ABTProClient

    with ABTProClient("http://127.0.0.1:3000", api_key="...") as ml:
        result = ml.score_signal(symbol="SP500", strategy="sma_crossover", side="BUY")
        if result.prediction != "HOLD":
            forecast = ml.predict_volatility(symbol="SP500")

One method per endpoint; requests and answers are the service's own pydantic models
(:mod:`serving.schemas`, pure pydantic: importing them starts nothing), so a field the service renames fails
here too. The key goes in ``X-API-Key``. Connection errors, timeouts and ``503`` (no champion yet, database
briefly down) are retried with exponential backoff; any other error status raises :class:`ABTProError`
with the service's message and field. The batch helpers split long lists into calls within the service's
limits and join the answers.

Modules: :mod:`abtpro.client.transport` (the retried HTTP call, :class:`ABTProError`, the per-call limits),
:mod:`abtpro.client.signals` (the signal endpoints), :mod:`abtpro.client.forecasts` (volatility and risk),
:mod:`abtpro.client.platform` (bars, models, training, audit, tuning), :mod:`abtpro.client.api`
(:class:`ABTProClient`: the endpoint groups composed).
"""

from abtpro.client.api import ABTProClient
from abtpro.client.transport import (
    MAX_BARS,
    MAX_FORECASTS,
    MAX_SIGNALS,
    RETRY_STATUSES,
    ABTProError,
    M,
)

__all__ = [
    "MAX_BARS",
    "MAX_FORECASTS",
    "MAX_SIGNALS",
    "RETRY_STATUSES",
    "ABTProClient",
    "ABTProError",
    "M",
]
