"""Approvals with identity: who moved a registry alias, reported to the service by an MLflow webhook.

1. An approver logs in to the MLflow server (``mlflow server --app-name abtpro-auth``: MLflow's basic-auth app
   plus :mod:`registry.auth_app`) and sets (or removes) ``champion`` on a version, in the UI or the API.
2. Before MLflow applies it, that app records the change on the registered model as the tag
   ``abtpro.alias.<alias>`` (:func:`change_record`: who, the version, the version it replaces, when), so the
   registry itself shows who approved what.
3. MLflow delivers its ``model_version_alias.created`` / ``.deleted`` webhook, HMAC-signed with the secret
   :func:`ensure_webhook` registered, to the service's ``POST /ml/models/webhook``;
   :func:`verify_delivery` checks the signature and its age, :func:`approver_of` reads the tag, and the
   service writes the approval to its audit log and swaps the served champion at once (polling stays the
   fallback).

An alias moved with no login (the pipeline's own gated promotions write to the store directly; they are in
the audit log as ``promote``) fires no webhook; one moved through a server without this app is audited with an
unknown approver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The webhook the stack registers (one per MLflow server), and the events it listens to.
WEBHOOK_NAME = "abtpro-champion"
ALIAS_EVENTS = ("model_version_alias.created", "model_version_alias.deleted")
#: A delivery (or an alias record) older than this is refused (a replayed request) / not trusted.
MAX_AGE_SECONDS = 300
SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER = "X-MLflow-Signature", "X-MLflow-Timestamp", "X-MLflow-Delivery-Id"


class SignatureError(ValueError):
    """The delivery is not signed with the webhook's secret, or is too old (401)."""


class PayloadError(ValueError):
    """A signed delivery whose payload is not an MLflow webhook payload (422)."""


@dataclass(frozen=True)
class AliasChange:
    """One ``model_version_alias`` event: ``version`` is None for a deletion (MLflow does not send it)."""

    model: str
    alias: str
    action: str  # "created" | "deleted"
    version: str | None
    delivery_id: str


def alias_tag(alias: str) -> str:
    """The registered-model tag holding the last recorded change of ``alias``."""
    return f"abtpro.alias.{alias}"


def change_record(user: str | None, action: str, version: str | None, previous: str | None,
                  now: float | None = None) -> str:
    """The tag value :mod:`registry.auth_app` writes before an alias change (JSON)."""
    return json.dumps({"by": user, "action": action, "version": version, "previous": previous,
                       "at": round(time.time() if now is None else now, 3)}, sort_keys=True)


def signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """MLflow's webhook signature: ``v1,`` + base64 HMAC-SHA256 of ``"{delivery_id}.{timestamp}.{payload}"``."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def verify_delivery(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None
                    ) -> AliasChange | None:
    """The alias change of a webhook delivery, after checking its signature and age; None for another event.

    Raises:
        SignatureError: a missing/wrong signature, or a timestamp more than :data:`MAX_AGE_SECONDS` away.
        PayloadError: signed, but not a webhook payload.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    sent, stamp, delivery = (lower.get(h.lower()) for h in (SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER))
    if not (sent and stamp and delivery):
        raise SignatureError(f"an MLflow webhook delivery carries {SIGNATURE_HEADER}, {TIMESTAMP_HEADER} and "
                             f"{DELIVERY_HEADER}")
    if not hmac.compare_digest(sent.encode(), signature(secret, delivery, stamp, body).encode()):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the webhook secret")
    try:
        age = abs((time.time() if now is None else now) - int(stamp))
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not a Unix time: {stamp[:40]!r}") from None
    if age > MAX_AGE_SECONDS:
        raise SignatureError(f"the delivery is {age:.0f} s old (more than {MAX_AGE_SECONDS} s): refused as a replay")
    try:
        payload = json.loads(body)
        if payload.get("entity") != "model_version_alias":
            return None
        data = payload["data"]
        action = str(payload["action"])
        if action not in ("created", "deleted"):
            return None
        version = data.get("version")
        return AliasChange(model=str(data["name"]), alias=str(data["alias"]), action=action,
                           version=None if version is None else str(version), delivery_id=delivery)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PayloadError(f"not an MLflow webhook payload: {type(exc).__name__}: {exc}") from None


def approver_of(tags: Mapping[str, str], change: AliasChange, now: float | None = None) -> dict[str, Any]:
    """Who made ``change``, from the registered model's tags: ``{"by", "previous"}`` (``by`` None when no
    recent record of this very change exists: the alias was moved through a server without the login app)."""
    try:
        record = json.loads(tags.get(alias_tag(change.alias)) or "null") or {}
    except ValueError:
        record = {}
    fresh = abs((time.time() if now is None else now) - float(record.get("at") or 0)) <= MAX_AGE_SECONDS
    same = record.get("action") == change.action and (change.version is None
                                                      or str(record.get("version")) == change.version)
    if not (fresh and same):
        return {"by": None, "previous": None}
    return {"by": record.get("by"), "previous": record.get("previous"),
            **({"version": record.get("version")} if change.version is None else {})}


def ensure_webhook(client: Any, url: str, secret: str) -> Any:
    """Create, or bring up to date, the :data:`WEBHOOK_NAME` webhook of the MLflow server ``client`` talks to
    (an admin login: MLflow lets only admins manage webhooks), pointing at ``url``; returns it."""
    for hook in client.list_webhooks(max_results=1000):
        if hook.name == WEBHOOK_NAME:
            return client.update_webhook(hook.webhook_id, url=url, events=list(ALIAS_EVENTS), secret=secret,
                                         status="ACTIVE")
    return client.create_webhook(name=WEBHOOK_NAME, url=url, events=list(ALIAS_EVENTS), secret=secret,
                                 description="ABTPro: audit champion approvals and hot-swap the served model")
