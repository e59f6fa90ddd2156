"""What every upstream provider offers the engine."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from seedgate.domain.errors import FailureCode
from seedgate.domain.task import Rendition, Task


class UpstreamState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    LOST = "lost"  # the provider no longer knows the job: submit again


@dataclass(frozen=True, slots=True)
class UpstreamResult:
    video: Path
    rendition: Rendition
    last_frame: Path | None = None


@dataclass(frozen=True, slots=True)
class UpstreamStatus:
    state: UpstreamState
    progress: int = 0
    result: UpstreamResult | None = None
    error_code: FailureCode | None = None
    error_message: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in (UpstreamState.SUCCEEDED, UpstreamState.FAILED)


class Provider(Protocol):
    name: str

    async def submit(self, task: Task) -> str:
        """Start generating `task`; returns the provider's id for the job."""
        ...

    async def poll(self, upstream_id: str) -> UpstreamStatus:
        """The job's current state; must be cheap and free of side effects."""
        ...

    async def cancel(self, upstream_id: str) -> None:
        """Stop the job if the provider allows it; its files are no longer needed."""
        ...
