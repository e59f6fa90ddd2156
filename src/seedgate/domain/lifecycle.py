"""When a provider stopped serving a model, and what replaces it (pure data and rules).

Availability is per provider and dated: the same model can be gone on BytePlus and alive on
Volcengine or at a reseller (seedance-2026-h2.md, "Retired and retiring").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

BYTEPLUS = "ark-byteplus"
VOLCENGINE = "ark-volcengine"


@dataclass(frozen=True, slots=True)
class Retirement:
    """A model's end at one provider kind: deprecated (still served), then retired."""

    provider: str  # a provider kind, e.g. "ark-byteplus"
    retired: date
    replacement: str  # the canonical id of the model that replaces it
    deprecated: date | None = None
    confirmed: bool = True  # False: one source only; operators may override it

    def retired_on(self, today: date) -> bool:
        return today >= self.retired

    def to_json(self) -> dict[str, object]:
        return {"provider": self.provider, "replacement": self.replacement,
                "deprecated": self.deprecated.isoformat() if self.deprecated else None,
                "retired": self.retired.isoformat(), "confirmed": self.confirmed}


# Seedance 1.0 Lite, t2v and i2v (docs.byteplus.com/en/docs/ModelArk/1350667).
LITE_RETIREMENT = Retirement(
    BYTEPLUS, retired=date(2026, 5, 13), deprecated=date(2026, 3, 23),
    replacement="seedance-1-0-pro-fast",
)


PRO_1_5_RETIREMENT = Retirement(
    BYTEPLUS, retired=date(2026, 11, 11), deprecated=date(2026, 9, 15),
    replacement="seedance-2-0-mini", confirmed=False,  # byteplus-sa/ComfyUI-BytePlus-ModelArk
)
