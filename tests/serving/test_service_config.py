"""The service's import-time settings: the access log (off unless ABTPRO_SERVING_ACCESS_LOG says on)."""

from __future__ import annotations

import pytest

from serving.config import service_access_log


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("", False), ("0", False), ("false", False),
                                                 ("1", True), ("true", True), ("ON", True), (" yes ", True)])
def test_access_log_setting(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("ABTPRO_SERVING_ACCESS_LOG", raising=False)
    else:
        monkeypatch.setenv("ABTPRO_SERVING_ACCESS_LOG", value)
    assert service_access_log() is expected


def test_the_service_is_declared_with_the_setting():
    from serving.service import MLService

    assert MLService.config["logging"]["access"]["enabled"] is service_access_log()
