"""What every upstream provider offers the engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from seedgate.domain.errors import FailureCode
from seedgate.domain.request import GenerationRequest
from seedgate.domain.task import Rendition, Task
from seedgate.domain.upstream import RemoteStatus, UpstreamState

__all__ = ["Provider", "UpstreamResult", "UpstreamState", "UpstreamStatus"]


@dataclass(frozen=True, slots=True)
class UpstreamResult:
    video: Path
    rendition: Rendition
    last_frame: Path | None = None
    tokens: int | None = None  # what the provider bills (`usage.completion_tokens`)
    resolution: str | None = None  # the resolution it produced, if it says


@dataclass(frozen=True, slots=True)
class UpstreamStatus:
    state: UpstreamState
    progress: int = 0
    result: UpstreamResult | None = None
    error_code: FailureCode | None = None
    error_message: str | None = None
    remote: RemoteStatus | None = None  # a remote provider's report, its URLs to mirror

    @property
    def finished(self) -> bool:
        return self.state in (UpstreamState.SUCCEEDED, UpstreamState.FAILED)


class Provider(Protocol):
    name: str
    remote: bool
    """Remote providers are polled on a schedule and their results mirrored; local ones
    (the simulator) are cheap to poll and leave their results on this machine."""
    callbacks: bool
    """Whether the provider calls the callback URL given with a submit."""

    def serves(self, model_id: str) -> bool:
        """Whether this provider offers the model (a canonical id) at all."""
        ...

    def accepts(self, request: GenerationRequest) -> bool:
        """Whether this provider serves the request's model and can express the request."""
        ...

    async def submit(self, task: Task, callback_url: str | None = None) -> str:
        """Start generating `task`; returns the provider's id for the job. A provider that
        supports callbacks calls `callback_url` when the job changes."""
        ...

    async def poll(self, upstream_id: str) -> UpstreamStatus:
        """The job's current state; must be cheap and free of side effects."""
        ...

    async def cancel(self, upstream_id: str) -> None:
        """Stop the job if the provider allows it; its files are no longer needed."""
        ...
