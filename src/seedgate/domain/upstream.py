"""What an upstream provider reports, in the gateway's own terms (pure, no I/O).

The dialect codecs decode each provider's wire format into these values (the outbound
direction); the provider adapters and the engine act on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from seedgate.domain.errors import FailureCode


class UpstreamState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"  # the provider gave up at its own execution deadline
    LOST = "lost"  # the provider no longer knows the job: submit again


@dataclass(frozen=True, slots=True)
class RemoteStatus:
    """A job's state as a remote provider reports it; URLs are the provider's, to be
    mirrored, never shown to clients."""

    state: UpstreamState
    progress: int = 0
    video_url: str | None = None
    last_frame_url: str | None = None
    seed: int | None = None
    error_code: FailureCode | None = None
    error_message: str | None = None
    completed_at: int | None = None  # Unix ms, when the provider says it finished
    completion_tokens: int | None = None  # the tokens it bills for the video
    resolution: str | None = None  # the resolution it produced


class Fault(StrEnum):
    """Why a call to a provider failed."""

    CONTENT_VIOLATION = "content_violation"
    INVALID_IMAGE = "invalid_image"
    INVALID_REQUEST = "invalid_request"
    UNAUTHORIZED = "unauthorized"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"  # 5xx, connection refused or reset, malformed answers

    @property
    def retryable(self) -> bool:
        """Worth trying again, here or at another provider (failover)."""
        return self in RETRYABLE

    @property
    def provider_trouble(self) -> bool:
        """The provider, not the request, is at fault: counts against its health."""
        return self in RETRYABLE or self in (Fault.UNAUTHORIZED, Fault.INSUFFICIENT_BALANCE)

    @property
    def failure_code(self) -> FailureCode:
        return FAILURE_CODES.get(self, FailureCode.INTERNAL_ERROR)


RETRYABLE = frozenset({Fault.RATE_LIMITED, Fault.TIMEOUT, Fault.UNAVAILABLE})
FAILURE_CODES = {
    Fault.CONTENT_VIOLATION: FailureCode.CONTENT_VIOLATION,
    Fault.INVALID_IMAGE: FailureCode.INVALID_IMAGE_URL,
    Fault.INVALID_REQUEST: FailureCode.INVALID_INPUT,
    Fault.TIMEOUT: FailureCode.PROCESSING_TIMEOUT,
}


class UpstreamError(Exception):
    """A provider call that failed: the fault, a message safe to show, and the provider's
    Retry-After in seconds, if it sent one."""

    def __init__(self, fault: Fault, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.fault = fault
        self.message = message
        self.status = status
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"UpstreamError({self.fault.value!r}, {self.message!r}, status={self.status})"


class Unsupported(Exception):
    """The provider's API cannot express this request (a model, duration or ratio it
    lacks): the router skips the provider for this task."""
