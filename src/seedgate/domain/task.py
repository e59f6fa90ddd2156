"""Tasks and their state machine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from seedgate.domain.request import GenerationRequest


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def refundable(self) -> bool:
        """Tasks ending this way never produced a video, so their credits go back."""
        return self in (TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.EXPIRED)


TERMINAL = frozenset(
    {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.EXPIRED}
)

TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.QUEUED: frozenset(
        {TaskStatus.RUNNING, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.EXPIRED}
    ),
    TaskStatus.RUNNING: frozenset(
        {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.EXPIRED}
    ),
}


class IllegalTransition(Exception):
    def __init__(self, current: TaskStatus, target: TaskStatus) -> None:
        super().__init__(f"a {current.value} task cannot become {target.value}")
        self.current = current
        self.target = target


def check_transition(current: TaskStatus, target: TaskStatus) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(current, target)


def sources_of(target: TaskStatus) -> tuple[TaskStatus, ...]:
    """The states from which `target` may be entered (used to guard SQL updates)."""
    return tuple(s for s, targets in TRANSITIONS.items() if target in targets)


@dataclass(frozen=True, slots=True)
class Rendition:
    """The actual parameters of a generated video (a request may leave some to the model)."""

    width: int
    height: int
    duration: int
    ratio: str
    seed: int
    has_audio: bool


@dataclass(frozen=True, slots=True)
class Outputs:
    """What a finished task produced: stored media keys and the rendition."""

    video_key: str
    rendition: Rendition
    last_frame_key: str | None = None
    tokens: int | None = None  # the tokens the provider billed, if it reported them

    def to_json(self) -> dict[str, Any]:
        return {"video_key": self.video_key, "last_frame_key": self.last_frame_key,
                "tokens": self.tokens, **asdict(self.rendition)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outputs:
        rendition = Rendition(**{f.name: data[f.name] for f in fields(Rendition)})
        return cls(data["video_key"], rendition, data["last_frame_key"], data.get("tokens"))


@dataclass(frozen=True, slots=True)
class Task:
    """A generation task as stored; timestamps are Unix milliseconds."""

    id: str
    key_id: int
    dialect: str
    request: GenerationRequest
    client_request: dict[str, Any]
    status: TaskStatus
    price: int
    refunded: int
    created_at: int
    updated_at: int
    deadline_at: int
    progress: int = 0
    error_code: str | None = None
    error_message: str | None = None
    outputs: Outputs | None = None
    provider: str | None = None
    upstream_id: str | None = None
    started_at: int | None = None
    completed_at: int | None = None
    seq: int = field(default=0, compare=False)

    @property
    def consumed_credits(self) -> int:
        return self.price - self.refunded

    @property
    def model(self) -> str:
        return self.request.model
