"""Mirroring: a remote provider's result is copied into the gateway before the task shows
success, so clients only ever see the gateway's own signed URLs.

The video is streamed to disk with a size cap, then checked with PyAV (an MP4 or MOV whose
every frame decodes); failures are retried with exponential backoff. The last frame is a bonus
(the thumbnail): when it cannot be fetched the task succeeds without it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from seedgate.domain.catalog import ADAPTIVE, CATALOG, closest_ratio
from seedgate.domain.task import Rendition, Task
from seedgate.domain.upstream import RemoteStatus
from seedgate.media.images import MAX_IMAGE_BYTES, UnsupportedImage, load_image
from seedgate.media.probe import InvalidMedia, MediaInfo, probe_video
from seedgate.providers.base import UpstreamResult
from seedgate.providers.client import UpstreamClient

log = logging.getLogger(__name__)

CONTAINERS = ("mp4", "mov")
CHUNK = 1 << 16


class MirrorFailed(Exception):
    """The result could not be copied, for good: the task fails and is refunded."""


class _Retry(Exception):
    """One download went wrong in a way another try may fix."""


class Mirror:
    def __init__(
        self, http: UpstreamClient, root: Path, *, max_bytes: int, attempts: int,
        timeout_s: float = 600.0, backoff_s: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._root = root
        self._max_bytes = max_bytes
        self._attempts = attempts
        self._timeout_s = timeout_s
        self._backoff_s = backoff_s
        self._sleep = sleep

    async def fetch(self, task: Task, remote: RemoteStatus) -> UpstreamResult:
        """Download and check the result into a directory of the task's own."""
        if not remote.video_url:
            raise MirrorFailed("The provider reported success without a video URL.")
        directory = self._root / task.id
        await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
        download = directory / "video.download"
        info = await self._video(remote.video_url, download)
        video = download.with_name(f"video.{info.container}")  # stored under its own suffix
        await asyncio.to_thread(download.replace, video)
        frame = directory / "last_frame.png"
        if not (remote.last_frame_url and await self._frame(remote.last_frame_url, frame)):
            frame = None
        return UpstreamResult(video, _rendition(task, remote, info), frame,
                              tokens=remote.completion_tokens, resolution=remote.resolution)

    def discard(self, task: Task) -> None:
        shutil.rmtree(self._root / task.id, ignore_errors=True)

    async def _video(self, url: str, target: Path) -> MediaInfo:
        problem = "no attempt was made"
        for attempt in range(self._attempts):
            if attempt:
                await self._sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                await self._download(url, target, self._max_bytes)
                info = await asyncio.to_thread(probe_video, target)
            except _Retry as exc:
                problem = str(exc)
                continue
            except InvalidMedia as exc:
                problem = f"the file is not a playable video ({exc})"
                continue
            if info.container not in CONTAINERS:
                raise MirrorFailed(f"The provider's result is a {info.container} file, not "
                                   "an MP4 or MOV video.")
            return info
        raise MirrorFailed(f"The provider's video could not be copied after "
                           f"{self._attempts} tries: {problem}.")

    async def _frame(self, url: str, target: Path) -> bool:
        try:
            await self._download(url, target, MAX_IMAGE_BYTES)
            await asyncio.to_thread(lambda: load_image(target.read_bytes()))
        except (_Retry, MirrorFailed, UnsupportedImage) as exc:
            log.warning("the last frame at the provider could not be copied: %s", exc)
            return False
        return True

    async def _download(self, url: str, target: Path, max_bytes: int) -> None:
        """Stream `url` into `target`; larger than `max_bytes` is a failure for good."""
        try:
            async with asyncio.timeout(self._timeout_s), self._http.stream(
                    "GET", url, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise _Retry(f"the result URL answered HTTP {response.status_code}")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise MirrorFailed(f"The result is larger than {max_bytes} bytes.")
                await self._save(response, target, max_bytes)
        except TimeoutError as exc:
            raise _Retry("the download took too long") from exc
        except httpx.HTTPError as exc:
            raise _Retry(f"the download failed ({type(exc).__name__})") from exc

    async def _save(self, response: httpx.Response, target: Path, max_bytes: int) -> None:
        size = 0
        with target.open("wb") as out:
            async for chunk in response.aiter_bytes(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise MirrorFailed(f"The result is larger than {max_bytes} bytes.")
                out.write(chunk)


def _rendition(task: Task, remote: RemoteStatus, info: MediaInfo) -> Rendition:
    """What was actually rendered: sizes and audio as probed, the rest as asked (or as the
    provider reported, for the seed)."""
    request, model = task.request, CATALOG[task.model]
    duration = min(max(round(info.duration_s), model.min_duration), model.max_duration)
    ratio = request.ratio if request.ratio not in (None, ADAPTIVE) else closest_ratio(
        info.width, info.height)
    seed = remote.seed if remote.seed is not None else request.seed
    return Rendition(info.width, info.height, duration, str(ratio), seed,
                     info.audio_codec is not None)
