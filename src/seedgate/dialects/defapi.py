"""The defapi API (seed 002): `POST /api/video/seedance/gen`, `GET /api/task/query`.

Envelope `{code, message, data}` with code 0 on success and 1 on any error; the body holds
Ark-style `content` items (one text, up to nine `image_url`s referenced as @image1..@image9),
an integer `duration` of 5, 10 or 15 and a `ratio`. `consumed` is a decimal string and
`created_at` carries milliseconds.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar
from urllib.parse import urlsplit

from seedgate.clock import iso_utc_ms
from seedgate.dialects import upstream
from seedgate.dialects.common import HTTP_STATUS, not_an_object, renamed, status_names
from seedgate.domain.catalog import CATALOG, Mode
from seedgate.domain.errors import GatewayError, invalid, missing
from seedgate.domain.request import URL_SCHEMES, GenerationRequest, MediaInput, MediaKind, Role
from seedgate.domain.task import Task
from seedgate.domain.upstream import RemoteStatus, Unsupported, UpstreamError, UpstreamState
from seedgate.domain.webhooks import ENDINGS, Subscription

T = TypeVar("T")

NAME = "defapi"
DEFAULT_MODEL = "seedance-2.0"
DURATIONS = (5, 10, 15)
DEFAULT_DURATION = 5
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9")
DEFAULT_RATIO = "16:9"
MAX_IMAGES = 9
IMAGE_REFERENCE = re.compile(r"@image(\d+)", re.IGNORECASE)
PARAM_NAMES = {
    "inputs": "content", "prompt": "content", "ratio": "ratio", "duration": "duration",
    "model": "model",
}
STATUS = status_names("pending", "processing", "success", "failed")
REFERENCE_MODES = (Mode.REFERENCE_IMAGES, Mode.MULTIMODAL_REFERENCE)


def decode_create(body: Any) -> tuple[GenerationRequest, dict[str, Any]]:
    """The canonical request and the sanitized copy of what the client sent."""
    if not isinstance(body, dict):
        raise not_an_object()
    model = _model(body.get("model"))
    prompt, images = _content(body.get("content"))
    duration = _choice(body.get("duration"), "duration", DURATIONS, DEFAULT_DURATION)
    ratio = _choice(body.get("ratio"), "ratio", RATIOS, DEFAULT_RATIO)
    callback_url = _callback_url(body.get("callback_url"))
    request = GenerationRequest(
        model=model, prompt=prompt, inputs=_inputs(model, images), duration=duration,
        ratio=ratio,
    )
    content: list[dict[str, Any]] = [{"type": "text", "text": prompt}] if prompt else []
    content += [{"type": "image_url", "image_url": {"url": url}} for url in images]
    sanitized: dict[str, Any] = {
        "model": model, "content": content, "duration": duration, "ratio": ratio,
    }
    if callback_url is not None:
        sanitized["callback_url"] = callback_url
    return request, sanitized


def _model(value: Any) -> str:
    if value is None:
        return DEFAULT_MODEL
    if not isinstance(value, str) or not value.strip():
        raise invalid("model", "`model` must be a model name such as `seedance-2.0`.")
    return value


def _content(value: Any) -> tuple[str, tuple[str, ...]]:
    """The prompt and the image URLs, checked item by item so errors point at the item."""
    if value is None:
        raise missing("content")
    if not isinstance(value, list):
        raise invalid("content", "`content` must be an array of text and image_url items.")
    prompt: str | None = None
    images: list[str] = []
    for index, item in enumerate(value):
        where = f"content[{index}]"
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "text":
            text = item.get("text")
            if not isinstance(text, str):
                raise invalid(f"{where}.text", f"`{where}.text` must be a string.")
            if prompt is not None:
                raise invalid(where, f"`content` takes one text item; `{where}` is another.")
            prompt = text
        elif kind == "image_url":
            images.append(_image_url(item.get("image_url"), where))
        else:
            raise invalid(f"{where}.type", f"`{where}` must be an object whose `type` is "
                          "`text` or `image_url`.")
    if len(images) > MAX_IMAGES:
        raise invalid("content", f"`content` takes at most {MAX_IMAGES} images; "
                      f"it has {len(images)}.")
    prompt = prompt or ""
    if not prompt.strip() and not images:
        raise invalid("content", "`content` needs a text prompt or at least one image.")
    # Compared as text first: int() refuses strings of over 4300 digits.
    for number in sorted({int(n) if len(n) <= 9 else 10**9
                          for n in IMAGE_REFERENCE.findall(prompt)}):
        if not 1 <= number <= len(images):
            raise invalid("content", f"The text in `content` refers to @image{number}, but "
                          f"`content` has {len(images)} image(s) (@image1 to @image{MAX_IMAGES}"
                          " name them in order).")
    return prompt, tuple(images)


def _image_url(value: Any, where: str) -> str:
    url = value.get("url") if isinstance(value, dict) else None
    if not isinstance(url, str) or not url.startswith((*URL_SCHEMES, "data:image/")):
        raise invalid(f"{where}.image_url.url", f"`{where}.image_url.url` must be an http(s) "
                      "URL or a base64 data URL of an image.")
    return url


def _inputs(model: str, images: tuple[str, ...]) -> tuple[MediaInput, ...]:
    """Reference images for models that take them (Seedance 2.0); else first/last frames."""
    known = CATALOG.get(model)
    if known is None or any(mode in known.modes for mode in REFERENCE_MODES):
        roles = [Role.REFERENCE_IMAGE] * len(images)
    else:
        roles = [Role.FIRST_FRAME if i == 0 else Role.LAST_FRAME for i in range(len(images))]
    return tuple(
        MediaInput(MediaKind.IMAGE, url, role) for url, role in zip(images, roles, strict=True)
    )


def _choice(value: Any, name: str, choices: tuple[T, ...], default: T) -> T:
    """`value` if it is one of `choices` (of the default's type: 5.0 is not 5), else 400."""
    if value is None:
        return default
    if type(value) is not type(default) or value not in choices:
        listed = ", ".join(str(c) for c in choices)
        raise invalid(name, f"`{name}` must be one of {listed}; got {value!r}.")
    return value  # type: ignore[no-any-return]


def _callback_url(value: Any) -> str | None:
    if value is None:
        return None
    if not (isinstance(value, str) and value.startswith(URL_SCHEMES)
            and urlsplit(value).hostname):
        raise invalid("callback_url", f"`callback_url` must be an http(s) URL; got {value!r}.")
    return value


def encode_created(task: Task) -> dict[str, Any]:
    return {"code": 0, "message": "ok", "data": {"task_id": task.id}}


def encode_task(task: Task, urls: list[str]) -> dict[str, Any]:
    """The query `data`; `urls` are the task's output URLs, the video first."""
    return {
        "code": 0,
        "message": "ok",
        "data": {
            "task_id": task.id,
            "status": STATUS[task.status],
            "result": {"video": urls[0]} if urls else None,
            "consumed": f"{task.consumed_credits:.6f}",
            "status_reason": {"message": task.error_message},
            "created_at": iso_utc_ms(task.created_at),
        },
    }


def webhook_of(client_request: dict[str, Any]) -> Subscription | None:
    """`callback_url` receives the query `data` object once the task has ended."""
    url = client_request.get("callback_url")
    return Subscription(url, "callback_url", ENDINGS) if url else None


def encode_callback(task: Task, urls: list[str]) -> dict[str, Any]:
    return encode_task(task, urls)["data"]  # type: ignore[no-any-return]


def encode_error(error: GatewayError) -> tuple[int, dict[str, Any]]:
    error = renamed(error, PARAM_NAMES)
    return HTTP_STATUS[error.kind], {"code": 1, "message": error.message, "data": None}


# -- outbound: the gateway as a client of a defapi provider -----------------------------

UPSTREAM_STATES = {"pending": UpstreamState.QUEUED, "processing": UpstreamState.RUNNING,
                   "success": UpstreamState.SUCCEEDED, "failed": UpstreamState.FAILED}


def encode_create(request: GenerationRequest, model: str,
                  callback_url: str | None = None) -> dict[str, Any]:
    """The gen body. defapi has no resolution, audio switch, seed or draft: a request that
    needs other than the model's defaults there is `Unsupported`. Images are reference
    images for models that take them (Seedance 2.0), first and last frames otherwise."""
    known = CATALOG[request.model]
    if request.resolution != known.default_resolution or request.draft or (
            request.generate_audio != known.audio):
        raise Unsupported("defapi renders each model's default resolution and audio only")
    if request.duration not in DURATIONS or request.ratio not in RATIOS:
        raise Unsupported("defapi renders 5, 10 or 15 seconds at a fixed ratio only")
    if any(i.kind is not MediaKind.IMAGE for i in request.inputs):
        raise Unsupported("defapi takes images only")
    wanted = _inputs(request.model, tuple(image.url for image in request.images))
    if set(wanted) != set(request.inputs):
        raise Unsupported("defapi cannot express these image roles for this model")
    content: list[dict[str, Any]] = []
    if request.prompt:
        content.append({"type": "text", "text": request.prompt})
    content += [{"type": "image_url", "image_url": {"url": item.url}} for item in wanted]
    body: dict[str, Any] = {"model": model, "content": content, "duration": request.duration,
                            "ratio": request.ratio}
    if callback_url is not None:
        body["callback_url"] = callback_url
    return body


def decode_created(body: Any) -> str:
    return upstream.envelope_id(body, "task_id")


def decode_status(body: Any) -> RemoteStatus:
    data = upstream.envelope_data(body)
    state = upstream.state(UPSTREAM_STATES, data.get("status"))
    if state is UpstreamState.SUCCEEDED:
        result = upstream.mapping(data.get("result"), "`data.result`")
        return RemoteStatus(state, 100, video_url=upstream.text(result.get("video"),
                                                                "`data.result.video`"))
    if state is UpstreamState.FAILED:
        reason = data.get("status_reason")
        message = reason.get("message") if isinstance(reason, dict) else None
        return upstream.failed(None, message)
    return RemoteStatus(state)


def decode_error(status: int, body: Any) -> UpstreamError:
    message = body.get("message") if isinstance(body, dict) else None
    return upstream.http_error(status, None, message)
