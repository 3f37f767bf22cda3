"""Approvals: the MLflow registry webhook (``POST /ml/models/webhook``) and what the service did with it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from serving.schemas.common import ModelRef


class MLflowWebhook(BaseModel):
    """What MLflow's registry webhook sends (``POST /ml/models/webhook``); the service reads alias events."""

    entity: str = Field(description="`model_version_alias` for alias changes (other entities are ignored).")
    action: str = Field(description="`created` or `deleted`.")
    timestamp: str = Field(description="When MLflow sent it (ISO 8601).")
    data: dict[str, Any] = Field(description="`name`, `alias` and (when created) `version`.")


class ApprovalResult(BaseModel):
    """What the service did with one webhook delivery."""

    handled: bool = Field(description="False for an event of another kind or model (nothing recorded).")
    model: str | None = None
    alias: str | None = None
    action: str | None = Field(default=None, description="`created` (alias set) or `deleted`.")
    version: str | None = Field(default=None, description="The version the alias now points at (or pointed at).")
    previous: str | None = Field(default=None, description="The version that held the alias before.")
    approver: str | None = Field(default=None, description="The MLflow login that made the change (None: "
                                                           "not recorded by the server's login app).")
    serving: ModelRef | None = Field(default=None, description="The version the service answers with now.")
    duplicate: bool = Field(default=False, description="This delivery id was handled before: nothing written.")

