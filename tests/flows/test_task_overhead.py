"""flows.task_overhead: a task run's orchestration builds its SSL context and Prefect settings once, not every time."""

from __future__ import annotations

import copy
import os
import ssl
import subprocess
import sys
from pathlib import Path

import certifi
import pytest
from prefect import task_engine
from prefect.client.orchestration import SyncPrefectClient
from prefect.context import SettingsContext, hydrated_context
from prefect.settings import (
    PREFECT_API_TLS_INSECURE_SKIP_VERIFY,
    PREFECT_TASKS_DEFAULT_RETRIES,
    temporary_settings,
)

from flows import task_overhead

ROOT = Path(__file__).resolve().parents[2]
API = "http://127.0.0.1:9/api"  # never contacted: building a client opens no connection


def _ssl_context(client: SyncPrefectClient) -> ssl.SSLContext:
    return client._client._transport._pool._ssl_context


@pytest.fixture(autouse=True)
def _installed():
    task_overhead.install()  # as the entry points do (flows.patches)


def test_install_puts_all_three_fixes_in_place():
    assert task_overhead.installed() == {"ssl": True, "serialize": True, "hydrate": True}
    assert task_overhead.install() == task_overhead.installed()  # idempotent


def test_api_clients_share_one_verified_ssl_context_and_the_real_ssl_is_untouched():
    first, second = SyncPrefectClient(API), SyncPrefectClient(API)
    assert _ssl_context(first) is _ssl_context(second)  # Prefect 3.9 loaded certifi's bundle for each client
    assert _ssl_context(first).verify_mode == ssl.CERT_REQUIRED and _ssl_context(first).check_hostname
    assert ssl.create_default_context(cafile=certifi.where()) is not ssl.create_default_context(cafile=certifi.where())


def test_an_insecure_client_still_gets_its_own_unverified_context():
    with temporary_settings({PREFECT_API_TLS_INSECURE_SKIP_VERIFY: True}):
        insecure = SyncPrefectClient(API)
    verified = SyncPrefectClient(API)
    assert _ssl_context(insecure).verify_mode == ssl.CERT_NONE and not _ssl_context(insecure).check_hostname
    assert _ssl_context(verified).verify_mode == ssl.CERT_REQUIRED  # the shared one was not loosened
    assert _ssl_context(insecure) is not _ssl_context(verified)


def test_serialised_settings_are_the_originals_a_fresh_copy_each_time_and_follow_a_change():
    context = SettingsContext.get()
    first = context.serialize()
    unpatched = SettingsContext.serialize.__wrapped__(context)
    assert first == unpatched
    first["settings"]["tampered"] = True
    assert "tampered" not in context.serialize()["settings"]  # a caller's change does not reach the next one
    with temporary_settings({PREFECT_TASKS_DEFAULT_RETRIES: 7}):
        changed = SettingsContext.get().serialize()
    assert changed["settings"]["tasks"]["default_retries"] == 7
    assert context.serialize() == unpatched


def _settings_in(serialized: dict):
    with task_engine.hydrated_context({"settings_context": serialized}, client=object()):
        return SettingsContext.get().settings


def test_hydrating_the_same_settings_twice_builds_them_once_and_keeps_their_values(monkeypatch):
    with temporary_settings({PREFECT_TASKS_DEFAULT_RETRIES: 3}):
        serialized = SettingsContext.get().serialize()
    once, twice = _settings_in(serialized), _settings_in(copy.deepcopy(serialized))  # as unpickled per task run
    assert once is twice and once.tasks.default_retries == 3
    with hydrated_context({"settings_context": serialized}, client=object()):  # Prefect's own, unpatched
        assert SettingsContext.get().settings.model_dump() == once.model_dump()
    with temporary_settings({PREFECT_TASKS_DEFAULT_RETRIES: 4}):
        other = _settings_in(SettingsContext.get().serialize())
    assert other is not once and other.tasks.default_retries == 4
    monkeypatch.setenv("PREFECT_TASKS_DEFAULT_RETRY_DELAY_SECONDS", "11")  # the environment completes them
    rebuilt = _settings_in(serialized)
    assert rebuilt is not once
    with hydrated_context({"settings_context": serialized}, client=object()):
        assert SettingsContext.get().settings.model_dump() == rebuilt.model_dump()


def test_the_switch_leaves_prefect_as_released():
    env = {**os.environ, task_overhead.SWITCH: "off", "PYTHONPATH": str(ROOT)}
    code = ("from flows import patches, task_overhead; patches.install(); "
            "print(sorted(task_overhead.installed().items()))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[('hydrate', False), ('serialize', False), ('ssl', False)]"
