"""What the gateway's tasks amounted to over a time range, as operators report it (pure).

Credits count at the task's creation (when they were debited): a refund or settlement made
later counts on the day the task was created, as the spend limits count it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum


class Grouping(StrEnum):
    KEY = "key"
    MODEL = "model"
    PROVIDER = "provider"
    DAY = "day"


@dataclass(frozen=True, slots=True)
class Measures:
    tasks: int = 0
    succeeded: int = 0
    failed: int = 0  # failed or expired (cancelled tasks are neither)
    seconds: int = 0  # of video delivered
    debited: int = 0  # credits
    refunded: int = 0  # credits returned: refunds, and settlements of cheaper outcomes

    def __add__(self, other: Measures) -> Measures:
        return Measures(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def net(self) -> int:
        return self.debited - self.refunded

    @property
    def success_rate(self) -> float | None:
        """Succeeded among the tasks that ended either way; None before any did."""
        ended = self.succeeded + self.failed
        return self.succeeded / ended if ended else None


@dataclass(frozen=True, slots=True)
class UsageRow:
    group: str  # the key's name, the model, the provider ("" for none yet), or the day
    measures: Measures


@dataclass(frozen=True, slots=True)
class Bucket:
    """The tasks created in `[start, start + length)`, Unix ms."""

    start: int
    measures: Measures


@dataclass(frozen=True, slots=True)
class Queue:
    queued: int
    running: int
    oldest_queued_at: int | None  # Unix ms
