"""``POST /ml/models/webhook``: MLflow's registry webhook (alias set / deleted) -> an approval in the audit log
and the served champion swapped at once.

The caller is the MLflow server, not an app: the request carries no API key but MLflow's HMAC signature
(``X-MLflow-Signature`` over the delivery id, timestamp and body, with the secret the stack registered the
webhook with: ``ABTPRO_MLFLOW_WEBHOOK_SECRET`` or the install's key file). An unsigned, wrongly signed or
stale delivery is a 401. A signed one about an alias of a served model writes one audit row (actor: the
approver recorded by :mod:`registry.auth_app`, else ``unknown``; action ``alias.created`` /
``alias.deleted``; the model, version, previous champion and the versions served before and after) and, for
the ``champion`` alias, reloads the champion before answering. MLflow retries a failed delivery: a delivery id
already handled by this process answers the first answer again and writes nothing. See
:mod:`registry.approvals` for the whole chain.
"""

from __future__ import annotations

from typing import Any

import anyio
import bentoml
from fastapi import APIRouter, Depends, Request

import registry
from registry import approvals
from serving.http import error
from serving.inference import LRUCache
from serving.schemas import ApprovalResult, ModelRef
from store import records

router = APIRouter()
#: The route, outside the API-key check (it authenticates by signature) and documented without the key scheme.
ROUTE = ("POST", "/ml/models/webhook")
_SEEN_MAX = 1000


#: Answers of the delivery ids handled by this process (MLflow retries on errors and timeouts).
_DELIVERIES = LRUCache(_SEEN_MAX)
_REQUEST_BODY = {"required": True, "description": "MLflow's webhook payload, signed in `X-MLflow-Signature` (read "
                 "as sent: the signature covers the exact bytes).",
                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MLflowWebhook"}}}}


_HEADERS = [{"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": text}
            for name, text in ((approvals.SIGNATURE_HEADER, ("`v1,` + base64 HMAC-SHA256 of "
                                                             "`{delivery id}.{timestamp}.{body}` under the secret.")),
                               (approvals.TIMESTAMP_HEADER, "Unix time of the delivery."),
                               (approvals.DELIVERY_HEADER, "The delivery id (a retry repeats it)."))]


@router.post("/models/webhook", response_model=ApprovalResult,
             openapi_extra={"requestBody": _REQUEST_BODY, "parameters": _HEADERS})
async def models_webhook(request: Request, svc: Any = Depends(bentoml.get_current_service)) -> Any:
    """MLflow registry webhook (alias created/deleted): audit the approval, swap the champion now."""
    body = await request.body()
    try:
        change = approvals.verify_delivery(svc.settings.webhook_secret(), request.headers, body)
    except approvals.SignatureError as exc:
        return error(401, str(exc))
    except approvals.PayloadError as exc:
        return error(422, str(exc), fields=["body"])
    if change is None:
        return ApprovalResult(handled=False)
    return await anyio.to_thread.run_sync(apply_change, svc, change)


def apply_change(svc: Any, change: approvals.AliasChange) -> ApprovalResult:
    """Audit ``change`` and, for the champion alias, reload the slot (see the module docstring)."""
    if (seen := _DELIVERIES.get(change.delivery_id)) is not None:
        return seen.model_copy(update={"duplicate": True})
    slot = next((s for s in svc.slots.values() if s.name == change.model), None)
    if slot is None:
        return ApprovalResult(handled=False, model=change.model, alias=change.alias, action=change.action)
    try:
        tags = dict(registry.configure(svc.settings).get_registered_model(change.model).tags or {})
    except Exception:  # noqa: BLE001 - the registry is down: audit what the delivery says
        tags = {}
    who = approvals.approver_of(tags, change)
    before = slot.current
    if change.alias == slot.alias and change.action == "created":
        svc.poller.reload(slot)  # and the service's other workers within a second (serving.models.ChampionPoller)
    now = slot.current
    previous = who["previous"] or (before.version if before is not None and change.alias == slot.alias else None)
    answer = ApprovalResult(handled=True, model=change.model, alias=change.alias, action=change.action,
                            version=change.version or who.get("version"), previous=previous,
                            approver=who["by"], serving=None if now is None else ModelRef(name=now.name,
                                                                                          version=now.version))
    records.audit(svc.db_url, who["by"] or "unknown", f"alias.{change.action}", f"{change.model}@{change.alias}",
                  {"model": change.model, "alias": change.alias, "version": answer.version,
                   "previous": answer.previous, "approver": who["by"], "via": "mlflow-webhook",
                   "delivery_id": change.delivery_id, "served_before": None if before is None else before.version,
                   "served_after": None if now is None else now.version, "load_error": slot.last_error})
    _DELIVERIES.put(change.delivery_id, answer)
    return answer
