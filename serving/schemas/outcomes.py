"""Trade outcomes: what happened to a scored signal, as the platform reports it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from serving.schemas.common import ApiDatetime, UtcDatetime, _Strict


class SignalOutcomeRequest(_Strict):
    """What happened to a scored signal, reported by the platform (it replaces the triple-barrier outcome)."""

    signal_id: int = Field(ge=1, le=2**31 - 1, description="The ``id`` of the /ml/signal/score answer.")
    filled: bool = Field(strict=True, description="Whether the trade was executed (false: no outcome is counted).")
    exit_ts: ApiDatetime | None = Field(default=None, description="When the position was closed (naive = UTC).")
    exit_price: float | None = Field(default=None, gt=0, le=1e12, allow_inf_nan=False,
                                     description="Exit price; the entry is the signal bar's close.")
    realised_return: float | None = Field(default=None, ge=-1, le=100, allow_inf_nan=False,
                                          description="Return of the trade as a fraction (instead of exit_price).")


class SignalOutcomeResult(BaseModel):
    signal_id: int
    outcome: float | None = Field(description="1 the trade paid, 0 it did not, null when not filled.")
    realised_return: float | None
    exit_ts: UtcDatetime | None
    source: str = Field(description="reported, or unfilled.")
    replaced: str | None = Field(description="The outcome row this report replaced (pt, sl, vertical), if any.")

