"""The ``/ml`` API in route groups: each module holds one group's POST handlers (a mixin of
:class:`serving.service.MLService`) and its GET endpoints (a FastAPI router of the app mounted at ``/ml``)."""
