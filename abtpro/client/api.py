"""The client: :class:`ABTProClient`, one method per endpoint (the endpoint groups composed)."""

from __future__ import annotations

from abtpro.client.forecasts import RiskMethods, VolatilityMethods
from abtpro.client.platform import BarsMethods, ModelMethods, TuningMethods
from abtpro.client.signals import SignalMethods


class ABTProClient(SignalMethods, VolatilityMethods, RiskMethods, BarsMethods, ModelMethods, TuningMethods):
    """The ``/ml`` API over HTTP.

    Args:
        base_url: the service, e.g. ``http://127.0.0.1:3000``.
        api_key: the caller's key (``abtpro users create``).
        timeout: seconds per attempt.
        retries: further attempts after a connection error, a timeout or a 502/503/504.
        backoff: first wait between attempts in seconds, doubled each time.
        http: an ``httpx.Client`` to use instead of a new one (its base URL is used; the key is still sent).
    """
