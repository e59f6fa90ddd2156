"""`Client`: the blocking client."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from httpx_sse import EventSource

from seedgate.client import steps
from seedgate.client.connection import ClientCore
from seedgate.client.models import Video
from seedgate.client.operations import OnUpdate, VideoOptions
from seedgate.client.steps import Operation, Step

if TYPE_CHECKING:
    from typing_extensions import Unpack

T = TypeVar("T")


class Client(ClientCore):
    """A client of a seedgate gateway (its native API, `/v1/videos`).

    `base_url` and `api_key` default to `SEEDGATE_BASE_URL` (else http://127.0.0.1:8000)
    and `SEEDGATE_API_KEY`. Waits follow the video's event stream, or poll with
    `events=False` or where there is no stream. Requests are retried `max_retries` times
    on connection errors, 429 and 5xx (creates carry an Idempotency-Key, so a retried
    create never makes a second video).
    """

    http_type = httpx.Client
    _http: httpx.Client

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def create(self, prompt: str, **options: Unpack[VideoOptions]) -> Video:
        """Submit a video; it comes back queued."""
        return self._run(self._operations.create(prompt, options))

    def generate(self, prompt: str, *, on_update: OnUpdate | None = None,
                 timeout: float | None = None, **options: Unpack[VideoOptions]) -> Video:
        """Submit a video and wait until it is done; VideoFailed if it did not complete.
        `on_update` is called with the video each time its status, progress or queue
        position changes."""
        return self._run(self._operations.generate(prompt, options, on_update=on_update,
                                                   timeout=timeout, events=self._events))

    def wait(self, video_id: str, *, on_update: OnUpdate | None = None,
             timeout: float | None = None) -> Video:
        """The video once it has ended, whether it succeeded or not; WaitTimeout after
        `timeout` seconds."""
        return self._run(self._operations.wait(video_id, on_update=on_update,
                                               timeout=timeout, events=self._events))

    def retrieve(self, video_id: str) -> Video:
        return self._run(self._operations.retrieve(video_id))

    def cancel(self, video_id: str) -> Video:
        """Cancel a queued video (its credits are refunded); ApiError 409 once it runs."""
        return self._run(self._operations.cancel(video_id))

    def download(self, video_id: str, target: Path | str | None = None, *,
                 variant: str = "video") -> Path:
        """Save the finished video (or, `variant="thumbnail"`, its last frame as PNG) at
        `target`, by default `<video id>.mp4` here; returns where."""
        return self._run(self._operations.download(video_id, target, variant))

    def list(self, *, status: str | Sequence[str] | None = None, model: str | None = None,
             order: str = "desc", page_size: int = 100) -> Iterator[Video]:
        """This key's videos, newest first (`order="asc"`: oldest first), page by page."""
        after = None
        while True:
            page = self._run(self._operations.page(status=status, model=model, order=order,
                                                   limit=page_size, after=after))
            yield from page.videos
            if not page.has_more or not page.videos:
                return
            after = page.videos[-1].id

    def _run(self, operation: Operation[T]) -> T:
        step = Step(operation)
        while step.pending is not None:
            try:
                self._perform(step)
            except httpx.TransportError as error:
                if step.pending is None:  # the operation gave up and raised it
                    raise
                step.fail(error)
        return step.value

    def _perform(self, step: Step[Any]) -> None:
        match step.pending:
            case steps.Call() as call:
                step.advance(self._http.send(steps.build_request(self._http, call)))
            case steps.Save() as save:
                step.advance(self._save(save))
            case steps.Listen() as listen:
                self._listen(listen, step)
            case steps.Pause(seconds=seconds):
                time.sleep(seconds)
                step.advance(None)

    def _save(self, save: steps.Save) -> httpx.Response:
        with self._http.stream("GET", save.path, params=save.params) as response:
            if not response.is_success:
                response.read()
                return response
            with save.target.open("wb") as file:
                for chunk in response.iter_bytes():
                    file.write(chunk)
        return response

    def _listen(self, listen: steps.Listen, step: Step[Any]) -> None:
        with self._http.stream("GET", listen.path, headers=steps.LISTEN_HEADERS,
                               timeout=steps.listen_timeout(self._http, listen)) as response:
            if not steps.is_event_stream(response):
                response.read()
                step.advance(response)
                return
            for event in EventSource(response).iter_sse():
                step.advance(event)
                if step.pending is not steps.NEXT:
                    return
        step.advance(None)
