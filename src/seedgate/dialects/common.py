"""Helpers shared by the dialect codecs (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seedgate.domain.catalog import CATALOG
from seedgate.domain.errors import ErrorKind, GatewayError, invalid, missing
from seedgate.domain.request import URL_SCHEMES, MediaInput, MediaKind, Role
from seedgate.domain.task import TaskStatus

MAX_FRAME_IMAGES = 2
TOOLS = ("web_search",)

HTTP_STATUS = {
    ErrorKind.INVALID_PARAMETER: 400,
    ErrorKind.MISSING_PARAMETER: 400,
    ErrorKind.INVALID_JSON: 400,
    ErrorKind.MODEL_NOT_FOUND: 400,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.INSUFFICIENT_CREDITS: 402,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.CONCURRENCY_LIMITED: 429,
    ErrorKind.SPEND_LIMITED: 403,
    ErrorKind.IP_NOT_ALLOWED: 403,
    ErrorKind.MODEL_NOT_ALLOWED: 403,
    ErrorKind.MODEL_RETIRED: 410,
    ErrorKind.INTERNAL: 500,
    ErrorKind.UNAVAILABLE: 503,
}


def status_names(queued: str, running: str, succeeded: str, failed: str) -> dict[TaskStatus, str]:
    """A dialect's names for task states; a dialect without its own words for cancelled and
    expired tasks shows them as failed (the error message says why)."""
    return {
        TaskStatus.QUEUED: queued, TaskStatus.RUNNING: running,
        TaskStatus.SUCCEEDED: succeeded, TaskStatus.FAILED: failed,
        TaskStatus.CANCELLED: failed, TaskStatus.EXPIRED: failed,
    }


def frame_inputs(value: Any, param: str = "image_urls") -> tuple[MediaInput, ...]:
    """An image URL list meaning "the first frame, then optionally the last frame"."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
        raise invalid(param, f"`{param}` must be an array of URL strings.")
    if len(value) > MAX_FRAME_IMAGES:
        raise invalid(param, f"`{param}` takes at most {MAX_FRAME_IMAGES} images: the first "
                      "frame and, optionally, the last frame.")
    for url in value:
        if not url.startswith((*URL_SCHEMES, "data:image/")):
            raise invalid(param, f"`{param}` must hold http(s) or base64 data URLs; "
                          f"got {url[:80]!r}.")
    roles = (Role.FIRST_FRAME, Role.LAST_FRAME)
    return tuple(
        MediaInput(MediaKind.IMAGE, url, role)
        for url, role in zip(value, roles[: len(value)], strict=True)
    )


def decode_task_id(value: Any, param: str = "task_id") -> str:
    if value is None or value == "":
        raise missing(param)
    if not isinstance(value, str):
        raise invalid(param, f"`{param}` must be a string.")
    return value


def renamed(error: GatewayError, names: Mapping[str, str]) -> GatewayError:
    """The same error with canonical parameter names replaced by the dialect's."""
    if error.param is None:
        return error
    head, dot, rest = error.param.partition(".")
    base, bracket, index = head.partition("[")
    name = names.get(base)
    if name is None:
        return error
    param = f"{name}{bracket}{index}{dot}{rest}"
    message = error.message.replace(f"`{error.param}`", f"`{param}`").replace(
        f"`{base}`", f"`{name}`"
    )
    return error.renamed(param, message)


def decode_statuses(text: str | None, names: Mapping[str, TaskStatus]) -> tuple[TaskStatus, ...]:
    """A `status` filter: comma-separated statuses as the dialect names them (empty: any)."""
    if not text:
        return ()
    try:
        return tuple(names[name] for name in text.split(","))
    except KeyError:
        raise invalid("status", "`status` must be one or more (comma-separated) of "
                      f"{', '.join(names)}.") from None


def decode_model(name: str | None) -> str | None:
    """A `model` filter: any name of a catalog model, as its canonical id (empty: any)."""
    if not name:
        return None
    found = CATALOG.get(name)
    if found is None:
        raise GatewayError(ErrorKind.MODEL_NOT_FOUND, f"Model `{name}` does not exist.",
                           param="model")
    return found.id


def decode_tools(value: Any) -> bool:
    """`tools`: `[{"type": "web_search"}]` is the only tool; whether it is asked for."""
    if value is None:
        return False
    if not isinstance(value, list) or not all(
            isinstance(item, dict) and item.get("type") in TOOLS for item in value):
        raise invalid("tools", f"`tools` must be a list of tools of type {', '.join(TOOLS)}, "
                      'e.g. [{"type": "web_search"}].')
    return bool(value)


def not_an_object() -> GatewayError:
    return GatewayError(ErrorKind.INVALID_JSON, "The request body must be a JSON object.")
