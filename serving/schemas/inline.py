"""What the volatility and signal routes share: inline bars (:class:`Bar`, their order check
:func:`inline_bars_order` and the per-batch bound), and the feature explanation of an answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, model_validator

from serving.schemas.common import ApiDatetime, _Strict, naive_utc, server_now


class Bar(_Strict):
    """One OHLCV bar given inline (instead of the stored bars)."""

    ts: ApiDatetime
    open: float = Field(gt=0)
    high: float = Field(gt=0)
    low: float = Field(gt=0)
    close: float = Field(gt=0)
    volume: float = Field(ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Bar:
        if self.high < max(self.open, self.close) or self.low > min(self.open, self.close) or self.high < self.low:
            raise ValueError("inconsistent bar: need low <= open, close <= high")
        return self


class FeatureContribution(BaseModel):
    """One feature's value and its contribution to the model output."""

    feature: str
    value: float | None
    contribution: float


class Explanation(BaseModel):
    """Top additive contributions (TreeSHAP of an XGBoost booster, or a HAR forecast's exact linear terms), or
    why there are none."""

    method: str | None = None
    units: str | None = None
    contributions: list[FeatureContribution] = Field(default_factory=list)
    note: str | None = None


_SHOWN_BAD_BARS = 5


def inline_bars_order(bars: list[Bar] | None, info: ValidationInfo) -> list[Bar] | None:
    """Inline bars strictly increasing and none after the server clock (cheap, per request item; the raw-bar
    contract of ingestion then runs once per request on all of them, :func:`serving.inference.contract_inline`).

    Raises:
        ValueError: naming the first offending bars (``bars[i]: <reason>``).
    """
    if not bars:
        return bars
    stamps = [naive_utc(b.ts) for b in bars]
    now = server_now()
    problems = [f"bars[{i}]: ts {stamps[i].isoformat()} is not after bars[{i - 1}] ({stamps[i - 1].isoformat()}): "
                f"bars must be strictly increasing, oldest first" for i in range(1, len(bars))
                if stamps[i] <= stamps[i - 1]]
    problems += [f"bars[{i}]: ts: in the future ({t.isoformat()} > clock {now:%Y-%m-%dT%H:%M:%S})"
                 for i, t in enumerate(stamps) if t > now]
    if problems:
        more = f" (and {len(problems) - _SHOWN_BAD_BARS} more)" if len(problems) > _SHOWN_BAD_BARS else ""
        raise ValueError("; ".join(problems[:_SHOWN_BAD_BARS]) + more)
    return bars



MAX_INLINE_BARS_PER_BATCH = 50_000


def _bounded_inline_bars(items: list[Any]) -> list[Any]:
    """A batch's items, unless together they carry more than ``MAX_INLINE_BARS_PER_BATCH`` inline bars."""
    if sum(len(item.bars or []) for item in items) > MAX_INLINE_BARS_PER_BATCH:
        raise ValueError(f"at most {MAX_INLINE_BARS_PER_BATCH} inline bars per batch")
    return items

