"""Helpers of the outbound direction shared by the codecs (pure, no I/O): reading a
provider's answers and classifying its errors into the gateway's faults and failure codes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from seedgate.domain.errors import FailureCode
from seedgate.domain.request import GenerationRequest, Role
from seedgate.domain.upstream import (
    Fault,
    RemoteStatus,
    Unsupported,
    UpstreamError,
    UpstreamState,
)

CONTENT = re.compile(r"sensitive|violat|nsfw|safety|policy", re.IGNORECASE)
IMAGE = re.compile(r"image", re.IGNORECASE)
TIMEOUT = re.compile(r"timeout|timed out|expired", re.IGNORECASE)
INVALID = re.compile(r"invalid|missing|too_long|lengthexceeded|unsupported", re.IGNORECASE)
BALANCE = re.compile(r"overdue|balance|credits|quota", re.IGNORECASE)
CANONICAL = {code.value: code for code in FailureCode}
MAX_MESSAGE = 500


def frame_urls(request: GenerationRequest, provider: str) -> list[str]:
    """The image URLs of a request that only has first/last frames, in that order; the
    APIs that take a plain `image_urls` list can express nothing else."""
    images = request.images
    if len(images) != len(request.inputs) or any(
            i.role not in (Role.FIRST_FRAME, Role.LAST_FRAME) for i in images):
        raise Unsupported(f"{provider} takes first and last frame images only")
    return [image.url for image in sorted(images, key=lambda i: i.role != Role.FIRST_FRAME)]


def state(states: Mapping[Any, UpstreamState], value: Any) -> UpstreamState:
    found = states.get(value) if isinstance(value, str) else None
    if found is None:
        raise malformed(f"unknown status {value!r}")
    return found


def envelope_data(body: Any) -> Mapping[str, Any]:
    """The `data` of a `{code, message, data}` envelope (the resellers' answers)."""
    return mapping(mapping(body, "the answer").get("data"), "`data`")


def envelope_id(body: Any, name: str) -> str:
    """The job id a reseller's create answer holds in `data.<name>`."""
    return text(envelope_data(body).get(name), f"`data.{name}`")


def failed(code: Any, message: Any, completed_at: int | None = None) -> RemoteStatus:
    """A job the provider reports failed, with its code (if any) and message."""
    return RemoteStatus(UpstreamState.FAILED, error_code=failure_code(code, message),
                        error_message=clip(message, "The provider could not generate the "
                                           "video."), completed_at=completed_at)


def malformed(what: str) -> UpstreamError:
    """An answer that does not have the documented shape (the provider is at fault)."""
    return UpstreamError(Fault.UNAVAILABLE, f"The provider's answer was malformed: {what}.")


def mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise malformed(f"{what} is not an object")
    return value


def text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise malformed(f"{what} is not a non-empty string")
    return value


def first_url(value: Any, what: str) -> str:
    if not isinstance(value, list) or not value:
        raise malformed(f"{what} holds no URL")
    return text(value[0], what)


def clip(message: Any, default: str) -> str:
    return message[:MAX_MESSAGE] if isinstance(message, str) and message else default


def failure_code(code: Any, message: Any = None) -> FailureCode:
    """A task-level failure reported by a provider, by its code or, lacking a known code,
    by what its message says."""
    if isinstance(code, str) and code in CANONICAL:
        return CANONICAL[code]
    words = " ".join(part for part in (code, message) if isinstance(part, str))
    if CONTENT.search(words):
        return FailureCode.CONTENT_VIOLATION
    if IMAGE.search(words):
        return FailureCode.INVALID_IMAGE_URL
    if TIMEOUT.search(words):
        return FailureCode.PROCESSING_TIMEOUT
    if INVALID.search(words):
        return FailureCode.INVALID_INPUT
    return FailureCode.GENERATION_FAILED


def http_error(status: int, code: Any, message: Any) -> UpstreamError:
    """An HTTP error answer: by status first, refined by the provider's code and message."""
    words = " ".join(part for part in (code, message) if isinstance(part, str))
    text_ = clip(message, f"The provider answered HTTP {status}.")
    if status == 429:
        fault = Fault.RATE_LIMITED
    elif status in (408, 504):
        fault = Fault.TIMEOUT
    elif status >= 500:
        fault = Fault.UNAVAILABLE
    elif status == 401:
        fault = Fault.UNAUTHORIZED
    elif status == 402 or (status == 403 and BALANCE.search(words)):
        fault = Fault.INSUFFICIENT_BALANCE
    elif CONTENT.search(words):
        fault = Fault.CONTENT_VIOLATION
    elif status == 403:
        fault = Fault.UNAUTHORIZED
    elif status == 404:
        fault = Fault.NOT_FOUND
    elif IMAGE.search(words):
        fault = Fault.INVALID_IMAGE
    else:
        fault = Fault.INVALID_REQUEST
    return UpstreamError(fault, text_, status=status)


def iso_ms(value: Any) -> int | None:
    """Unix milliseconds of an ISO-8601 time (`2025-08-03T10:22:20.010Z`), if it is one."""
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None
