"""The apixo API (seed 003): `POST /api/v1/generateTask/{model}`, `GET /api/v1/statusTask/{model}`.

The model is part of the path; the body is an envelope `{request_type, callback_url,
provider, input}` whose `input` differs between Seedance 1.5 Pro (modes text-to-video and
image-to-video, `fixed_lens`, `sound` required) and Seedance 2.0 / 2.0 Fast (modes
text-to-video, first_and_last_frames and omni_reference with reference videos and audio).
Replies use the envelope `{code, message, data}`; a task's states are pending, processing,
success and failed, and `resultJson` is a JSON-encoded string, as apixo documents it.

Where the documents are silent:
- an image-to-video request without `aspect_ratio` follows its first image (adaptive), as
  the upstream does; the documented default `1:1` applies to text-to-video;
- `aspect_ratio: "auto"` becomes adaptive, except with omni_reference, where the upstream
  has no adaptive ratio and the gateway's default ratio is used;
- unknown `input` fields are ignored, and JSON `null` counts as absent.
"""

from __future__ import annotations

import json
from typing import Any

from seedgate.dialects import upstream
from seedgate.dialects.common import HTTP_STATUS, not_an_object, renamed, status_names
from seedgate.domain.catalog import ADAPTIVE, CATALOG, RATIOS
from seedgate.domain.errors import ErrorKind, GatewayError, invalid
from seedgate.domain.request import (
    URL_SCHEMES,
    GenerationRequest,
    MediaInput,
    MediaKind,
    Role,
)
from seedgate.domain.task import Task, TaskStatus
from seedgate.domain.upstream import RemoteStatus, Unsupported, UpstreamError, UpstreamState
from seedgate.domain.webhooks import ENDINGS, Subscription

NAME = "apixo"
V1_5 = "seedance-1-5-pro"
# The models apixo publishes; the later 2.x models are served under their canonical ids
# (apixo has published no names for them), inbound only.
PUBLISHED = (V1_5, "seedance-2-0", "seedance-2-0-fast")
LATER = ("seedance-2-0-mini", "seedance-2-5", "seedance-2-5-premium")
RESOLUTIONS = {V1_5: ("480p", "720p"), "seedance-2-0": ("480p", "720p", "1080p"),
               "seedance-2-0-fast": ("480p", "720p"),
               **{name: CATALOG[name].resolutions for name in LATER}}
DURATIONS = {V1_5: (4, 12), "seedance-2-0": (4, 15), "seedance-2-0-fast": (4, 15),
             **{name: (CATALOG[name].min_duration, CATALOG[name].max_duration)
                for name in LATER}}
REQUEST_TYPES = ("async", "callback")
PROVIDERS = ("auto", "value", "official")
TEXT = "text-to-video"
IMAGE = "image-to-video"
FRAMES = "first_and_last_frames"
OMNI = "omni_reference"
MODES = {V1_5: (TEXT, IMAGE), **dict.fromkeys(PUBLISHED[1:] + LATER, (TEXT, FRAMES, OMNI))}
V1_5_PROMPT_CHARS = (3, 2500)
V1_5_DEFAULT_RATIO = "1:1"
AUTO = "auto"
MAX_FRAMES = 2
PARAM_NAMES = {
    "prompt": "input.prompt", "inputs": "input.image_urls", "duration": "input.duration",
    "ratio": "input.aspect_ratio", "resolution": "input.resolution",
    "generate_audio": "input.sound", "camera_fixed": "input.fixed_lens", "task_id": "taskId",
    "tools": "input.web_search",
}
STATE = status_names("pending", "processing", "success", "failed")
# apixo answers an unknown model with 404, not with the 400 of an invalid parameter.
STATUS = {**HTTP_STATUS, ErrorKind.MODEL_NOT_FOUND: 404}
TITLES = {
    400: "Invalid request", 401: "Unauthorized", 402: "Insufficient balance",
    403: "Forbidden", 404: "Not found", 409: "Conflict", 410: "Gone", 429: "Too many requests",
    500: "Internal server error", 503: "Service unavailable",
}
DEFAULT_FAIL_CODE = "GENERATION_FAILED"


def required(name: str) -> GatewayError:
    """apixo's wording for a missing field, e.g. `Missing required field: input.prompt`."""
    return GatewayError(ErrorKind.MISSING_PARAMETER, f"Missing required field: {name}",
                        param=name)


def decode_model(name: str) -> str:
    if name not in MODES:
        raise GatewayError(ErrorKind.MODEL_NOT_FOUND, f"Model `{name}` does not exist. "
                           f"Known models: {', '.join(MODES)}.", param="model")
    return name


def decode_create(model: str, body: Any) -> tuple[GenerationRequest, dict[str, Any]]:
    """The canonical request and the sanitized envelope kept with the task.

    `model` is an id checked by `decode_model`. The sanitized copy keeps what the gateway
    has no canonical field for yet: `request_type`, `callback_url`, `provider`, `web_search`.
    """
    if not isinstance(body, dict):
        raise not_an_object()
    request_type = _choice(body, "request_type", REQUEST_TYPES, "async")
    provider = _choice(body, "provider", PROVIDERS, "auto")
    envelope: dict[str, Any] = {"request_type": request_type, "provider": provider}
    if request_type == "callback":
        envelope["callback_url"] = _callback_url(body.get("callback_url"))
    raw = body.get("input")
    if raw is None:
        raise required("input")
    if not isinstance(raw, dict):
        raise invalid("input", "`input` must be an object.")
    fields = {name: value for name, value in raw.items() if value is not None}
    decode = _decode_v1_5 if model == V1_5 else _decode_v2
    request, sanitized = decode(model, fields)
    return request, {**envelope, "input": sanitized}


def _decode_v1_5(model: str, fields: dict[str, Any]) -> tuple[GenerationRequest, dict[str, Any]]:
    mode = _mode(model, fields)
    prompt = _prompt(fields)
    low, high = V1_5_PROMPT_CHARS
    if not low <= len(prompt) <= high:
        raise invalid("input.prompt", f"`input.prompt` must have {low} to {high} characters; "
                      f"it has {len(prompt)}.")
    if "sound" not in fields:
        raise required("input.sound")
    images = _urls(fields, "image_urls", MAX_FRAMES)
    if mode == TEXT and images:
        raise invalid("input.image_urls", "`input.image_urls` is not allowed with mode "
                      f"{TEXT}; use {IMAGE}.")
    if mode == IMAGE and not images:
        raise required("input.image_urls")
    ratio = _ratio(fields, allow_auto=False)
    if ratio is None:
        ratio = ADAPTIVE if images else V1_5_DEFAULT_RATIO
    request = GenerationRequest(
        model=model, prompt=prompt, inputs=_frames(images), duration=_duration(model, fields),
        ratio=ratio, resolution=_resolution(model, fields),
        generate_audio=_flag(fields, "sound"), camera_fixed=bool(_flag(fields, "fixed_lens")),
    )
    return request, _sanitized(fields, mode, ("fixed_lens",))


def _decode_v2(model: str, fields: dict[str, Any]) -> tuple[GenerationRequest, dict[str, Any]]:
    mode = _mode(model, fields)
    prompt = _prompt(fields)
    limits = CATALOG[model].references
    images = _urls(fields, "image_urls", limits.images if mode == OMNI else MAX_FRAMES)
    videos = _urls(fields, "video_urls", limits.videos)
    audios = _urls(fields, "audio_urls", limits.audios)
    for name, urls in (("video_urls", videos), ("audio_urls", audios)):
        if urls and mode != OMNI:
            raise invalid(f"input.{name}", f"`input.{name}` is only allowed with mode {OMNI}.")
    if mode == TEXT and images:
        raise invalid("input.image_urls", f"`input.image_urls` is not allowed with mode {TEXT}; "
                      f"use {FRAMES} or {OMNI}.")
    if mode == FRAMES and not images:
        raise required("input.image_urls")
    ratio = _ratio(fields, allow_auto=True)
    if mode == OMNI:
        if not images and not videos and not (audios and limits.audio_only):
            what = "`input.audio_urls` needs" if audios else f"Mode {OMNI} needs"
            raise invalid("input.audio_urls" if audios else "input.image_urls",
                          f"{what} at least one image in `input.image_urls` or video in "
                          "`input.video_urls`.")
        inputs = (
            *(MediaInput(MediaKind.IMAGE, url, Role.REFERENCE_IMAGE) for url in images),
            *(MediaInput(MediaKind.VIDEO, url, Role.REFERENCE_VIDEO) for url in videos),
            *(MediaInput(MediaKind.AUDIO, url, Role.REFERENCE_AUDIO) for url in audios),
        )
        ratio = None if ratio == ADAPTIVE else ratio
    else:
        inputs = _frames(images)
    request = GenerationRequest(
        model=model, prompt=prompt, inputs=inputs, duration=_duration(model, fields),
        ratio=ratio, resolution=_resolution(model, fields),
        generate_audio=_flag(fields, "sound"), web_search=bool(_flag(fields, "web_search")),
    )
    return request, _sanitized(fields, mode, ("web_search", "video_urls", "audio_urls"))


def _sanitized(fields: dict[str, Any], mode: str, extra: tuple[str, ...]) -> dict[str, Any]:
    names = ("prompt", "resolution", "duration", "sound", "aspect_ratio", "image_urls", *extra)
    return {"mode": mode, **{name: fields[name] for name in names if name in fields}}


def _choice(body: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(name)
    if value is None:
        return default
    if value not in allowed:
        raise invalid(name, f"`{name}` must be one of {', '.join(allowed)}; got {value!r}.")
    return str(value)


def _callback_url(value: Any) -> str:
    if value is None or value == "":
        raise required("callback_url")
    if not isinstance(value, str) or not value.startswith(URL_SCHEMES):
        raise invalid("callback_url", "`callback_url` must be an http(s) URL.")
    return value


def _mode(model: str, fields: dict[str, Any]) -> str:
    mode = fields.get("mode", TEXT)
    if mode not in MODES[model]:
        raise invalid("input.mode", f"`input.mode` must be one of {', '.join(MODES[model])} "
                      f"for {model}; got {mode!r}.")
    return str(mode)


def _prompt(fields: dict[str, Any]) -> str:
    prompt = fields.get("prompt")
    if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
        raise required("input.prompt")
    if not isinstance(prompt, str):
        raise invalid("input.prompt", "`input.prompt` must be a string.")
    return prompt


def _flag(fields: dict[str, Any], name: str) -> bool | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, bool):
        raise invalid(f"input.{name}", f"`input.{name}` must be true or false.")
    return value


def _duration(model: str, fields: dict[str, Any]) -> int | None:
    value = fields.get("duration")
    low, high = DURATIONS[model]
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or not low <= value <= high):
        raise invalid("input.duration", f"`input.duration` must be an integer from {low} to "
                      f"{high} (seconds) for {model}; got {value!r}.")
    return value


def _resolution(model: str, fields: dict[str, Any]) -> str | None:
    value = fields.get("resolution")
    allowed = RESOLUTIONS[model]
    if value is not None and value not in allowed:
        raise invalid("input.resolution", f"`input.resolution` must be one of "
                      f"{', '.join(allowed)} for {model}; got {value!r}.")
    return value


def _ratio(fields: dict[str, Any], *, allow_auto: bool) -> str | None:
    """The canonical ratio: a listed one, adaptive for `auto`, or None when absent."""
    value = fields.get("aspect_ratio")
    allowed = (AUTO, *RATIOS) if allow_auto else RATIOS
    if value is not None and value not in allowed:
        raise invalid("input.aspect_ratio", f"`input.aspect_ratio` must be one of "
                      f"{', '.join(allowed)}; got {value!r}.")
    return ADAPTIVE if value == AUTO else value


def _urls(fields: dict[str, Any], name: str, limit: int) -> tuple[str, ...]:
    value = fields.get(name, [])
    param = f"input.{name}"
    if not isinstance(value, list) or not all(isinstance(url, str) for url in value):
        raise invalid(param, f"`{param}` must be an array of URL strings.")
    if len(value) > limit:
        raise invalid(param, f"`{param}` takes at most {limit} URLs in this mode; "
                      f"got {len(value)}.")
    for url in value:
        if not url.startswith(URL_SCHEMES):
            raise invalid(param, f"`{param}` must hold http(s) URLs; got {url!r}.")
    return tuple(value)


def _frames(images: tuple[str, ...]) -> tuple[MediaInput, ...]:
    """The first image is the first frame; a second one is the last frame."""
    return tuple(
        MediaInput(MediaKind.IMAGE, url, Role.FIRST_FRAME if i == 0 else Role.LAST_FRAME)
        for i, url in enumerate(images)
    )


def decode_task_id(value: Any) -> str:
    if value is None or value == "":
        raise required("taskId")
    return str(value)


def encode_created(task: Task) -> dict[str, Any]:
    return {"code": 200, "message": "success", "data": {"taskId": task.id}}


def encode_task(task: Task, urls: list[str]) -> dict[str, Any]:
    """The status envelope; `urls` are the task's output URLs (empty unless succeeded)."""
    data: dict[str, Any] = {"taskId": task.id, "state": STATE[task.status]}
    if task.status is TaskStatus.SUCCEEDED:
        data["resultJson"] = json.dumps({"resultUrls": urls}, separators=(",", ":"))
    elif task.status.terminal:
        data["failCode"] = task.error_code or DEFAULT_FAIL_CODE
        data["failMsg"] = task.error_message or "The task failed."
    data["createTime"] = task.created_at
    if task.status.terminal and task.completed_at is not None:
        data["costTime"] = task.completed_at - task.created_at
        data["completeTime"] = task.completed_at
    return {"code": 200, "message": "success", "data": data}


def webhook_of(client_request: dict[str, Any]) -> Subscription | None:
    """With `request_type: callback`, `callback_url` receives the status envelope once the
    task has ended."""
    if client_request.get("request_type") != "callback":
        return None
    return Subscription(client_request["callback_url"], "callback_url", ENDINGS)


def encode_error(error: GatewayError) -> tuple[int, dict[str, Any]]:
    error = renamed(error, PARAM_NAMES)
    status = STATUS[error.kind]
    return status, {"code": status, "message": TITLES[status], "data": {"error": error.message}}


# -- outbound: the gateway as a client of an apixo provider -----------------------------

UPSTREAM_STATES = {"pending": UpstreamState.QUEUED, "processing": UpstreamState.RUNNING,
                   "success": UpstreamState.SUCCEEDED, "failed": UpstreamState.FAILED}
REFERENCE_FIELDS = {MediaKind.IMAGE: "image_urls", MediaKind.VIDEO: "video_urls",
                    MediaKind.AUDIO: "audio_urls"}


def encode_create(request: GenerationRequest, model: str,
                  callback_url: str | None = None) -> dict[str, Any]:
    """The generateTask body (the model goes in the path). apixo has no seed, watermark
    or draft; a request outside its documented input is `Unsupported`."""
    if model not in PUBLISHED:
        raise Unsupported(f"apixo has no model {model}")
    low, high = DURATIONS[model]
    if request.draft or request.resolution not in RESOLUTIONS[model] or not (
            low <= (request.duration or 0) <= high):
        raise Unsupported(f"apixo does not offer this duration or resolution for {model}")
    if any(not item.url.startswith(URL_SCHEMES) for item in request.inputs):
        raise Unsupported("apixo takes http(s) media URLs only")
    fields: dict[str, Any] = {"prompt": request.prompt, "resolution": request.resolution,
                              "duration": request.duration,
                              "sound": bool(request.generate_audio)}
    fields.update(_v1_5_input(request) if model == V1_5 else _v2_input(request))
    body: dict[str, Any] = {"request_type": "callback" if callback_url else "async",
                            "input": fields}
    if callback_url is not None:
        body["callback_url"] = callback_url
    return body


def _v1_5_input(request: GenerationRequest) -> dict[str, Any]:
    low, high = V1_5_PROMPT_CHARS
    if not low <= len(request.prompt) <= high:
        raise Unsupported("apixo takes Seedance 1.5 Pro prompts of 3 to 2500 characters")
    images = upstream.frame_urls(request, "apixo")
    fields: dict[str, Any] = {"mode": IMAGE if images else TEXT,
                              "fixed_lens": request.camera_fixed}
    if images:
        fields["image_urls"] = images
    if request.ratio != ADAPTIVE:
        fields["aspect_ratio"] = request.ratio
    elif not images:
        raise Unsupported("apixo has no adaptive ratio for Seedance 1.5 Pro text to video")
    return fields


def _v2_input(request: GenerationRequest) -> dict[str, Any]:
    fields: dict[str, Any] = {"aspect_ratio": AUTO if request.ratio == ADAPTIVE
                              else request.ratio}
    if any(item.role not in (Role.FIRST_FRAME, Role.LAST_FRAME) for item in request.inputs):
        fields["mode"] = OMNI
        for kind, name in REFERENCE_FIELDS.items():
            urls = [item.url for item in request.inputs if item.kind is kind]
            if urls:
                fields[name] = urls
    elif request.inputs:
        fields["mode"] = FRAMES
        fields["image_urls"] = upstream.frame_urls(request, "apixo")
    else:
        fields["mode"] = TEXT
    if request.web_search:
        fields["web_search"] = True
    return fields


def decode_created(body: Any) -> str:
    return upstream.envelope_id(body, "taskId")


def decode_status(body: Any) -> RemoteStatus:
    """The status envelope (also the body of apixo's callbacks)."""
    data = upstream.envelope_data(body)
    state = upstream.state(UPSTREAM_STATES, data.get("state"))
    completed = data.get("completeTime")
    finished_at = completed if isinstance(completed, int) else None
    if state is UpstreamState.SUCCEEDED:
        try:
            result = json.loads(upstream.text(data.get("resultJson"), "`data.resultJson`"))
        except ValueError:
            raise upstream.malformed("`data.resultJson` is not JSON") from None
        urls = upstream.mapping(result, "`data.resultJson`").get("resultUrls")
        return RemoteStatus(state, 100, video_url=upstream.first_url(urls, "`resultUrls`"),
                            completed_at=finished_at)
    if state is UpstreamState.FAILED:
        return upstream.failed(data.get("failCode"), data.get("failMsg"), finished_at)
    return RemoteStatus(state)


def decode_error(status: int, body: Any) -> UpstreamError:
    data = body.get("data") if isinstance(body, dict) else None
    detail = data.get("error") if isinstance(data, dict) else None
    title = body.get("message") if isinstance(body, dict) else None
    return upstream.http_error(status, title, detail or title)
