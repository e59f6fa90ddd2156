"""The I/O steps an operation asks for, and `Step`, which drives an operation through them.

Operations (`operations.py`) are generators written once, without I/O: they yield a step and
are sent its outcome. `Client` performs the steps with blocking calls and `AsyncClient` with
awaits, so the two behave alike by construction (the "sans I/O" design of h11 and wsproto).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx

T = TypeVar("T")
Operation = Generator[Any, Any, T]

EVENT_STREAM = "text/event-stream"
LISTEN_HEADERS = {"accept": EVENT_STREAM, "cache-control": "no-store"}


@dataclass(frozen=True, slots=True)
class Call:
    """An HTTP request; its outcome is the answer, read whole."""

    method: str
    path: str
    params: dict[str, str] | None = None
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Save:
    """A GET whose answer, when successful, is streamed into `target`; the outcome is the
    answer (its body read only when it is an error)."""

    path: str
    params: dict[str, str]
    target: Path


@dataclass(frozen=True, slots=True)
class Listen:
    """A GET of a Server-Sent Events stream. Its outcomes are the stream's events, one at a
    time: after each, the operation yields `NEXT` for the next one, or any other step, which
    closes the stream. None follows the last event when the stream ended. When the answer
    is not an event stream, the outcome is that answer, read whole."""

    path: str
    read_timeout: float


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


class _Next:
    def __repr__(self) -> str:
        return "NEXT"


NEXT = _Next()


class Step(Generic[T]):
    """An operation in progress: `pending` is the step it waits on, None once it returned
    `value` or raised. A transport error is thrown into it at the step that failed."""

    def __init__(self, operation: Operation[T]) -> None:
        self._operation = operation
        self.pending: Any = None
        self.value: T
        self._resume(operation.send, None)

    def advance(self, outcome: Any) -> None:
        self._resume(self._operation.send, outcome)

    def fail(self, error: BaseException) -> None:
        self._resume(self._operation.throw, error)

    def _resume(self, resume: Callable[[Any], Any], argument: Any) -> None:
        try:
            self.pending = resume(argument)
        except StopIteration as stop:
            self.pending, self.value = None, stop.value
        except BaseException:
            self.pending = None
            raise


def build_request(http: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
    return http.build_request(call.method, call.path, params=call.params, json=call.json,
                              data=call.data, files=call.files, headers=call.headers)


def is_event_stream(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "").partition(";")[0].strip()
    return response.status_code == 200 and content_type == EVENT_STREAM


def listen_timeout(http: httpx.Client | httpx.AsyncClient, listen: Listen) -> httpx.Timeout:
    """The client's timeouts, but a read may wait as long as the stream may stay silent."""
    usual = http.timeout
    return httpx.Timeout(connect=usual.connect, read=listen.read_timeout, write=usual.write,
                         pool=usual.pool)
