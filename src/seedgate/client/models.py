"""What the client hands back: videos as the native API describes them, and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

UNFINISHED = frozenset({"queued", "in_progress"})


@dataclass(frozen=True, slots=True)
class VideoError:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Video:
    """A video task (`GET /v1/videos/{id}`); `raw` is the object as the gateway sent it."""

    id: str
    status: str  # queued, in_progress, completed, failed, cancelled, expired
    progress: int
    model: str
    prompt: str
    size: str | None
    seconds: int | None
    created_at: int
    completed_at: int | None
    queue_position: int | None
    credits: int | None
    error: VideoError | None
    video_url: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED

    @property
    def succeeded(self) -> bool:
        return self.status == "completed"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Video:
        error = data.get("error")
        return cls(
            id=data["id"], status=data["status"], progress=data.get("progress") or 0,
            model=data.get("model", ""), prompt=data.get("prompt", ""), size=data.get("size"),
            seconds=int(data["seconds"]) if data.get("seconds") else None,
            created_at=data.get("created_at", 0), completed_at=data.get("completed_at"),
            queue_position=data.get("queue_position"),
            credits=(data.get("usage") or {}).get("credits"),
            error=VideoError(error.get("code", ""), error.get("message", "")) if error else None,
            video_url=(data.get("outputs") or {}).get("video_url"), raw=data,
        )


@dataclass(frozen=True, slots=True)
class Page:
    videos: list[Video]
    has_more: bool


class SeedgateError(Exception):
    """Every error the client raises (besides httpx's transport errors) is one of these."""


class ApiError(SeedgateError):
    """The gateway refused a request: `{"error": {"message", "type", "code", "param"}}`."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 type: str | None = None, param: str | None = None) -> None:
        super().__init__(f"{status} {code or 'error'}: {message}")
        self.status, self.message, self.code, self.type, self.param = (
            status, message, code, type, param)

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            error = response.json()["error"]
            return cls(response.status_code, str(error["message"]), code=error.get("code"),
                       type=error.get("type"), param=error.get("param"))
        except (ValueError, KeyError, TypeError):  # not the gateway's envelope (a proxy's)
            text = response.text.strip()[:200] or response.reason_phrase
            return cls(response.status_code, text)


class VideoFailed(SeedgateError):
    """The video ended without a result: failed, cancelled or expired."""

    def __init__(self, video: Video) -> None:
        reason = f"{video.error.code}: {video.error.message}" if video.error else video.status
        super().__init__(f"video {video.id} {video.status} ({reason})")
        self.video = video


class WaitTimeout(SeedgateError, TimeoutError):
    """The video had not ended when the wait's timeout ran out; `video` is its last state."""

    def __init__(self, video: Video | None, video_id: str) -> None:
        state = f"still {video.status}" if video else "not seen yet"
        super().__init__(f"video {video_id} is {state} after the wait's timeout")
        self.video = video


class WebhookVerificationError(SeedgateError):
    """A webhook whose signature or timestamp does not check out: do not trust its body."""
