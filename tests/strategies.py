"""Hypothesis strategies for the property tests: valid canonical requests per dialect, the
wire bodies that express them (test-side encoders), tasks in every state, and garbage."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from seedgate.dialects import apixo, defapi, runbase, seedance15pro
from seedgate.domain.catalog import ADAPTIVE, CATALOG, RATIOS, Mode, Model, ReferenceLimits
from seedgate.domain.errors import FailureCode
from seedgate.domain.request import (
    MAX_SEED,
    GenerationRequest,
    MediaInput,
    MediaKind,
    Role,
)
from seedgate.domain.task import Outputs, Rendition, Task, TaskStatus

# -- building blocks --------------------------------------------------------------------

LOWER = "abcdefghijklmnopqrstuvwxyz"
HOSTS = st.builds("{}{}.{}".format, st.sampled_from(LOWER),
                  st.text(LOWER + "0123456789-", max_size=12), st.text(LOWER, min_size=2,
                                                                       max_size=6))
PATHS = st.text(LOWER + LOWER.upper() + "0123456789._~%/-", max_size=24)
HTTP_URLS = st.builds(lambda scheme, host, path: f"{scheme}://{host}/{path}",
                      st.sampled_from(["http", "https"]), HOSTS, PATHS)
BASE64 = st.text(LOWER + LOWER.upper() + "0123456789+/", min_size=4, max_size=32)


def data_urls(kind: str, subtypes: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.builds(lambda sub, data: f"data:{kind}/{sub};base64,{data}",
                     st.sampled_from(subtypes), BASE64)


IMAGE_URLS = HTTP_URLS | data_urls("image", ("png", "jpeg", "webp"))
MEDIA_URLS = {
    MediaKind.IMAGE: IMAGE_URLS,
    MediaKind.VIDEO: HTTP_URLS | data_urls("video", ("mp4",)),
    MediaKind.AUDIO: HTTP_URLS | data_urls("audio", ("mpeg", "wav")),
}


def prompts(max_size: int, *, min_size: int = 1, blank_ok: bool = False) -> Any:
    text = st.text(min_size=min_size, max_size=max_size)
    return text if blank_ok else text.filter(lambda s: s.strip())


def names_of(model: Model) -> list[str]:
    return [name for name in (model.id, model.byteplus_id, model.volcengine_id, *model.aliases)
            if name]


def recased(name: str) -> st.SearchStrategy[str]:
    """A model name as a client might type it (the catalog ignores case)."""
    return st.sampled_from([name, name.upper(), name.title()])


def frames(urls: list[str] | tuple[str, ...]) -> tuple[MediaInput, ...]:
    roles = (Role.FIRST_FRAME, Role.LAST_FRAME)
    return tuple(MediaInput(MediaKind.IMAGE, url, role)
                 for url, role in zip(urls, roles, strict=False))


def absent_or(value: Any) -> st.SearchStrategy[Any]:
    """A default value on the wire: left out (marker), JSON null, or given."""
    return st.sampled_from([OMIT, None, value])


OMIT = object()


def put(body: dict[str, Any], name: str, value: Any) -> None:
    if value is not OMIT:
        body[name] = value


# -- seedance15pro ------------------------------------------------------------------------

@st.composite
def seedance_cases(draw: Any) -> tuple[GenerationRequest, dict[str, Any]]:
    images = draw(st.lists(IMAGE_URLS, max_size=seedance15pro.MAX_IMAGES))
    ratio = ADAPTIVE if images else draw(st.sampled_from(seedance15pro.ASPECT_RATIOS))
    request = GenerationRequest(
        model=seedance15pro.MODEL, prompt=draw(prompts(seedance15pro.MAX_PROMPT_CHARS)),
        inputs=frames(images), duration=draw(st.sampled_from([5, 10])), ratio=ratio,
        generate_audio=draw(st.booleans()),
    )
    assert request.duration is not None
    body: dict[str, Any] = {"prompt": request.prompt,
                            "duration": draw(st.sampled_from([str(request.duration),
                                                              request.duration]))}
    if images:  # the images decide; any documented ratio given too is ignored
        put(body, "aspect_ratio",
            draw(st.sampled_from([OMIT, None, *seedance15pro.ASPECT_RATIOS])))
        body["image_urls"] = list(images)
    else:
        body["aspect_ratio"] = ratio
        put(body, "image_urls", draw(st.sampled_from([OMIT, None, []])))
    put(body, "sound", True if request.generate_audio else draw(absent_or(False)))
    return request, body


# -- runbase ------------------------------------------------------------------------------

@st.composite
def runbase_cases(draw: Any) -> tuple[GenerationRequest, dict[str, Any]]:
    sold = draw(st.sampled_from(CATALOG.models))  # the model named on the wire

    def target(count: int) -> Model:
        variant = runbase.IMAGE_VARIANTS.get(sold.id) if count else None
        return CATALOG[variant] if variant else sold

    def mode(count: int) -> Mode:
        return (Mode.TEXT, Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME)[count]

    count = draw(st.sampled_from([n for n in range(3) if mode(n) in target(n).modes]))
    model = target(count)
    schema = runbase.SCHEMAS.get(sold.id)
    images = draw(st.lists(IMAGE_URLS, min_size=count, max_size=count))
    if schema is not None and schema.ratios is not None:
        ratios: list[str] = list(schema.ratios)
    elif count and model.adaptive_frames:
        ratios = [ADAPTIVE]
    else:
        ratios = [*RATIOS, *([ADAPTIVE] if count or not model.id.startswith("seedance-1-0")
                             else [])]
    resolutions = schema.resolutions if schema is not None else model.resolutions
    durations = ([int(d) for d in schema.durations] if schema is not None
                 else [*model.durations(), *([-1] if model.auto_duration else [])])
    audio = model.audio and (schema is None or schema.audio)
    request = GenerationRequest(
        model=model.id, prompt=draw(prompts(300)), inputs=frames(images),
        duration=draw(st.none() | st.sampled_from(durations)),
        ratio=draw(st.none() | st.sampled_from(ratios)),
        resolution=draw(st.none() | st.sampled_from(resolutions)),
        generate_audio=draw(st.sampled_from([None, False, *([True] if audio else [])])),
    )
    fields: dict[str, Any] = {"prompt": request.prompt}
    if images:
        fields["image_urls"] = list(images)
    for name, value in (("aspect_ratio", request.ratio), ("resolution", request.resolution),
                        ("generate_audio", request.generate_audio)):
        put(fields, name, draw(absent_or(None)) if value is None else value)
    if request.duration is None:
        put(fields, "duration", draw(absent_or(None)))
    else:
        fields["duration"] = draw(st.sampled_from([str(request.duration), request.duration]))
    name = draw(st.sampled_from(names_of(sold)).flatmap(recased))
    return request, {"model": name, "input": fields}


# -- defapi -------------------------------------------------------------------------------

def references(model: Model) -> bool:
    return any(mode in model.modes for mode in defapi.REFERENCE_MODES)


@st.composite
def defapi_cases(draw: Any) -> tuple[GenerationRequest, dict[str, Any]]:
    model = draw(st.sampled_from(
        [m for m in CATALOG.models if set(defapi.DURATIONS) & set(m.durations())]))
    name = draw(st.sampled_from(names_of(model)))
    if references(model):
        low = 0 if Mode.TEXT in model.modes else 1
        count = draw(st.integers(low, min(defapi.MAX_IMAGES, model.max_reference_images)))
    else:
        modes = (Mode.TEXT, Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME)
        count = draw(st.sampled_from([n for n in range(3) if modes[n] in model.modes]))
    images = draw(st.lists(IMAGE_URLS, min_size=count, max_size=count))
    prompt = draw(prompts(300, min_size=0, blank_ok=bool(images)).filter(
        lambda text: all(1 <= int(n) <= len(images)
                         for n in defapi.IMAGE_REFERENCE.findall(text) if len(n) < 9)
        and all(len(n) < 9 for n in defapi.IMAGE_REFERENCE.findall(text))))
    duration = draw(st.sampled_from([d for d in defapi.DURATIONS if d in model.durations()]))
    ratio = draw(st.sampled_from(defapi.RATIOS))
    role = Role.REFERENCE_IMAGE if references(model) else None
    inputs = tuple(MediaInput(MediaKind.IMAGE, url, role) for url in images) if role else (
        frames(images))
    request = GenerationRequest(model=name, prompt=prompt, inputs=inputs, duration=duration,
                                ratio=ratio)
    content: list[Any] = [{"type": "image_url", "image_url": {"url": url}} for url in images]
    if prompt or draw(st.booleans()):
        content.insert(draw(st.integers(0, len(content))), {"type": "text", "text": prompt})
    body: dict[str, Any] = {"content": content}
    put(body, "model", draw(absent_or(name)) if name == defapi.DEFAULT_MODEL else name)
    put(body, "duration", draw(absent_or(duration)) if duration == defapi.DEFAULT_DURATION
        else duration)
    put(body, "ratio", draw(absent_or(ratio)) if ratio == defapi.DEFAULT_RATIO else ratio)
    put(body, "callback_url", draw(st.sampled_from([OMIT, None]) | HTTP_URLS))
    return request, body


# -- apixo --------------------------------------------------------------------------------

@st.composite
def apixo_cases(draw: Any) -> tuple[str, GenerationRequest, dict[str, Any]]:  # noqa: PLR0915
    model = draw(st.sampled_from(list(apixo.MODES)))
    mode = draw(st.sampled_from(apixo.MODES[model]))
    low, high = apixo.DURATIONS[model]
    duration = draw(st.none() | st.integers(low, high))
    resolution = draw(st.none() | st.sampled_from(apixo.RESOLUTIONS[model]))
    fields: dict[str, Any] = {}
    put(fields, "mode", mode if mode != apixo.TEXT else draw(absent_or(apixo.TEXT)))
    if model == apixo.V1_5:
        first, last = apixo.V1_5_PROMPT_CHARS
        prompt = draw(prompts(200, min_size=first).filter(
            lambda s: first <= len(s) <= last))
        images = draw(st.lists(HTTP_URLS, min_size=1, max_size=2)) if mode == apixo.IMAGE \
            else []
        ratio = draw(st.sampled_from([*([ADAPTIVE] if images else []), *RATIOS]))
        sound = draw(st.booleans())
        fixed = draw(st.booleans())
        request = GenerationRequest(model=model, prompt=prompt, inputs=frames(images),
                                    duration=duration, ratio=ratio, resolution=resolution,
                                    generate_audio=sound, camera_fixed=fixed)
        fields["sound"] = sound
        if images:
            fields["image_urls"] = images
        put(fields, "fixed_lens", True if fixed else draw(absent_or(False)))
        if ratio == ADAPTIVE:
            put(fields, "aspect_ratio", draw(absent_or(None)))
        elif ratio == apixo.V1_5_DEFAULT_RATIO and not images:
            put(fields, "aspect_ratio", draw(absent_or(ratio)))
        else:
            fields["aspect_ratio"] = ratio
    else:
        prompt = draw(prompts(300))
        sound = draw(st.sampled_from([None, False, True]))
        put(fields, "sound", draw(absent_or(None)) if sound is None else sound)
        searchable = mode == apixo.TEXT and "web_search" in CATALOG[model].tools
        web_search = draw(st.sampled_from([OMIT, None, False, *([True] if searchable else [])]))
        put(fields, "web_search", web_search)
        if mode == apixo.OMNI:
            limits = CATALOG[model].references
            images = draw(st.lists(HTTP_URLS, max_size=most_images(limits)))
            videos = draw(st.lists(HTTP_URLS, min_size=0 if images else 1,
                                   max_size=limits.videos))
            audios = draw(st.lists(HTTP_URLS, max_size=limits.audios))
            inputs = (
                *(MediaInput(MediaKind.IMAGE, u, Role.REFERENCE_IMAGE) for u in images),
                *(MediaInput(MediaKind.VIDEO, u, Role.REFERENCE_VIDEO) for u in videos),
                *(MediaInput(MediaKind.AUDIO, u, Role.REFERENCE_AUDIO) for u in audios),
            )
            ratio = draw(st.none() | st.sampled_from(RATIOS))
            for name, urls in (("image_urls", images), ("video_urls", videos),
                               ("audio_urls", audios)):
                put(fields, name, list(urls) if urls else draw(st.sampled_from([OMIT, None,
                                                                                   []])))
            put(fields, "aspect_ratio", draw(st.sampled_from([OMIT, None, apixo.AUTO]))
                if ratio is None else ratio)
        else:
            images = [] if mode == apixo.TEXT else draw(
                st.lists(HTTP_URLS, min_size=1, max_size=apixo.MAX_FRAMES))
            inputs = frames(images)
            if images:
                fields["image_urls"] = images
            ratio = draw(st.sampled_from([None, ADAPTIVE, *(
                [] if images and CATALOG[model].adaptive_frames else RATIOS)]))
            wire = apixo.AUTO if ratio == ADAPTIVE else ratio
            put(fields, "aspect_ratio", draw(absent_or(None)) if wire is None else wire)
        request = GenerationRequest(model=model, prompt=prompt, inputs=inputs,
                                    duration=duration, ratio=ratio, resolution=resolution,
                                    generate_audio=sound, web_search=web_search is True)
    fields["prompt"] = prompt
    put(fields, "duration", draw(absent_or(None)) if duration is None else duration)
    put(fields, "resolution", draw(absent_or(None)) if resolution is None else resolution)
    body: dict[str, Any] = {"input": fields}
    request_type = draw(st.sampled_from([OMIT, None, *apixo.REQUEST_TYPES]))
    put(body, "request_type", request_type)
    if request_type == "callback":
        body["callback_url"] = draw(HTTP_URLS)
    put(body, "provider", draw(st.sampled_from([OMIT, None, *apixo.PROVIDERS])))
    return model, request, body


# -- any valid canonical request (native) ---------------------------------------------------

def most_images(limits: ReferenceLimits) -> int:
    """Reference images that fit beside the most videos and audios within the total."""
    return min(limits.images, (limits.total or limits.images + limits.videos + limits.audios)
               - limits.videos - limits.audios)


@st.composite
def valid_requests(draw: Any, model: Model, name: str) -> GenerationRequest:
    """A request `normalize` accepts for `model`, with every optional field drawn."""
    mode = draw(st.sampled_from(sorted(model.modes)))
    reference = mode in (Mode.REFERENCE_IMAGES, Mode.MULTIMODAL_REFERENCE)

    def media(kind: MediaKind, role: Role, low: int, high: int) -> list[MediaInput]:
        urls = draw(st.lists(MEDIA_URLS[kind], min_size=low, max_size=high))
        return [MediaInput(kind, url, role) for url in urls]

    if mode is Mode.TEXT:
        inputs: list[MediaInput] = []
    elif mode is Mode.FIRST_FRAME:
        inputs = media(MediaKind.IMAGE, Role.FIRST_FRAME, 1, 1)
    elif mode is Mode.FIRST_LAST_FRAME:
        inputs = [*media(MediaKind.IMAGE, Role.FIRST_FRAME, 1, 1),
                  *media(MediaKind.IMAGE, Role.LAST_FRAME, 1, 1)]
        inputs = draw(st.permutations(inputs))
    elif mode is Mode.REFERENCE_IMAGES:
        inputs = media(MediaKind.IMAGE, Role.REFERENCE_IMAGE, 1, model.max_reference_images)
    else:
        limits = model.references
        images = media(MediaKind.IMAGE, Role.REFERENCE_IMAGE, 0, most_images(limits))
        videos = media(MediaKind.VIDEO, Role.REFERENCE_VIDEO, 0 if images else 1,
                       limits.videos)
        audios = media(MediaKind.AUDIO, Role.REFERENCE_AUDIO, 0 if videos else 1,
                       limits.audios)
        inputs = draw(st.permutations([*images, *videos, *audios]))
    draft = model.draft and draw(st.booleans())
    if draft:
        resolution = draw(st.sampled_from([None, "480p"]))
    else:
        allowed = (model.reference_resolutions if reference and model.reference_resolutions
                   else model.resolutions)
        resolution = draw(st.none() | st.sampled_from(allowed))
    adaptive = not reference and not (mode is Mode.TEXT and model.id.startswith("seedance-1-0"))
    framed = mode in (Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME) and model.adaptive_frames
    durations = [*model.durations(), *([-1] if model.auto_duration else [])]
    settable = "seed" not in model.rejected_fields  # the 2.0 family refuses seed, camera
    return GenerationRequest(
        model=name, prompt=draw(prompts(200, blank_ok=bool(inputs))), inputs=tuple(inputs),
        duration=draw(st.none() | st.sampled_from(durations)),
        ratio=draw(st.none() | st.sampled_from([*([] if framed else RATIOS),
                                                 *([ADAPTIVE] if adaptive else [])])),
        resolution=resolution,
        generate_audio=draw(st.sampled_from([None, False, *([True] if model.audio else [])])),
        seed=draw(st.integers(-1, MAX_SEED)) if settable else -1,
        camera_fixed=draw(st.booleans()) if settable else False,
        watermark=draw(st.booleans()), draft=draft,
        return_last_frame=False if draft else draw(st.booleans()),
    )


@st.composite
def any_valid_requests(draw: Any) -> GenerationRequest:
    model = draw(st.sampled_from(CATALOG.models))
    name = draw(st.sampled_from(names_of(model)))
    return draw(valid_requests(model, name))


# -- tasks --------------------------------------------------------------------------------

@st.composite
def tasks(draw: Any, request: GenerationRequest, client_request: dict[str, Any],
          dialect: str) -> tuple[Task, list[str]]:
    """A task in any state, and the output URLs a read would pass (only when succeeded)."""
    status = draw(st.sampled_from(list(TaskStatus)))
    created = draw(st.integers(1_600_000_000_000, 1_900_000_000_000))
    price = draw(st.integers(0, 10**7))
    refunded = price if status.refundable and draw(st.booleans()) else draw(
        st.integers(0, price)) if status.refundable else 0
    completed = created + draw(st.integers(0, 10**8)) if status.terminal else None
    failed = status.refundable
    outputs = None
    urls: list[str] = []
    if status is TaskStatus.SUCCEEDED:
        rendition = Rendition(
            width=draw(st.integers(16, 4096)), height=draw(st.integers(16, 4096)),
            duration=draw(st.integers(1, 15)), ratio=draw(st.sampled_from(RATIOS)),
            seed=draw(st.integers(0, MAX_SEED)), has_audio=draw(st.booleans()))
        last = draw(st.booleans())
        outputs = Outputs("videos/x.mp4", rendition, "frames/x.png" if last else None)
        urls = draw(st.lists(HTTP_URLS, min_size=1, max_size=2 if last else 1))
    task = Task(
        id="task_" + draw(st.text(LOWER + "0123456789", min_size=6, max_size=20)), key_id=1,
        dialect=dialect, request=request, client_request=client_request, status=status,
        price=price, refunded=refunded, created_at=created,
        updated_at=completed or created, deadline_at=created + 3_600_000,
        progress=100 if status is TaskStatus.SUCCEEDED else draw(st.integers(0, 99)),
        error_code=draw(st.sampled_from(list(FailureCode))).value if failed else None,
        error_message=draw(st.text(min_size=1, max_size=60)) if failed else None,
        outputs=outputs, started_at=None if status is TaskStatus.QUEUED else created,
        completed_at=completed,
    )
    return task, urls


# -- garbage ------------------------------------------------------------------------------

SCALARS = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=40))
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=5),
    max_leaves=20,
)
PIECES = ["a", "9", "@image", "@image9", " ", "\u0000", "é", "\U0001f600", "{", "%", "\\",
          "--rs 720p ", "data:image/png;base64,", "https://x.example/", "-1", "\ufeff"]
HUGE_STRINGS = st.builds(
    lambda head, piece, times: head + piece * times,
    st.sampled_from(["", "@image", "https://", "data:image/png;base64,", "-", "1"]),
    st.sampled_from(PIECES), st.integers(1, 60_000),
)
# Strings of digits past Python's 4300-digit limit for int(): where a codec converts them.
DIGIT_BOMBS = st.sampled_from(["9" * 5000, "@image" + "9" * 5000, "-" + "1" * 4400])
NASTY = st.one_of(JSON_VALUES, HUGE_STRINGS, DIGIT_BOMBS,
                  st.integers(min_value=2**63 - 2, max_value=2**70),
                  st.integers(max_value=-(2**63) + 1, min_value=-(2**70)))


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside a JSON value where another value could go."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths_of(item, (*prefix, index))
    return found


def mutated(body: Any, path: tuple[Any, ...], replacement: Any, delete: bool) -> Any:
    """`body` (a copy) with the value at `path` replaced, or removed."""
    copy = json.loads(json.dumps(body))
    holder = copy
    for step in path[:-1]:
        holder = holder[step]
    if delete:
        del holder[path[-1]]
    else:
        holder[path[-1]] = replacement
    return copy


@st.composite
def mutations(draw: Any, valid: st.SearchStrategy[Any]) -> Any:
    body = draw(valid)
    places = paths_of(body)
    if not places:
        return body
    path = draw(st.sampled_from(places))
    return mutated(body, path, draw(NASTY), draw(st.booleans()))


def encoded(value: Any) -> bytes:
    """JSON text as a careless client writes it: NaN and Infinity included."""
    return json.dumps(value, allow_nan=True).encode()


BYTES = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda raw: b'{"prompt": "' + raw + b'", "model": "seedance-2.0"}',
              st.binary(min_size=1, max_size=40)),
    st.sampled_from([b"", b" ", b"null", b"[]", b"{}", b'{"a":', b"\xff\xfe\x00", b"{" * 5000,
                     b"[" * 100_000, b'{"prompt": "\xed\xa0\x80"}', b"1e999999", b'"\xc3"',
                     b"9" * 5000]),
)


def wire_model_names() -> st.SearchStrategy[str]:
    return st.sampled_from([name for model in CATALOG.models for name in names_of(model)])


# -- native -------------------------------------------------------------------------------

TRUE_WORDS = ("true", "1", "yes", "on", "TRUE", " Yes ")
FALSE_WORDS = ("false", "0", "no", "off", "False", " OFF ")
BOOLEAN_FIELDS = ("generate_audio", "camera_fixed", "watermark", "draft", "return_last_frame")
DEFAULT_ROLES = {MediaKind.IMAGE: Role.FIRST_FRAME, MediaKind.VIDEO: Role.REFERENCE_VIDEO,
                 MediaKind.AUDIO: Role.REFERENCE_AUDIO}


@st.composite
def native_cases(draw: Any, *, form: bool = False) -> tuple[GenerationRequest, dict[str, Any]]:
    """A valid request and a `/v1/videos` body for it; with `form`, every value a string
    (the openai SDK's multipart fields), else JSON typed either way."""
    request = draw(any_valid_requests())
    body: dict[str, Any] = {}
    if request.model != "seedance-1-5-pro" or draw(st.booleans()):
        body["model"] = request.model
    if request.prompt or draw(st.booleans()):
        body["prompt"] = request.prompt
    inputs = list(request.inputs)
    first = inputs[0] if inputs else None
    if (not form and first is not None and first.kind is MediaKind.IMAGE
            and first.role is Role.FIRST_FRAME and draw(st.booleans())):
        body["input_reference"] = {"image_url": first.url}
        inputs = inputs[1:]
    items = []
    for item in inputs:
        entry: dict[str, Any] = {"url": item.url}
        if item.kind is not MediaKind.IMAGE or draw(st.booleans()):
            entry["type"] = item.kind.value
        if item.role is not DEFAULT_ROLES[item.kind] or draw(st.booleans()):
            entry["role"] = item.role.value
        items.append(entry)
    if items:
        body["inputs"] = json.dumps(items) if form or draw(st.booleans()) else items

    def number(value: int) -> Any:
        return str(value) if form or draw(st.booleans()) else value

    def flag(value: bool) -> Any:
        if form or draw(st.booleans()):
            return draw(st.sampled_from(TRUE_WORDS if value else FALSE_WORDS))
        return value

    if request.duration is not None:
        for name in draw(st.sampled_from([("seconds",), ("duration",),
                                          ("seconds", "duration")])):
            body[name] = number(request.duration)
    model = CATALOG[request.model]
    sized = (request.ratio not in (None, ADAPTIVE) and request.resolution is not None
             and draw(st.booleans()))
    if sized:
        assert request.ratio is not None and request.resolution is not None
        width, height = model.pixel_size(request.resolution, request.ratio)
        body["size"] = f"{width}x{height}"
    for name in ("ratio", "resolution"):
        value = getattr(request, name)
        if value is not None and (not sized or draw(st.booleans())):
            body[name] = value
    if request.generate_audio is not None:
        body["generate_audio"] = flag(request.generate_audio)
    for name in BOOLEAN_FIELDS[1:]:
        value = getattr(request, name)
        if value or draw(st.booleans()):
            body[name] = flag(value)
    if request.seed != -1 or draw(st.booleans()):
        body["seed"] = number(request.seed)
    return request, body


def as_form(body: dict[str, Any], flatten: bool) -> dict[str, list[str]]:
    """The form fields the openai SDK would send for `body` (values already strings);
    with `flatten`, `inputs` as repeated `inputs[][key]` fields when every item has the
    same keys."""
    fields = {name: [value] for name, value in body.items() if name != "inputs"}
    if "inputs" in body:
        items = json.loads(body["inputs"])
        keys = {tuple(sorted(item)) for item in items}
        if flatten and len(keys) == 1:
            for key in next(iter(keys)):
                fields[f"inputs[][{key}]"] = [item[key] for item in items]
        else:
            fields["inputs"] = [body["inputs"]]
    return fields
