"""The built-in simulator: a local stand-in for an upstream that renders real MP4 files.

Jobs live in a directory each (`job.json`, then `video.mp4` or `.mov`, or `error.json`), so any
process can poll them and a worker restarted after a crash can tell a finished job from an
orphaned one: the process rendering a job holds an advisory lock on its `lock` file, which
the kernel releases when that process dies.

Prompt triggers let client developers exercise their error paths:

- `@sim:content_violation` fails the task as a content-safety rejection;
- `@sim:internal_error` fails it with a provider-side error;
- `@sim:delay=N` makes this one task take N seconds.

An edit renders a clip of its source video's length and shape (the source is fetched and
probed); an extend renders only the new segment, of the requested duration, in the
source's shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import random
import re
import secrets
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from seedgate.domain.catalog import ADAPTIVE, CATALOG, MP4, TaskType, closest_ratio
from seedgate.domain.errors import FailureCode
from seedgate.domain.pricing import tokens_of
from seedgate.domain.request import GenerationRequest
from seedgate.domain.task import Rendition, Task
from seedgate.media.images import UnsupportedImage, load_image
from seedgate.media.inputs import MAX_VIDEO_BYTES, InputError, InputFetcher
from seedgate.media.probe import InvalidMedia, MediaInfo, probe_bytes
from seedgate.media.render import RenderSpec
from seedgate.providers.base import UpstreamResult, UpstreamState, UpstreamStatus

log = logging.getLogger(__name__)

TRIGGER = re.compile(r"@sim:([a-z_]+)(?:=(\d+(?:\.\d+)?))?")
FAILURES = {
    "content_violation": (
        FailureCode.CONTENT_VIOLATION,
        "The generated video was rejected by the content safety system (simulated).",
    ),
    "internal_error": (
        FailureCode.INTERNAL_ERROR,
        "The provider had an internal error while generating (simulated).",
    ),
}
AUTO_DURATION = 5


class _BadSource(Exception):
    """The source video of an edit or extend cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Triggers:
    failure: tuple[FailureCode, str] | None
    delay_s: float | None

    @classmethod
    def parse(cls, prompt: str) -> Triggers:
        failure = None
        delay = None
        for name, value in TRIGGER.findall(prompt):
            if name in FAILURES:
                failure = FAILURES[name]
            elif name == "delay" and value:
                delay = float(value)
        return cls(failure, delay)


class SimulatorProvider:
    name = "simulator"
    remote = False
    callbacks = False

    def __init__(
        self, root: Path, *, latency_s: float, render_processes: int, inputs: InputFetcher,
        executes: bool = True,
    ) -> None:
        self.root = root
        self.latency_s = latency_s
        self.executes = executes
        self._render_slots = asyncio.Semaphore(render_processes)
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._inputs = inputs  # an input it cannot use fails the task with INVALID_IMAGE_URL
        root.mkdir(parents=True, exist_ok=True)

    # -- Provider -------------------------------------------------------------------

    def serves(self, model_id: str) -> bool:
        return True  # every catalog model

    def accepts(self, request: GenerationRequest) -> bool:
        return True  # every option

    async def submit(self, task: Task, callback_url: str | None = None) -> str:
        """Start a job; the simulator has no callbacks (polling it is free)."""
        job_id = f"{task.id}.{secrets.token_hex(4)}"
        triggers = Triggers.parse(task.request.prompt)
        latency = self.latency_s if triggers.delay_s is None else triggers.delay_s
        await asyncio.to_thread(self._create_job, job_id, task, latency, triggers)
        if triggers.failure is None and self.executes:
            self._start(job_id, task.request)
        return job_id

    def _create_job(self, job_id: str, task: Task, latency: float, triggers: Triggers) -> None:
        job = self.root / job_id
        job.mkdir()
        (job / "lock").touch()
        _write_json(job / "job.json", {
            "task_id": task.id, "request": task.request.to_json(),
            "submitted_at": time.time(), "latency_s": latency,
        })
        if triggers.failure:
            code, message = triggers.failure
            _write_json(job / "error.json", {"code": code.value, "message": message})

    async def poll(self, upstream_id: str) -> UpstreamStatus:
        job = self.root / upstream_id
        try:
            spec = orjson.loads((job / "job.json").read_bytes())
        except (FileNotFoundError, NotADirectoryError, orjson.JSONDecodeError):
            return UpstreamStatus(UpstreamState.LOST)
        elapsed = time.time() - spec["submitted_at"]
        latency = spec["latency_s"]
        progress = 99 if latency <= 0 else min(99, int(100 * elapsed / latency))
        if elapsed < latency:
            return UpstreamStatus(UpstreamState.RUNNING, progress)
        if (job / "error.json").exists():
            error = orjson.loads((job / "error.json").read_bytes())
            return UpstreamStatus(
                UpstreamState.FAILED, error_code=FailureCode(error["code"]),
                error_message=error["message"],
            )
        if (job / "result.json").exists():
            return UpstreamStatus(UpstreamState.SUCCEEDED, 100, result=_result(job))
        if upstream_id in self._jobs or _locked(job / "lock"):
            return UpstreamStatus(UpstreamState.RUNNING, progress)
        return UpstreamStatus(UpstreamState.LOST)

    async def cancel(self, upstream_id: str) -> None:
        running = self._jobs.pop(upstream_id, None)
        if running is not None:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await running
        await asyncio.to_thread(shutil.rmtree, self.root / upstream_id, True)

    # -- rendering ------------------------------------------------------------------

    def _start(self, job_id: str, request: GenerationRequest) -> None:
        self._jobs[job_id] = asyncio.create_task(self._run(job_id, request), name=job_id)

    async def _run(self, job_id: str, request: GenerationRequest) -> None:
        job = self.root / job_id
        lock = os.open(job / "lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            # Blocking: a poller may hold the lock for an instant while it probes it.
            await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
            try:
                spec, ratio, source_s = await self._spec(request)
                await self._render(job, spec)
                rendition = Rendition(spec.width, spec.height, spec.duration_s, ratio, spec.seed,
                                      spec.audio)
                # With a source video, billed as Ark bills it: its seconds count too.
                tokens = tokens_of(spec.width, spec.height, source_s + spec.duration_s) \
                    if source_s else None
                _write_json(job / "result.json", {"rendition": asdict(rendition),
                                                  "video": f"video.{spec.container}",
                                                  "tokens": tokens})
            except (InputError, UnsupportedImage) as exc:
                _write_json(job / "error.json",
                            {"code": FailureCode.INVALID_IMAGE_URL.value, "message": str(exc)})
            except _BadSource as exc:
                _write_json(job / "error.json",
                            {"code": FailureCode.INVALID_INPUT.value, "message": str(exc)})
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("simulated render of %s failed", job_id)
                _write_json(job / "error.json", {
                    "code": FailureCode.INTERNAL_ERROR.value,
                    "message": "The simulator could not render the video.",
                })
        finally:
            os.close(lock)
            self._jobs.pop(job_id, None)

    async def _render(self, job: Path, spec: RenderSpec) -> None:
        """Render in a child process (another core, and killable).

        The last frame is always kept: it is the thumbnail, whether or not the client asked
        for `return_last_frame` (which only decides whether its URL is shown)."""
        names = [f"image{i}" for i in range(len(spec.images))]
        for name, data in zip(names, spec.images, strict=True):
            (job / name).write_bytes(data)
        _write_json(job / "render.json", {
            "prompt": spec.prompt, "width": spec.width, "height": spec.height,
            "duration_s": spec.duration_s, "fps": spec.fps, "audio": spec.audio,
            "seed": spec.seed, "container": spec.container, "image_files": names,
            "last_frame": True,
        })
        async with self._render_slots:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "seedgate.media.render_job", str(job),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                _, stderr = await child.communicate()
            except asyncio.CancelledError:
                child.kill()
                await child.wait()
                raise
        if child.returncode != 0:
            raise RuntimeError(f"renderer exited with {child.returncode}: "
                               f"{stderr.decode(errors='replace')[-2000:]}")

    async def _spec(self, request: GenerationRequest) -> tuple[RenderSpec, str, int]:
        """What to render, the ratio it has (`adaptive` resolved) and the whole seconds of
        its source video (0 without one)."""
        images = [await self._inputs.fetch(item.url) for item in request.images[:2]]
        sizes = [await asyncio.to_thread(lambda data=data: load_image(data).size)
                 for data in images]
        source = await self._source(request)
        ratio = request.ratio or "16:9"
        if source is not None and (ratio == ADAPTIVE or request.task_type == TaskType.EDIT):
            ratio = closest_ratio(source.width, source.height)
        elif ratio == ADAPTIVE:
            ratio = closest_ratio(*sizes[0]) if sizes else "16:9"
        model = CATALOG[request.model]
        assert request.resolution is not None and request.duration is not None
        width, height = model.pixel_size(request.resolution, ratio)
        duration = AUTO_DURATION if request.duration == -1 else request.duration
        if source is not None and request.task_type == TaskType.EDIT:
            duration = max(1, round(source.duration_s))
        seed = random.randrange(2**32) if request.seed == -1 else request.seed
        spec = RenderSpec(
            prompt=request.prompt, width=width, height=height, duration_s=duration,
            audio=bool(request.generate_audio), images=tuple(images), seed=seed,
            container=request.output_format or MP4,
        )
        return spec, ratio, round(source.duration_s) if source is not None else 0

    async def _source(self, request: GenerationRequest) -> MediaInfo | None:
        """The probed source video of an edit or extend (None for other requests)."""
        item = request.source_video
        if item is None:
            return None
        try:
            data = await self._inputs.fetch(item.url, max_bytes=MAX_VIDEO_BYTES)
        except InputError as exc:
            raise _BadSource(f"The source video could not be read: {exc}") from exc
        try:
            return await asyncio.to_thread(probe_bytes, data)
        except InvalidMedia as exc:
            raise _BadSource(f"The source video is not a playable video: {exc}") from exc

    async def close(self) -> None:
        for job in list(self._jobs.values()):
            job.cancel()
        await asyncio.gather(*self._jobs.values(), return_exceptions=True)


def _result(job: Path) -> UpstreamResult:
    meta = orjson.loads((job / "result.json").read_bytes())
    return UpstreamResult(
        video=job / meta.get("video", "video.mp4"), rendition=Rendition(**meta["rendition"]),
        last_frame=job / "last_frame.png", tokens=meta.get("tokens"),
    )


def _locked(path: Path) -> bool:
    """Whether some process holds the job's render lock."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _write_json(path: Path, data: Any) -> None:
    """Write atomically, so a reader never sees half a file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(data))
    os.replace(tmp, path)
