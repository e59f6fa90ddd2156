"""The canonical generation request and its validation against the model catalog.

Every dialect decodes its wire format into a `GenerationRequest`; `normalize` then checks it
against the catalog and fills the model's defaults, so one set of rules serves all dialects.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

from seedgate.domain.catalog import (
    ADAPTIVE,
    CATALOG,
    MP4,
    RATIOS,
    Catalog,
    Mode,
    Model,
    TaskType,
)
from seedgate.domain.errors import ErrorKind, GatewayError, Rule, invalid, missing

MAX_PROMPT_CHARS = 5000
DEFAULT_EXPIRES_AFTER = 172_800
EXPIRES_AFTER_RANGE = (3_600, 259_200)
MAX_SEED = 2**32 - 1
PRIORITIES = range(10)
# What takes its shape from its input, where the 2.5 family requires `adaptive`.
FRAMED = {Mode.FIRST_FRAME: "a first frame", Mode.FIRST_LAST_FRAME: "first and last frames"}
MAX_SAFETY_IDENTIFIER = 64
URL_SCHEMES = ("http://", "https://")


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


class Role(StrEnum):
    FIRST_FRAME = "first_frame"
    LAST_FRAME = "last_frame"
    REFERENCE_IMAGE = "reference_image"
    REFERENCE_VIDEO = "reference_video"
    REFERENCE_AUDIO = "reference_audio"


@dataclass(frozen=True, slots=True)
class MediaInput:
    kind: MediaKind
    url: str
    role: Role


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """What a client asks for. `None` means "the model's default" until `normalize`."""

    model: str
    prompt: str = ""
    inputs: tuple[MediaInput, ...] = ()
    duration: int | None = None
    ratio: str | None = None
    resolution: str | None = None
    generate_audio: bool | None = None
    seed: int = -1
    camera_fixed: bool = False
    watermark: bool = False
    draft: bool = False
    return_last_frame: bool = False
    execution_expires_after: int = DEFAULT_EXPIRES_AFTER
    task_type: str | None = None  # 2.5 family: auto, reference, edit, extend
    output_format: str | None = None  # mp4 (default) or mov (2.5 family)
    priority: int | None = None  # 0-9, higher first
    safety_identifier: str | None = None  # the end user's id, at most 64 characters
    web_search: bool = False  # `tools: [{"type": "web_search"}]` (2.0 family, text only)
    requested_model: str | None = None  # the model asked for, when an alias runs another

    @property
    def images(self) -> tuple[MediaInput, ...]:
        return tuple(i for i in self.inputs if i.kind is MediaKind.IMAGE)

    @property
    def source_video(self) -> MediaInput | None:
        """The video an edit or extend works on (its one reference video)."""
        if self.task_type not in (TaskType.EDIT, TaskType.EXTEND):
            return None
        return next((i for i in self.inputs if i.kind is MediaKind.VIDEO), None)

    def to_json(self) -> dict[str, Any]:
        data = {field.name: getattr(self, field.name) for field in fields(self)}
        data["inputs"] = [
            {"kind": i.kind.value, "url": i.url, "role": i.role.value} for i in self.inputs
        ]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GenerationRequest:
        inputs = tuple(
            MediaInput(MediaKind(i["kind"]), i["url"], Role(i["role"])) for i in data["inputs"]
        )
        return cls(**{**data, "inputs": inputs})


def mode_of(request: GenerationRequest) -> Mode:
    """The generation mode implied by the inputs and their roles."""
    roles = [i.role for i in request.inputs]
    if not roles:
        return Mode.TEXT
    if any(i.kind is not MediaKind.IMAGE for i in request.inputs):
        return Mode.MULTIMODAL_REFERENCE
    if Role.REFERENCE_IMAGE in roles:
        return Mode.REFERENCE_IMAGES
    if Role.LAST_FRAME in roles:
        return Mode.FIRST_LAST_FRAME
    return Mode.FIRST_FRAME


def normalize(request: GenerationRequest, catalog: Catalog = CATALOG) -> GenerationRequest:
    """Validate a request for its model and return it with every default filled in.

    Raises `GatewayError` naming the offending parameter.
    """
    model = catalog.get(request.model) if request.model else None
    if model is None:
        if not request.model:
            raise missing("model")
        raise GatewayError(
            ErrorKind.MODEL_NOT_FOUND,
            f"Model `{request.model}` does not exist. Known models: "
            + ", ".join(m.id for m in catalog.models) + ".",
            param="model",
        )
    _check_prompt(request)
    _check_rejected(request, model)
    mode = _check_inputs(request, model)
    task_type = _task_type(request, model)
    resolution = _resolution(request, model, mode)
    return replace(
        request,
        model=model.id,
        prompt=request.prompt.strip(),
        duration=_duration(request, model, task_type),
        ratio=_ratio(request, model, mode, task_type),
        resolution=resolution,
        generate_audio=_audio(request, model),
        seed=_seed(request),
        execution_expires_after=_expires_after(request),
        task_type=task_type,
        output_format=_output_format(request, model),
        priority=_priority(request),
        safety_identifier=_safety_identifier(request),
        web_search=_web_search(request, model, mode),
    )


def _check_rejected(request: GenerationRequest, model: Model) -> None:
    """Fields a model family refuses when set (2.0 family: seed, camera_fixed, draft; its
    `frames` and `service_tier: flex` are refused by the dialects that have them)."""
    given = {"seed": request.seed != -1, "camera_fixed": request.camera_fixed,
             "draft": request.draft}
    for name in model.rejected_fields:
        if given.get(name):
            raise invalid(name, f"`{name}` is not supported by `{model.id}` (Seedance "
                          f"{model.family.value} family); leave it out.")


def _check_prompt(request: GenerationRequest) -> None:
    if not isinstance(request.prompt, str):
        raise invalid("prompt", "`prompt` must be a string.")
    if len(request.prompt) > MAX_PROMPT_CHARS:
        raise invalid("prompt", f"`prompt` is longer than {MAX_PROMPT_CHARS} characters.")
    if not request.prompt.strip() and not request.inputs:
        raise missing("prompt")


def _check_inputs(request: GenerationRequest, model: Model) -> Mode:
    for index, item in enumerate(request.inputs):
        url = item.url
        if not isinstance(url, str) or not (
            url.startswith(URL_SCHEMES) or url.startswith(f"data:{item.kind.value}/")
        ):
            raise invalid(
                f"inputs[{index}].url",
                f"`inputs[{index}].url` must be an http(s) URL or a base64 data URL.",
            )
    mode = _checked_mode(request, model)
    images = request.images
    if mode is Mode.FIRST_FRAME and len(images) != 1:
        raise invalid("inputs", "A first-frame request takes exactly one image.")
    if mode is Mode.FIRST_LAST_FRAME:
        roles = sorted(i.role.value for i in images)
        if roles != [Role.FIRST_FRAME.value, Role.LAST_FRAME.value]:
            raise invalid("inputs", "First and last frame need one `first_frame` and one "
                          "`last_frame` image.")
    if mode in (Mode.REFERENCE_IMAGES, Mode.MULTIMODAL_REFERENCE):
        if any(i.role in (Role.FIRST_FRAME, Role.LAST_FRAME) for i in images):
            raise invalid("inputs", "Reference inputs cannot be mixed with first/last frames.")
        _check_references(request, model)
    return mode


def _check_references(request: GenerationRequest, model: Model) -> None:
    limits = model.references
    for kind in MediaKind:
        most = limits.most(kind.value)
        if sum(i.kind is kind for i in request.inputs) > most:
            raise invalid("inputs", f"`{model.id}` takes at most {most} reference "
                          f"{kind.value}s.")
    if limits.total is not None and len(request.inputs) > limits.total:
        raise invalid("inputs", f"`{model.id}` takes at most {limits.total} reference "
                      "files in all.")
    if not limits.audio_only and all(i.kind is MediaKind.AUDIO for i in request.inputs):
        raise invalid("inputs", f"Reference audio needs at least one image or video for "
                      f"`{model.id}`.")


def _task_type(request: GenerationRequest, model: Model) -> str | None:
    """`omni_reference_task_type`: edit and extend work on one reference video."""
    value = request.task_type
    if value is None:
        return None
    if value not in model.task_types:
        supported = ", ".join(model.task_types) or "none"
        raise invalid("task_type", f"`task_type` must be one of {supported} for "
                      f"`{model.id}`; got {value!r}.")
    videos = sum(i.kind is MediaKind.VIDEO for i in request.inputs)
    if value in (TaskType.EDIT, TaskType.EXTEND) and videos != 1:
        raise GatewayError(ErrorKind.INVALID_PARAMETER, f"A `{value}` task takes exactly "
                           f"one reference video (the source); got {videos}.",
                           param="task_type", rule=Rule.TASK_TYPE_MISMATCH)
    return value


def _checked_mode(request: GenerationRequest, model: Model) -> Mode:
    mode = mode_of(request)
    if mode in model.modes:
        return mode
    if mode is Mode.TEXT:
        raise GatewayError(
            ErrorKind.MISSING_PARAMETER,
            f"`{model.id}` generates from images: give at least one image.",
            param="inputs",
        )
    supported = ", ".join(sorted(m.value for m in model.modes))
    raise invalid("inputs", f"`{model.id}` does not support {mode.value} "
                  f"(supported: {supported}).")


def _duration(request: GenerationRequest, model: Model, task_type: str | None) -> int:
    if task_type == TaskType.EDIT:  # the output keeps the source's length
        if request.duration not in (None, -1):
            raise GatewayError(ErrorKind.INVALID_PARAMETER, "An edit keeps its source "
                               "video's length: `duration` must be -1 or left out.",
                               param="duration", rule=Rule.TASK_TYPE_CONSTRAINT)
        return -1
    duration = model.default_duration if request.duration is None else request.duration
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise invalid("duration", "`duration` must be an integer number of seconds.")
    if duration == -1 and model.auto_duration:
        return duration
    if duration not in model.durations():
        auto = " or -1 (the model picks)" if model.auto_duration else ""
        raise invalid("duration", f"`duration` must be between {model.min_duration} and "
                      f"{model.max_duration} seconds for `{model.id}`{auto}; got {duration}.")
    return duration


def _resolution(request: GenerationRequest, model: Model, mode: Mode) -> str:
    if request.draft:
        if not model.draft:
            raise invalid("draft", f"`{model.id}` has no draft mode.")
        if request.resolution not in (None, "480p"):
            raise invalid("resolution", "Draft tasks are rendered at 480p only.")
        if request.return_last_frame:
            raise invalid("return_last_frame", "Draft tasks cannot return a last frame.")
        return "480p"
    resolution = request.resolution or model.default_resolution
    allowed = model.resolutions
    if mode in (Mode.REFERENCE_IMAGES, Mode.MULTIMODAL_REFERENCE) and model.reference_resolutions:
        allowed = model.reference_resolutions
        if request.resolution is None and resolution not in allowed:
            resolution = allowed[-1]
    if resolution not in allowed:
        raise invalid("resolution", f"`resolution` must be one of {', '.join(allowed)} for "
                      f"`{model.id}` in this mode; got {resolution!r}.")
    return resolution


def _ratio(request: GenerationRequest, model: Model, mode: Mode, task_type: str | None) -> str:
    reference = mode in (Mode.REFERENCE_IMAGES, Mode.MULTIMODAL_REFERENCE)
    framed = f"a `{task_type}` task" if task_type in (TaskType.EDIT, TaskType.EXTEND) else (
        FRAMED.get(mode))
    if model.adaptive_frames and framed:
        if request.ratio not in (None, ADAPTIVE):
            raise GatewayError(ErrorKind.INVALID_PARAMETER, f"`ratio` must be adaptive with "
                               f"{framed} for `{model.id}`; got {request.ratio!r}.",
                               param="ratio", rule=Rule.TASK_TYPE_CONSTRAINT)
        return ADAPTIVE
    if request.ratio is None:
        return "16:9" if mode is Mode.TEXT or reference else ADAPTIVE
    if request.ratio == ADAPTIVE:
        if reference:
            raise invalid("ratio", "`adaptive` is not available with reference inputs.")
        if mode is Mode.TEXT and model.id.startswith("seedance-1-0"):
            raise invalid("ratio", f"`adaptive` needs an input image for `{model.id}`.")
        return ADAPTIVE
    if request.ratio not in RATIOS:
        raise invalid("ratio", f"`ratio` must be one of {', '.join(RATIOS)} or adaptive; "
                      f"got {request.ratio!r}.")
    return request.ratio


def _audio(request: GenerationRequest, model: Model) -> bool:
    if request.generate_audio is None:
        return model.audio
    if not isinstance(request.generate_audio, bool):
        raise invalid("generate_audio", "`generate_audio` must be true or false.")
    if request.generate_audio and not model.audio:
        raise invalid("generate_audio", f"`{model.id}` cannot generate audio.")
    return request.generate_audio


def _output_format(request: GenerationRequest, model: Model) -> str:
    value = MP4 if request.output_format is None else request.output_format
    if value not in model.output_formats:
        raise invalid("output_format", f"`output_format` must be "
                      f"{' or '.join(model.output_formats)} for `{model.id}`; got {value!r}.")
    return value


def _priority(request: GenerationRequest) -> int | None:
    value = request.priority
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value not in PRIORITIES):
        raise invalid("priority", f"`priority` must be an integer from {PRIORITIES[0]} to "
                      f"{PRIORITIES[-1]}.")
    return value


def _safety_identifier(request: GenerationRequest) -> str | None:
    value = request.safety_identifier
    if value is not None and (not isinstance(value, str)
                              or not 0 < len(value) <= MAX_SAFETY_IDENTIFIER):
        raise invalid("safety_identifier", "`safety_identifier` must be a string of 1 to "
                      f"{MAX_SAFETY_IDENTIFIER} characters.")
    return value


def _web_search(request: GenerationRequest, model: Model, mode: Mode) -> bool:
    if not request.web_search:
        return False
    if "web_search" not in model.tools:
        raise invalid("tools", f"`tools` (web_search) is not available for `{model.id}` "
                      "(Seedance 2.0 family only).")
    if mode is not Mode.TEXT:
        raise invalid("tools", "`tools` (web_search) works with text-only input: leave out "
                      "images, videos and audio.")
    return True


def _seed(request: GenerationRequest) -> int:
    seed = request.seed
    if isinstance(seed, bool) or not isinstance(seed, int) or not -1 <= seed <= MAX_SEED:
        raise invalid("seed", f"`seed` must be an integer from -1 to {MAX_SEED}.")
    return seed


def _expires_after(request: GenerationRequest) -> int:
    value = request.execution_expires_after
    low, high = EXPIRES_AFTER_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid("execution_expires_after",
                      f"`execution_expires_after` must be between {low} and {high} seconds.")
    return value
