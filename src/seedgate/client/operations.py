"""What the client does, written once for both clients (see `steps.py`): create, wait (the
event stream, falling back to polling), download, list, cancel, and retries."""

from __future__ import annotations

import base64
import email.utils
import json
import mimetypes
import random
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import quote

import httpx
from httpx_sse import ServerSentEvent

from seedgate.client.models import ApiError, Page, Video, VideoFailed, WaitTimeout
from seedgate.client.steps import NEXT, Call, Listen, Operation, Pause, Save

Image = str | Path
OnUpdate = Callable[[Video], object]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_S, BACKOFF_MAX_S, RETRY_AFTER_MAX_S = 0.5, 8.0, 60.0
POLL_S = 1.0
# The gateway sends a keep-alive every 15 s: a stream silent for longer is broken.
STREAM_SILENCE_S = 45.0
RECONNECT_S = 1.0
FRAME_ROLES = ("first_frame", "last_frame")
URL_PREFIXES = ("http://", "https://", "data:")
SUFFIXES = {"video": ".mp4", "thumbnail": ".png"}
FIELDS = {"model": "model", "seconds": "seconds", "ratio": "ratio", "resolution": "resolution",
          "audio": "generate_audio", "seed": "seed", "camera_fixed": "camera_fixed",
          "watermark": "watermark"}


class VideoOptions(TypedDict, total=False):
    """A video's parameters besides its prompt (the native API's `POST /v1/videos`)."""

    model: str
    seconds: int
    ratio: str
    resolution: str
    audio: bool
    images: Sequence[Image]  # the first frame, then the last: URLs or local files
    seed: int
    camera_fixed: bool
    watermark: bool
    webhook: str  # an http(s) URL that gets the video's events, signed
    webhook_events: Sequence[str]  # default: the endings (video.completed, video.failed...)
    idempotency_key: str  # default: a new one, so that retried creates cannot duplicate


def create_call(prompt: str, options: VideoOptions) -> Call:
    """`POST /v1/videos`: JSON, or a form when a local first frame is uploaded with it.
    A local last frame travels inline as a data URL (the API takes one uploaded file)."""
    fields: dict[str, Any] = {"prompt": prompt}
    for name, field in FIELDS.items():
        if options.get(name) is not None:
            fields[field] = options[name]  # type: ignore[literal-required]
    upload, inputs = _frames(options.get("images", ()))
    if inputs:
        fields["inputs"] = inputs
    if options.get("webhook"):
        fields["webhook"] = {"url": options["webhook"]}
        if options.get("webhook_events"):
            fields["webhook"]["events"] = list(options["webhook_events"])
    headers = {"idempotency-key": options.get("idempotency_key") or uuid.uuid4().hex}
    if upload is None:
        return Call("POST", "/v1/videos", json=fields, headers=headers)
    form = {name: _form_value(value) for name, value in fields.items()}
    return Call("POST", "/v1/videos", data=form, files={"input_reference": upload},
                headers=headers)


def _frames(images: Sequence[Image]) -> tuple[tuple[str, bytes, str] | None,
                                                list[dict[str, str]]]:
    if len(images) > len(FRAME_ROLES):
        raise ValueError("at most two images: the first frame, then the last frame")
    upload, inputs = None, []
    for role, image in zip(FRAME_ROLES, images, strict=False):
        if isinstance(image, str) and image.startswith(URL_PREFIXES):
            inputs.append({"type": "image", "url": image, "role": role})
        elif role == "first_frame":
            upload = _image_file(Path(image))
        else:
            _, data, mime = _image_file(Path(image))
            inputs.append({"type": "image", "role": role,
                           "url": f"data:{mime};base64,{base64.b64encode(data).decode()}"})
    return upload, inputs


def _image_file(path: Path) -> tuple[str, bytes, str]:
    mime = mimetypes.guess_type(path.name)[0] or ""
    if not mime.startswith("image/"):
        raise ValueError(f"{path} is not an image file (JPEG, PNG or WebP)")
    return path.name, path.read_bytes(), mime


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


class Operations:
    """The operations; every request is retried `retries` times on connection errors, 429
    and 5xx, with exponential backoff and jitter, waiting at least what Retry-After says."""

    def __init__(self, retries: int) -> None:
        self.retries = retries

    def answer(self, step: Call | Save) -> Operation[httpx.Response]:
        """The successful answer to `step`; ApiError when the gateway refuses it."""
        attempt = 0
        while True:
            try:
                response: httpx.Response = yield step
            except httpx.TransportError:
                if attempt >= self.retries:
                    raise
                delay = _backoff(attempt)
            else:
                if response.is_success:
                    return response
                if attempt >= self.retries or response.status_code not in RETRY_STATUSES:
                    raise ApiError.from_response(response)
                delay = max(_backoff(attempt), _retry_after(response))
            attempt += 1
            yield Pause(delay)

    def video(self, call: Call) -> Operation[Video]:
        return Video.from_json((yield from self.answer(call)).json())

    def create(self, prompt: str, options: VideoOptions) -> Operation[Video]:
        return (yield from self.video(create_call(prompt, options)))

    def retrieve(self, video_id: str) -> Operation[Video]:
        return (yield from self.video(Call("GET", _path(video_id))))

    def cancel(self, video_id: str) -> Operation[Video]:
        return (yield from self.video(Call("POST", _path(video_id, "cancel"))))

    def page(self, *, status: str | Sequence[str] | None, model: str | None, order: str,
             limit: int, after: str | None) -> Operation[Page]:
        params = {"order": order, "limit": str(limit)}
        if status:
            params["status"] = status if isinstance(status, str) else ",".join(status)
        if model:
            params["model"] = model
        if after:
            params["after"] = after
        body = (yield from self.answer(Call("GET", "/v1/videos", params=params))).json()
        return Page([Video.from_json(item) for item in body["data"]], body["has_more"])

    def generate(self, prompt: str, options: VideoOptions, *, on_update: OnUpdate | None,
                 timeout: float | None, events: bool) -> Operation[Video]:
        """Create, then wait; VideoFailed unless the video completed."""
        created = yield from self.create(prompt, options)
        video = yield from self.wait(created.id, on_update=on_update, timeout=timeout,
                                     events=events, first=created)
        if not video.succeeded:
            raise VideoFailed(video)
        return video

    def wait(self, video_id: str, *, on_update: OnUpdate | None, timeout: float | None,
             events: bool, first: Video | None = None) -> Operation[Video]:
        """The video once it has ended (whether it succeeded or not). Follows its event
        stream; polls where there is none (an older gateway, a proxy without the route)
        or when it broke off without telling anything."""
        watch = _Watch(video_id, on_update, timeout)
        if first is not None and watch.saw(first).finished:
            return first
        if events:
            video = yield from self._follow(watch)
            if video is not None:
                return video
        return (yield from self._poll(watch))

    def _follow(self, watch: _Watch) -> Operation[Video | None]:
        while True:
            heard = False
            try:
                outcome = yield Listen(_path(watch.video_id, "events"),
                                       watch.time_left(STREAM_SILENCE_S))
                if isinstance(outcome, httpx.Response):
                    return None
                while isinstance(outcome, ServerSentEvent):
                    if outcome.event == "video":
                        heard = True
                        if (video := watch.saw(Video.from_json(outcome.json()))).finished:
                            return video
                    watch.check()
                    outcome = yield NEXT
            except httpx.TransportError:
                pass
            watch.check()
            if not heard:
                return None
            yield Pause(watch.time_left(RECONNECT_S))  # it broke off: reconnect

    def _poll(self, watch: _Watch) -> Operation[Video]:
        while True:
            response = yield from self.answer(Call("GET", _path(watch.video_id)))
            if (video := watch.saw(Video.from_json(response.json()))).finished:
                return video
            watch.check()
            yield Pause(watch.time_left(_poll_after(response)))

    def download(self, video_id: str, target: Path | str | None,
                 variant: str) -> Operation[Path]:
        """The video (or its last frame, `thumbnail`) saved at `target` (default: the
        video's id), written under a temporary name first: a file there is complete."""
        path = Path(target) if target else Path(f"{video_id}{SUFFIXES[variant]}")
        partial = path.with_name(f".{path.name}.part")
        try:
            yield from self.answer(Save(_path(video_id, "content"), {"variant": variant},
                                        partial))
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(path)
        return path


class _Watch:
    """A wait in progress: reports each change once, and keeps the deadline."""

    def __init__(self, video_id: str, on_update: OnUpdate | None,
                 timeout: float | None) -> None:
        self.video_id = video_id
        self._on_update = on_update
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._last: Video | None = None

    def saw(self, video: Video) -> Video:
        if self._on_update is not None and (self._last is None or _state(video) != _state(
                self._last)):
            self._on_update(video)
        self._last = video
        return video

    def time_left(self, most: float) -> float:
        if self._deadline is None:
            return most
        return max(0.05, min(most, self._deadline - time.monotonic()))

    def check(self) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise WaitTimeout(self._last, self.video_id)


def _state(video: Video) -> tuple[str, int, int | None]:
    return video.status, video.progress, video.queue_position


def _path(video_id: str, *rest: str) -> str:
    return "/".join(("/v1/videos", quote(video_id, safe=""), *rest))


def _backoff(attempt: int) -> float:
    return min(BACKOFF_MAX_S, BACKOFF_S * 2 ** attempt) * random.uniform(1.0, 1.25)


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return 0.0
    return min(RETRY_AFTER_MAX_S, max(0.0, seconds))


def _poll_after(response: httpx.Response) -> float:
    try:
        return int(response.headers["openai-poll-after-ms"]) / 1000
    except (KeyError, ValueError):
        return POLL_S
