"""The official Ark v3 API (BytePlus ModelArk, Volcengine Ark): content generation tasks.

`volcenginesdkarkruntime.Ark(base_url=".../api/v3").content_generation.tasks.*` and the
BytePlus SDK work unchanged (ark.md section 5). Choices where Ark documents nothing:

- legacy prompt flags (`--rs 720p --dur 5 ...`) are read leniently and removed from the
  prompt; a body field given as well wins over its flag;
- `frames` (1.0 models) is rendered at the nearest whole number of seconds the model
  allows, and echoed back as `frames` (tokens count the frames asked for);
- insufficient credits answer 403 `AccountOverdueError` (Ark has no 402); deleting a
  running or cancelled task answers 400 `OperationDenied` (not 409, which the SDKs retry);
- task errors: content violations are `OutputVideoSensitiveContentDetected`, unusable
  inputs `InvalidParameter`, everything else `InternalServiceError`; cancelled and expired
  tasks carry no error, their status says it all;
- `callback_url` and `service_tier` are validated and stored; `filter.service_tier` is
  accepted but does not filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from seedgate.dialects import upstream
from seedgate.dialects.common import HTTP_STATUS, decode_task_id, decode_tools, not_an_object
from seedgate.domain.catalog import ADAPTIVE, CATALOG, FPS, MP4, RATIOS, RESOLUTIONS, Model
from seedgate.domain.errors import ErrorKind, FailureCode, GatewayError, Rule, invalid, missing
from seedgate.domain.paging import NumberedQuery
from seedgate.domain.request import (
    MAX_SEED,
    URL_SCHEMES,
    GenerationRequest,
    MediaInput,
    MediaKind,
    Role,
)
from seedgate.domain.task import Task, TaskStatus
from seedgate.domain.upstream import RemoteStatus, UpstreamError, UpstreamState
from seedgate.domain.webhooks import ALL_STATUSES, Subscription

NAME = "ark"
VOLCENGINE_PREFIX = "doubao-"
TIERS = ("default", "flex")
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 10
FRAMES_RANGE = (29, 289)
BOOLEANS = ("return_last_frame", "generate_audio", "draft", "camera_fixed", "watermark")
INTEGERS = ("duration", "frames", "seed", "execution_expires_after", "priority")
STRINGS = ("resolution", "ratio", "callback_url", "service_tier", "safety_identifier",
           "output_format", "omni_reference_task_type")
FIELDS = frozenset({"model", "content", "tools", *BOOLEANS, *INTEGERS, *STRINGS})

MEDIA_ITEMS = {"image_url": MediaKind.IMAGE, "video_url": MediaKind.VIDEO,
               "audio_url": MediaKind.AUDIO}
ROLES = {MediaKind.IMAGE: (Role.FIRST_FRAME, Role.LAST_FRAME, Role.REFERENCE_IMAGE),
         MediaKind.VIDEO: (Role.REFERENCE_VIDEO,), MediaKind.AUDIO: (Role.REFERENCE_AUDIO,)}
LEGACY_FLAGS = {"rs": "resolution", "resolution": "resolution", "rt": "ratio",
                "ratio": "ratio", "dur": "duration", "duration": "duration", "seed": "seed",
                "cf": "camera_fixed", "camerafixed": "camera_fixed", "wm": "watermark",
                "watermark": "watermark", "fps": "fps", "framepersecond": "fps",
                "frames": "frames"}  # fps: 24 is the only rate, so the flag is just removed
FLAG = re.compile(r"(?:^|\s)--(" + "|".join(sorted(LEGACY_FLAGS, key=len, reverse=True))
                  + r")(?:\s+|=)(\S+)", re.IGNORECASE)
STATUS = {status: status.value for status in TaskStatus}
ERROR_CLASSES = {
    ErrorKind.INVALID_PARAMETER: ("InvalidParameter", 400),
    ErrorKind.MISSING_PARAMETER: ("MissingParameter", 400),
    ErrorKind.INVALID_JSON: ("InvalidParameter", 400),
    ErrorKind.MODEL_NOT_FOUND: ("InvalidEndpointOrModel.NotFound", 404),
    ErrorKind.UNAUTHORIZED: ("AuthenticationError", 401),
    ErrorKind.INSUFFICIENT_CREDITS: ("AccountOverdueError", 403),
    ErrorKind.FORBIDDEN: ("AccessDenied", 403),
    ErrorKind.NOT_FOUND: ("ResourceNotFound", 404),
    ErrorKind.CONFLICT: ("OperationDenied", 400),
    ErrorKind.RATE_LIMITED: ("RateLimitExceeded", 429),
    ErrorKind.CONCURRENCY_LIMITED: ("InflightBatchsizeExceeded", 429),
    ErrorKind.SPEND_LIMITED: ("SetLimitExceeded", 429),
    ErrorKind.IP_NOT_ALLOWED: ("AccessDenied", 403),
    ErrorKind.MODEL_NOT_ALLOWED: ("ModelNotOpen", 404),
    ErrorKind.MODEL_RETIRED: ("InvalidEndpoint.ClosedEndpoint", 400),
    ErrorKind.INTERNAL: ("InternalServiceError", 500),
    ErrorKind.UNAVAILABLE: ("ServerOverloaded", HTTP_STATUS[ErrorKind.UNAVAILABLE]),
}
RULE_CODES = {
    Rule.TASK_TYPE_CONSTRAINT: "InvalidParameter.TaskTypeConstraint",
    Rule.TASK_TYPE_MISMATCH: "InvalidParameter.TaskTypeMismatch",
    Rule.DRAFT_RESOLUTION: "InvalidResolutionParameter",
}
ERROR_TYPES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
               429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}
TASK_ERRORS = {
    FailureCode.CONTENT_VIOLATION.value: "OutputVideoSensitiveContentDetected",
    FailureCode.INVALID_IMAGE_URL.value: "InvalidParameter",
    FailureCode.INVALID_INPUT.value: "InvalidParameter",
}
SILENT_ERRORS = (TaskStatus.CANCELLED, TaskStatus.EXPIRED, TaskStatus.SUCCEEDED)


@dataclass(frozen=True, slots=True)
class Create:
    """A decoded create: the request, the body kept with the task, where each canonical
    parameter sits in the body (to name it in errors), and the draft to reuse, if any."""

    request: GenerationRequest
    client_request: dict[str, Any]
    params: dict[str, str]
    draft_task_id: str | None = None


# -- create ---------------------------------------------------------------------------


def decode_create(body: Any) -> Create:
    """Decode a create body. JSON null means "not given" for every optional field."""
    if not isinstance(body, dict):
        raise not_an_object()
    fields = {name: value for name, value in body.items() if value is not None}
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        raise invalid(unknown[0], f"The parameter `{unknown[0]}` is not supported.")
    web_search = decode_tools(fields.get("tools"))
    model = _string(fields, "model")
    if model is None:
        raise missing("model")
    found = CATALOG.get(model)
    prompt, inputs, params, draft_id = _content(fields.get("content"))
    prompt, flags = _legacy_flags(prompt, found)
    values = {**flags, **_typed(fields)}
    _check_extras(values, found)
    frames = values.pop("frames", None)
    if frames is not None:  # kept, to be echoed instead of `duration`
        values["duration"] = _frames_duration(frames, found)
        fields["frames"] = frames
    request = GenerationRequest(model=model, prompt=prompt, inputs=inputs,
                                web_search=web_search, **values)
    params["task_type"] = "omni_reference_task_type"
    return Create(request, fields, params, draft_id)


def with_final(create: Create, request: GenerationRequest) -> Create:
    """The create of a draft's final (`request`, see `service.drafts`); the body kept
    names the draft, to be echoed as `draft_task_id`."""
    assert create.draft_task_id is not None
    kept = {**create.client_request, "draft_task_id": create.draft_task_id}
    return Create(request, kept, create.params, create.draft_task_id)


def _content(value: Any) -> tuple[str, tuple[MediaInput, ...], dict[str, str], str | None]:
    """The prompt, the media inputs, canonical-to-Ark parameter names, and a draft id."""
    if value is None:
        raise missing("content")
    if not isinstance(value, list) or not value:
        raise invalid("content", "`content` must be a non-empty array of content items.")
    prompt, inputs, draft_id = "", [], None
    params, unroled = {"inputs": "content", "prompt": "content"}, []
    for index, item in enumerate(value):
        where = f"content[{index}]"
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(kind, str):  # a list or an object is no known type either
            kind = None
        if kind == "text":
            if prompt:
                raise invalid(where, f"`{where}`: give at most one text item.")
            prompt = _item_text(item, where)
            params["prompt"] = f"{where}.text"
        elif kind in MEDIA_ITEMS:
            params[f"inputs[{len(inputs)}]"] = f"{where}.{kind}.url"
            inputs.append(_media(item, where, MEDIA_ITEMS[kind]))
            if kind == "image_url" and item.get("role") is None:
                unroled.append(where)
        elif kind == "draft_task":
            draft_id = _draft_id(item, where, len(value))
        else:
            raise invalid(f"{where}.type", f"`{where}.type` must be text, image_url, "
                          "video_url, audio_url or draft_task.")
    if unroled and sum(i.kind is MediaKind.IMAGE for i in inputs) > 1:
        raise missing(f"{unroled[0]}.role")  # only a lone first frame may omit it (5.3)
    return prompt, tuple(inputs), params, draft_id


def _item_text(item: dict[str, Any], where: str) -> str:
    text = item.get("text")
    if not isinstance(text, str):
        raise invalid(f"{where}.text", f"`{where}.text` must be a string.")
    return text


def _media(item: dict[str, Any], where: str, kind: MediaKind) -> MediaInput:
    """A media item; without a role, an image is the first frame (alone, see `_content`)."""
    field = f"{kind.value}_url"
    holder = item.get(field)
    url = holder.get("url") if isinstance(holder, dict) else None
    if url is None:
        raise missing(f"{where}.{field}.url")
    if not isinstance(url, str) or not url.startswith((*URL_SCHEMES, f"data:{kind.value}/")):
        raise invalid(f"{where}.{field}.url", f"The parameter `{where}.{field}.url` must be "
                      f"an http(s) URL or a base64 data URL (data:{kind.value}/<format>;"
                      "base64,...).")
    role = item.get("role")
    allowed = ROLES[kind]
    if role is None:
        return MediaInput(kind, url, allowed[0])
    if role not in allowed:
        raise invalid(f"{where}.role", f"`{where}.role` must be "
                      f"{' or '.join(r.value for r in allowed)}; got {role!r}.")
    return MediaInput(kind, url, Role(role))


def _draft_id(item: dict[str, Any], where: str, items: int) -> str:
    if items > 1:
        raise invalid("content", "A `draft_task` item cannot be mixed with other items.")
    holder = item.get("draft_task")
    return decode_task_id(holder.get("id") if isinstance(holder, dict) else None,
                          f"{where}.draft_task.id")


def _typed(fields: dict[str, Any]) -> dict[str, Any]:
    """Body fields, strictly typed (ark.md: invalid body fields are errors)."""
    values: dict[str, Any] = {}
    for name in BOOLEANS:
        if name in fields:
            if not isinstance(fields[name], bool):
                raise invalid(name, f"The parameter `{name}` must be true or false.")
            values[name] = fields[name]
    for name in INTEGERS:
        if name in fields:
            value = fields[name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise invalid(name, f"The parameter `{name}` must be an integer.")
            values[name] = value
    for name in STRINGS:
        if (value := _string(fields, name)) is not None:
            values[name] = value
    return values


def _string(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid(name, f"The parameter `{name}` must be a string.")
    return value


def _check_extras(values: dict[str, Any], model: Model | None) -> None:
    """Check the fields the canonical request has no place for, and drop them from it;
    `omni_reference_task_type` is the request's `task_type`."""
    task_type = values.pop("omni_reference_task_type", None)
    if task_type is not None:
        values["task_type"] = task_type
    callback = values.pop("callback_url", None)
    if callback is not None and not callback.startswith(URL_SCHEMES):
        raise invalid("callback_url", "The parameter `callback_url` must be an http(s) URL.")
    tier = values.pop("service_tier", None)
    if tier is not None and tier not in TIERS:
        raise invalid("service_tier", f"The parameter `service_tier` must be default or flex; "
                      f"got {tier!r}.")
    if tier == "flex" and (values.get("draft") or (model and not model.flex)):
        raise invalid("service_tier", "`flex` is not available for draft tasks nor the "
                      "Seedance 2.0 family.")


def _frames_duration(frames: int, model: Model | None) -> int:
    low, high = FRAMES_RANGE
    if model is not None and not model.frames:
        raise invalid("frames", f"`{model.id}` does not take `frames`; give `duration`.")
    if not low <= frames <= high or (frames - 25) % 4:
        raise invalid("frames", f"The parameter `frames` must be 25+4n within [{low}, "
                      f"{high}]; got {frames}.")
    seconds = round(frames / FPS)
    if model is None:
        return seconds
    return min(max(seconds, model.min_duration), model.max_duration)


def _legacy_flags(prompt: str, model: Model | None) -> tuple[str, dict[str, Any]]:
    """The prompt without its `--flag value` commands, and the values of the valid ones."""
    values: dict[str, Any] = {}
    for flag, text in FLAG.findall(prompt):
        name = LEGACY_FLAGS[flag.lower()]
        value = _flag_value(name, text, model)
        if value is not None:
            values[name] = value
    return FLAG.sub("", prompt).strip(), values


def _flag_value(name: str, text: str, model: Model | None) -> Any:
    """A flag's value, or None when it is invalid (lenient: the default then applies)."""
    lowered = text.lower()
    if name in ("camera_fixed", "watermark"):
        return {"true": True, "false": False}.get(lowered)
    if name == "resolution":
        allowed = model.resolutions if model else RESOLUTIONS
        return lowered if lowered in allowed else None
    if name == "ratio":
        return lowered if lowered in (*RATIOS, ADAPTIVE) else None
    if not re.fullmatch(r"-?\d{1,10}", text):
        return None
    number = int(text)
    if name == "seed":
        return number if -1 <= number <= MAX_SEED else None
    if name == "duration":
        auto = number == -1 and model is not None and model.auto_duration
        return number if auto or (model is not None and number in model.durations()) else None
    if name == "frames":
        low, high = FRAMES_RANGE
        usable = model is not None and model.frames
        return number if usable and low <= number <= high and not (number - 25) % 4 else None
    return None  # fps: only 24 exists


def located(error: GatewayError, create: Create) -> GatewayError:
    """An error of the canonical request named by where its parameter is in the body,
    e.g. `inputs[0].url` becomes `content[1].image_url.url`."""
    if error.param is None:
        return error
    head = error.param.split(".")[0]
    name = create.params.get(head) or create.params.get(error.param)
    if name is None:
        return error
    message = error.message.replace(f"`{error.param}`", f"`{name}`").replace(
        f"`{head}`", f"`{name}`")
    return error.renamed(name, message)


# -- list -----------------------------------------------------------------------------


def decode_list(raw_query: str) -> NumberedQuery:
    """`page_num`, `page_size` and the `filter.*` parameters (`filter.task_ids` repeats)."""
    pairs = parse_qsl(raw_query)
    single = dict(pairs)
    number = _query_int(single, "page_num", 1)
    size = _query_int(single, "page_size", DEFAULT_PAGE_SIZE)
    if number < 1:
        raise invalid("page_num", "The parameter `page_num` must be at least 1.")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise invalid("page_size", f"The parameter `page_size` must be between 1 and "
                      f"{MAX_PAGE_SIZE}; got {size}.")
    status = single.get("filter.status")
    statuses: tuple[TaskStatus, ...] = ()
    if status:
        if status not in STATUS.values():
            raise invalid("filter.status", "The parameter `filter.status` must be one of "
                          f"{', '.join(STATUS.values())}.")
        statuses = (TaskStatus(status),)
    ids = tuple(value for key, value in pairs if key == "filter.task_ids" and value)
    model = single.get("filter.model")
    found = CATALOG.get(model) if model else None
    if model and found is None:
        raise GatewayError(ErrorKind.MODEL_NOT_FOUND, f"The model `{model}` does not exist.",
                           param="filter.model")
    tier = single.get("filter.service_tier")
    if tier and tier not in TIERS:
        raise invalid("filter.service_tier", "The parameter `filter.service_tier` must be "
                      "default or flex.")
    return NumberedQuery(number, size, statuses, ids, found.id if found else None)


def _query_int(query: dict[str, str], name: str, default: int) -> int:
    text = query.get(name)
    if not text:
        return default
    if not re.fullmatch(r"-?\d{1,9}", text):
        raise invalid(name, f"The parameter `{name}` must be an integer.")
    return int(text)


# -- the task object ------------------------------------------------------------------


def encode_created(task: Task) -> dict[str, Any]:
    return {"id": task.id}


def encode_task(task: Task, urls: list[str]) -> dict[str, Any]:
    """The task object of GET, list items and callbacks (ark.md 5.5); `urls` are the signed
    video and (if asked for) last-frame URLs of a succeeded task."""
    request, asked = task.request, _asked(task)
    rendition = task.outputs.rendition if task.outputs else None
    frames = asked.get("frames")
    body: dict[str, Any] = {
        "id": task.id,
        "model": _wire_model(task),
        "status": STATUS[task.status],
        "error": _task_error(task),
        "created_at": task.created_at // 1000,
        "updated_at": task.updated_at // 1000,
    }
    if urls:
        body["content"] = {"video_url": urls[0], **(
            {"last_frame_url": urls[1]} if len(urls) > 1 else {})}
    body["usage"] = _usage(task, frames)
    body.update({
        "seed": rendition.seed if rendition else request.seed,
        "resolution": request.resolution,
        "ratio": rendition.ratio if rendition else request.ratio,
        **({"frames": frames} if frames is not None else {
            "duration": rendition.duration if rendition else request.duration}),
        "framespersecond": FPS,
        **({"generate_audio": request.generate_audio}
           if CATALOG[task.model].echoes_audio else {}),
        "draft": request.draft,
        **({"draft_task_id": asked["draft_task_id"]} if "draft_task_id" in asked else {}),
        "service_tier": asked.get("service_tier", "default"),
        "execution_expires_after": request.execution_expires_after,
        **{name: value for name, value in _echoed(request).items() if value is not None},
    })
    return body


def _echoed(request: GenerationRequest) -> dict[str, Any]:
    """The newer fields, echoed when they were sent (`output_format` when not mp4)."""
    return {"priority": request.priority, "safety_identifier": request.safety_identifier,
            "output_format": request.output_format if request.output_format not in (
                None, MP4) else None,
            "omni_reference_task_type": request.task_type,
            "tools": [{"type": "web_search"}] if request.web_search else None}


def _asked(task: Task) -> dict[str, Any]:
    """The Ark body a task was created with; empty for tasks of other dialects."""
    return task.client_request if task.dialect == NAME else {}


def _wire_model(task: Task) -> str:
    """The id family the client used: Volcengine (`doubao-...`) or, by default, BytePlus."""
    model = CATALOG[task.model]
    given = str(_asked(task).get("model", ""))
    volcengine = given.lower().startswith(VOLCENGINE_PREFIX) and model.volcengine_id
    return volcengine or model.byteplus_id


def _task_error(task: Task) -> dict[str, str] | None:
    if task.status in SILENT_ERRORS or task.error_code is None:
        return None
    code = TASK_ERRORS.get(task.error_code, "InternalServiceError")
    return {"code": code, "message": task.error_message or ""}


def _usage(task: Task, frames: int | None) -> dict[str, int]:
    """Tokens of a succeeded video, W x H x frames / 1024 (ark.md 5.10); 0 otherwise, as
    only succeeded tasks are billed."""
    tokens = 0
    if task.status is TaskStatus.SUCCEEDED and task.outputs is not None:
        rendition = task.outputs.rendition
        count = frames if frames is not None else FPS * rendition.duration + 1
        tokens = rendition.width * rendition.height * count // 1024
        if task.outputs.tokens is not None:  # what the provider reported
            tokens = task.outputs.tokens
    return {"completion_tokens": tokens, "total_tokens": tokens}


def webhook_of(client_request: dict[str, Any]) -> Subscription | None:
    """Ark calls `callback_url` with the task object on every status change (ark.md 5.8)."""
    url = client_request.get("callback_url")
    return Subscription(url, "callback_url", ALL_STATUSES) if url else None


def encode_deleted() -> dict[str, Any]:
    """DELETE has no response parameters, but the SDKs decode the body: `{}`."""
    return {}


def encode_error(error: GatewayError) -> tuple[int, dict[str, Any]]:
    param = "id" if error.param == "task_id" else error.param
    code, status = ERROR_CLASSES[error.kind]
    code = RULE_CODES.get(error.rule, code) if error.rule else code
    message = error.message
    if param is not None and f"`{param}`" not in message:  # Ark's messages name it
        message = f"The parameter `{param}` specified in the request is not valid: {message}"
    return status, {"error": {"code": code, "message": message, "param": param,
                              "type": ERROR_TYPES[status]}}



# -- outbound: the gateway as a client of an Ark provider -------------------------------

UPSTREAM_STATES = {
    "queued": UpstreamState.QUEUED, "running": UpstreamState.RUNNING,
    "succeeded": UpstreamState.SUCCEEDED, "failed": UpstreamState.FAILED,
    "expired": UpstreamState.EXPIRED, "cancelled": UpstreamState.FAILED,
}


def encode_create(request: GenerationRequest, model: str,
                  callback_url: str | None = None) -> dict[str, Any]:
    """The create body for `request` (normalized) under the provider's model id. The last
    frame is always asked for (except for drafts, which cannot return one): it is the
    task's thumbnail."""
    content: list[dict[str, Any]] = []
    if request.prompt:
        content.append({"type": "text", "text": request.prompt})
    for item in request.inputs:
        field = f"{item.kind.value}_url"
        content.append({"type": field, field: {"url": item.url}, "role": item.role.value})
    known = CATALOG[request.model]
    body: dict[str, Any] = {
        "model": model, "content": content, "resolution": request.resolution,
        "ratio": request.ratio, "duration": request.duration, "seed": request.seed,
        "camera_fixed": request.camera_fixed, "watermark": request.watermark,
        "return_last_frame": not request.draft,
        "execution_expires_after": request.execution_expires_after,
        **{name: value for name, value in _echoed(request).items() if value is not None},
    }
    for name in known.rejected_fields:  # the 2.0 family refuses them even at defaults
        body.pop(name, None)
    if known.audio:
        body["generate_audio"] = request.generate_audio
    if request.draft:
        body["draft"] = True
    if callback_url is not None:
        body["callback_url"] = callback_url
    return body


def decode_created(body: Any) -> str:
    return upstream.text(upstream.mapping(body, "the create answer").get("id"), "`id`")


def decode_status(body: Any) -> RemoteStatus:
    """The task object (GET, or a callback's body)."""
    task = upstream.mapping(body, "the task")
    state = upstream.state(UPSTREAM_STATES, task.get("status"))
    updated = task.get("updated_at")
    finished_at = updated * 1000 if isinstance(updated, int) and state in (
        UpstreamState.SUCCEEDED, UpstreamState.FAILED) else None
    if state is UpstreamState.SUCCEEDED:
        content = upstream.mapping(task.get("content"), "`content`")
        frame = content.get("last_frame_url")
        seed, usage = task.get("seed"), task.get("usage")
        tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
        resolution = task.get("resolution")
        return RemoteStatus(
            state, 100, video_url=upstream.text(content.get("video_url"), "`video_url`"),
            last_frame_url=frame if isinstance(frame, str) and frame else None,
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            completed_at=finished_at,
            completion_tokens=tokens if isinstance(tokens, int) and not isinstance(
                tokens, bool) and tokens >= 0 else None,
            resolution=resolution if resolution in RESOLUTIONS else None,
        )
    if state is UpstreamState.FAILED:
        error = task.get("error") if isinstance(task.get("error"), dict) else {}
        if task.get("status") == "cancelled":
            error = {"code": "GENERATION_FAILED", "message": "The provider cancelled the task."}
        return upstream.failed(error.get("code"), error.get("message"), finished_at)
    return RemoteStatus(state)


def decode_error(status: int, body: Any) -> UpstreamError:
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    return upstream.http_error(status, error.get("code"), error.get("message"))
