"""The Seedance model catalog: ids, aliases, modes, sizes, limits and lifecycle (ark.md
section 5.9, seedance-2026-h2.md)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from seedgate.domain.lifecycle import LITE_RETIREMENT, PRO_1_5_RETIREMENT, Retirement

FPS = 24

RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9")
ADAPTIVE = "adaptive"
RESOLUTIONS = ("480p", "720p", "1080p", "4k")


class Mode(StrEnum):
    """How a model may be driven; each mode implies which media inputs it takes."""

    TEXT = "text_to_video"
    FIRST_FRAME = "first_frame"
    FIRST_LAST_FRAME = "first_last_frame"
    REFERENCE_IMAGES = "reference_images"
    MULTIMODAL_REFERENCE = "multimodal_reference"


Size = tuple[int, int]
SizeTable = dict[str, dict[str, Size]]

# Pixel sizes (width, height) per resolution and ratio, from the official tables.
SIZES_V1_0: SizeTable = {
    "480p": {"16:9": (864, 480), "4:3": (736, 544), "1:1": (640, 640),
             "3:4": (544, 736), "9:16": (480, 864), "21:9": (960, 416)},
    "720p": {"16:9": (1248, 704), "4:3": (1120, 832), "1:1": (960, 960),
             "3:4": (832, 1120), "9:16": (704, 1248), "21:9": (1504, 640)},
    "1080p": {"16:9": (1920, 1088), "4:3": (1664, 1248), "1:1": (1440, 1440),
              "3:4": (1248, 1664), "9:16": (1088, 1920), "21:9": (2176, 928)},
}
SIZES_V1_5: SizeTable = {
    "480p": {"16:9": (864, 496), "4:3": (752, 560), "1:1": (640, 640),
             "3:4": (560, 752), "9:16": (496, 864), "21:9": (992, 432)},
    "720p": {"16:9": (1280, 720), "4:3": (1112, 834), "1:1": (960, 960),
             "3:4": (834, 1112), "9:16": (720, 1280), "21:9": (1470, 630)},
    "1080p": {"16:9": (1920, 1080), "4:3": (1664, 1248), "1:1": (1440, 1440),
              "3:4": (1248, 1664), "9:16": (1080, 1920), "21:9": (2206, 946)},
}
# 2.x: 1.5 Pro's table, and 4K at twice 1080p a side (3840x2160 for 16:9; the other ratios
# are inferred, no official table is published).
SIZES_V2: SizeTable = {
    **SIZES_V1_5,
    "4k": {ratio: (w * 2, h * 2) for ratio, (w, h) in SIZES_V1_5["1080p"].items()},
}


class Family(StrEnum):
    """Model generations; several rules hold for a whole family (seedance-2026-h2.md)."""

    V1_0 = "1.0"
    V1_5 = "1.5"
    V2_0 = "2.0"  # 2.0, 2.0 fast, 2.0 mini
    V2_5 = "2.5"  # 2.5, 2.5 Premium


class TaskType(StrEnum):
    """Ark's `omni_reference_task_type` (2.5 family). `auto` lets the model decide."""

    AUTO = "auto"
    REFERENCE = "reference"
    EDIT = "edit"  # rework a source video: ratio adaptive, duration -1, keeps its length
    EXTEND = "extend"  # continue a source video: the output is only the new segment


MP4 = "mp4"
MOV = "mov"
MIN_EDIT_SOURCE_SECONDS = 4  # an edit's source video is at least this long
DRAFT_RESOLUTION = "480p"
# Fields the 2.0 family refuses with 400 InvalidParameter (a value other than the default).
V2_0_REJECTED = ("frames", "seed", "camera_fixed", "draft")


@dataclass(frozen=True, slots=True)
class ReferenceLimits:
    """How many reference media a model takes, and how long they may be (seconds)."""

    images: int = 0
    videos: int = 0
    audios: int = 0
    total: int | None = None  # all reference files together
    video_seconds: int | None = None  # the reference videos together
    audio_seconds: int | None = None  # the reference audios together
    media_seconds: int | None = None  # reference videos and audios together
    audio_only: bool = False  # audio references without any image or video

    def most(self, kind: str) -> int:
        """The most references of a kind: "image", "video" or "audio"."""
        return {"image": self.images, "video": self.videos, "audio": self.audios}[kind]


@dataclass(frozen=True, slots=True)
class Model:
    """One Seedance model and everything the gateway must know to accept a request for it.

    Rendering reads: `sizes` (4K included), `output_formats`, `task_types`, `draft`,
    `draft_resolution`, `final_resolution`, `hevc_resolutions`, `default_duration`.
    """

    id: str
    display_name: str
    family: Family
    byteplus_id: str
    volcengine_id: str | None  # None: not offered on Volcengine (or unknown)
    aliases: tuple[str, ...]
    modes: frozenset[Mode]
    resolutions: tuple[str, ...]
    default_resolution: str
    min_duration: int
    max_duration: int
    sizes: SizeTable
    audio: bool = False
    auto_duration: bool = False
    default_duration: int = 5  # -1: the model picks
    frames: bool = False
    draft: bool = False
    final_resolution: str | None = None  # a draft's final; None: as the request asks
    references: ReferenceLimits = ReferenceLimits()
    reference_resolutions: tuple[str, ...] = ()
    output_formats: tuple[str, ...] = (MP4,)
    task_types: tuple[TaskType, ...] = ()
    adaptive_frames: bool = False  # frames, edit and extend refuse a concrete ratio
    rejected_fields: tuple[str, ...] = ()
    flex: bool = True  # service_tier flex
    tools: tuple[str, ...] = ()  # e.g. web_search, text-only input
    echoes_audio: bool = True  # the task object shows generate_audio
    allow_listed: bool = False  # served to allow-listed accounts only: operators enable it
    hevc_resolutions: tuple[str, ...] = ()  # rendered as H.265 (the rest H.264)
    retirements: tuple[Retirement, ...] = ()

    @property
    def draft_resolution(self) -> str | None:
        return DRAFT_RESOLUTION if self.draft else None

    @property
    def max_reference_images(self) -> int:
        return self.references.images

    def pixel_size(self, resolution: str, ratio: str) -> Size:
        return self.sizes[resolution][ratio]

    def durations(self) -> range:
        return range(self.min_duration, self.max_duration + 1)

    def retirement(self, provider: str) -> Retirement | None:
        """Its retirement at a provider kind (e.g. "ark-byteplus"), if one is known."""
        return next((r for r in self.retirements if r.provider == provider), None)


_ALL_RES = ("480p", "720p", "1080p")
_V1 = {"family": Family.V1_0, "min_duration": 2, "max_duration": 12, "sizes": SIZES_V1_0,
       "frames": True}
_V2_MODES = frozenset({Mode.TEXT, Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME,
                       Mode.REFERENCE_IMAGES, Mode.MULTIMODAL_REFERENCE})
_V2_0_REFERENCES = ReferenceLimits(images=9, videos=3, audios=3, total=12, video_seconds=15,
                                   audio_seconds=15)
_V2_0 = {"family": Family.V2_0, "modes": _V2_MODES, "min_duration": 4, "max_duration": 15,
         "sizes": SIZES_V2, "audio": True, "auto_duration": True,
         "references": _V2_0_REFERENCES, "rejected_fields": V2_0_REJECTED, "flex": False,
         "tools": ("web_search",)}
_V2_5 = {"family": Family.V2_5, "modes": _V2_MODES, "min_duration": 4, "max_duration": 30,
         "sizes": SIZES_V2, "audio": True, "draft": True,
         "references": ReferenceLimits(images=30, videos=10, audios=10, total=50,
                                       media_seconds=30, audio_only=True),
         "output_formats": (MP4, MOV), "task_types": tuple(TaskType), "adaptive_frames": True}

MODELS: tuple[Model, ...] = (
    Model(
        id="seedance-1-0-lite-t2v", display_name="Seedance 1.0 Lite (text to video)",
        byteplus_id="seedance-1-0-lite-t2v-250428",
        volcengine_id="doubao-seedance-1-0-lite-t2v-250428",
        aliases=("bytedance/seedance-1-lite",),
        modes=frozenset({Mode.TEXT}), resolutions=_ALL_RES, default_resolution="720p",
        retirements=(LITE_RETIREMENT,), **_V1,
    ),
    Model(
        id="seedance-1-0-lite-i2v", display_name="Seedance 1.0 Lite (image to video)",
        byteplus_id="seedance-1-0-lite-i2v-250428",
        volcengine_id="doubao-seedance-1-0-lite-i2v-250428",
        aliases=(),
        modes=frozenset({Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME, Mode.REFERENCE_IMAGES}),
        resolutions=_ALL_RES, default_resolution="720p", references=ReferenceLimits(images=4),
        reference_resolutions=("480p", "720p"), retirements=(LITE_RETIREMENT,), **_V1,
    ),
    Model(
        id="seedance-1-0-pro", display_name="Seedance 1.0 Pro",
        byteplus_id="seedance-1-0-pro-250528", volcengine_id="doubao-seedance-1-0-pro-250528",
        aliases=("bytedance/seedance-1-pro",),
        modes=frozenset({Mode.TEXT, Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME}),
        resolutions=_ALL_RES, default_resolution="1080p", **_V1,
    ),
    Model(
        id="seedance-1-0-pro-fast", display_name="Seedance 1.0 Pro Fast",
        byteplus_id="seedance-1-0-pro-fast-251015",
        volcengine_id="doubao-seedance-1-0-pro-fast-251015",
        aliases=(),
        modes=frozenset({Mode.TEXT, Mode.FIRST_FRAME}),
        resolutions=_ALL_RES, default_resolution="1080p", **_V1,
    ),
    Model(
        id="seedance-1-5-pro", display_name="Seedance 1.5 Pro", family=Family.V1_5,
        byteplus_id="seedance-1-5-pro-251215", volcengine_id="doubao-seedance-1-5-pro-251215",
        aliases=("bytedance/seedance-1.5-pro", "seedance-1.5-pro"),
        modes=frozenset({Mode.TEXT, Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME}),
        resolutions=_ALL_RES, default_resolution="720p", min_duration=4, max_duration=12,
        sizes=SIZES_V1_5, audio=True, auto_duration=True, draft=True,
        retirements=(PRO_1_5_RETIREMENT,),
    ),
    Model(
        id="seedance-2-0", display_name="Seedance 2.0",
        byteplus_id="dreamina-seedance-2-0-260128", volcengine_id="doubao-seedance-2-0-260128",
        aliases=("bytedance/seedance-2", "seedance-2.0"),
        resolutions=(*_ALL_RES, "4k"), default_resolution="720p",
        reference_resolutions=(*_ALL_RES, "4k"), hevc_resolutions=("4k",), **_V2_0,
    ),
    Model(
        id="seedance-2-0-fast", display_name="Seedance 2.0 Fast",
        byteplus_id="dreamina-seedance-2-0-fast-260128",
        volcengine_id="doubao-seedance-2-0-fast-260128",
        aliases=("seedance-2.0-fast",),
        resolutions=("480p", "720p"), default_resolution="720p",
        reference_resolutions=("480p", "720p"), **_V2_0,
    ),
    Model(
        id="seedance-2-0-mini", display_name="Seedance 2.0 Mini",
        byteplus_id="dreamina-seedance-2-0-mini-260615",
        volcengine_id="doubao-seedance-2-0-mini-260615",
        aliases=("seedance-2.0-mini",),
        resolutions=("480p", "720p"), default_resolution="720p",
        reference_resolutions=("480p", "720p"), echoes_audio=False, **_V2_0,
    ),
    Model(
        id="seedance-2-5", display_name="Seedance 2.5",
        byteplus_id="dreamina-seedance-2-5-260628", volcengine_id="doubao-seedance-2-5-260628",
        aliases=("seedance-2.5",),
        resolutions=_ALL_RES, default_resolution="720p", reference_resolutions=_ALL_RES,
        auto_duration=True, default_duration=-1, final_resolution="1080p",
        hevc_resolutions=("1080p",), **_V2_5,
    ),
    Model(
        id="seedance-2-5-premium", display_name="Seedance 2.5 Premium",
        byteplus_id="dreamina-seedance-2-5-premium-260915", volcengine_id=None,
        aliases=("seedance-2.5-premium",),
        resolutions=("4k",), default_resolution="4k", reference_resolutions=("4k",),
        final_resolution="4k", allow_listed=True, hevc_resolutions=("4k",), **_V2_5,
    ),
)


class Catalog:
    """Resolves any name a dialect uses (canonical, alias, BytePlus or Volcengine id)."""

    def __init__(self, models: tuple[Model, ...] = MODELS) -> None:
        self.models = models
        self._by_name: dict[str, Model] = {}
        for model in models:
            for name in (model.id, model.byteplus_id, model.volcengine_id, *model.aliases):
                if name:
                    self._by_name[name.lower()] = model

    def get(self, name: str) -> Model | None:
        return self._by_name.get(name.strip().lower())

    def __getitem__(self, model_id: str) -> Model:
        model = self.get(model_id)
        if model is None:
            raise KeyError(model_id)
        return model

    def names(self) -> list[str]:
        return sorted(self._by_name)


CATALOG = Catalog()


def closest_ratio(width: int, height: int) -> str:
    """The supported ratio nearest to an image's aspect (how `adaptive` resolves)."""
    aspect = width / height

    def distance(ratio: str) -> float:
        w, h = (int(part) for part in ratio.split(":"))
        return abs(aspect - w / h)

    return min(RATIOS, key=distance)
