"""BentoML serving of the ``/ml`` API (issue 5).

Run it::

    .venv/bin/abtpro users create alice            # prints alice's API key once
    .venv/bin/bentoml serve serving.service:MLService --host 127.0.0.1 --port 3000

Modules: :mod:`serving.service` (the ``@bentoml.service`` class and routes), :mod:`serving.schemas`
(every request/response model), :mod:`serving.auth` (``X-API-Key`` middleware), :mod:`serving.models`
(champion loading and hot reload), :mod:`serving.inference` (features via ``ml``, the result cache),
:mod:`serving.persistence` (live accuracy from the stored forecasts), :mod:`serving.jobs` (non-blocking
training jobs), :mod:`serving.openapi` (the OpenAPI document), :mod:`serving.config` (``ABTPRO_SERVING_*``).
Every database read and write goes through ``store`` (bars windows, prediction rows, jobs, audit rows).
"""
