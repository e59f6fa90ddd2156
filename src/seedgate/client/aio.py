"""`AsyncClient`: the client for asyncio code; every method of `Client`, awaited."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
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


class AsyncClient(ClientCore):
    """As `Client` (see there), for asyncio: `async with AsyncClient() as client:`.
    `on_update` callbacks are plain functions, called in the event loop."""

    http_type = httpx.AsyncClient
    _http: httpx.AsyncClient

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create(self, prompt: str, **options: Unpack[VideoOptions]) -> Video:
        return await self._run(self._operations.create(prompt, options))

    async def generate(self, prompt: str, *, on_update: OnUpdate | None = None,
                       timeout: float | None = None, **options: Unpack[VideoOptions]) -> Video:
        return await self._run(self._operations.generate(
            prompt, options, on_update=on_update, timeout=timeout, events=self._events))

    async def wait(self, video_id: str, *, on_update: OnUpdate | None = None,
                   timeout: float | None = None) -> Video:
        return await self._run(self._operations.wait(
            video_id, on_update=on_update, timeout=timeout, events=self._events))

    async def retrieve(self, video_id: str) -> Video:
        return await self._run(self._operations.retrieve(video_id))

    async def cancel(self, video_id: str) -> Video:
        return await self._run(self._operations.cancel(video_id))

    async def download(self, video_id: str, target: Path | str | None = None, *,
                       variant: str = "video") -> Path:
        return await self._run(self._operations.download(video_id, target, variant))

    async def list(self, *, status: str | Sequence[str] | None = None,
                   model: str | None = None, order: str = "desc",
                   page_size: int = 100) -> AsyncIterator[Video]:
        after = None
        while True:
            page = await self._run(self._operations.page(
                status=status, model=model, order=order, limit=page_size, after=after))
            for video in page.videos:
                yield video
            if not page.has_more or not page.videos:
                return
            after = page.videos[-1].id

    async def _run(self, operation: Operation[T]) -> T:
        step = Step(operation)
        while step.pending is not None:
            try:
                await self._perform(step)
            except httpx.TransportError as error:
                if step.pending is None:  # the operation gave up and raised it
                    raise
                step.fail(error)
        return step.value

    async def _perform(self, step: Step[Any]) -> None:
        match step.pending:
            case steps.Call() as call:
                step.advance(await self._http.send(steps.build_request(self._http, call)))
            case steps.Save() as save:
                step.advance(await self._save(save))
            case steps.Listen() as listen:
                await self._listen(listen, step)
            case steps.Pause(seconds=seconds):
                await asyncio.sleep(seconds)
                step.advance(None)

    async def _save(self, save: steps.Save) -> httpx.Response:
        async with self._http.stream("GET", save.path, params=save.params) as response:
            if not response.is_success:
                await response.aread()
                return response
            with save.target.open("wb") as file:
                async for chunk in response.aiter_bytes():
                    file.write(chunk)
        return response

    async def _listen(self, listen: steps.Listen, step: Step[Any]) -> None:
        async with self._http.stream("GET", listen.path, headers=steps.LISTEN_HEADERS,
                                     timeout=steps.listen_timeout(self._http, listen)) as response:
            if not steps.is_event_stream(response):
                await response.aread()
                step.advance(response)
                return
            async with contextlib.aclosing(EventSource(response).aiter_sse()) as events:
                async for event in events:
                    step.advance(event)
                    if step.pending is not steps.NEXT:
                        return
        step.advance(None)
