"""The Seedance model catalog: ids, aliases, modes, sizes and limits (ark.md section 5.9)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

FPS = 24

RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9")
ADAPTIVE = "adaptive"
RESOLUTIONS = ("480p", "720p", "1080p")


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


@dataclass(frozen=True, slots=True)
class Model:
    """One Seedance model and everything the gateway must know to accept a request for it."""

    id: str
    display_name: str
    byteplus_id: str
    volcengine_id: str
    aliases: tuple[str, ...]
    modes: frozenset[Mode]
    resolutions: tuple[str, ...]
    default_resolution: str
    min_duration: int
    max_duration: int
    sizes: SizeTable
    audio: bool = False
    auto_duration: bool = False
    frames: bool = False
    draft: bool = False
    max_reference_images: int = 0
    reference_resolutions: tuple[str, ...] = ()

    def pixel_size(self, resolution: str, ratio: str) -> Size:
        return self.sizes[resolution][ratio]

    def durations(self) -> range:
        return range(self.min_duration, self.max_duration + 1)


_ALL_RES = RESOLUTIONS
_V1 = {"min_duration": 2, "max_duration": 12, "sizes": SIZES_V1_0, "frames": True}

MODELS: tuple[Model, ...] = (
    Model(
        id="seedance-1-0-lite-t2v", display_name="Seedance 1.0 Lite (text to video)",
        byteplus_id="seedance-1-0-lite-t2v-250428",
        volcengine_id="doubao-seedance-1-0-lite-t2v-250428",
        aliases=("bytedance/seedance-1-lite",),
        modes=frozenset({Mode.TEXT}), resolutions=_ALL_RES, default_resolution="720p", **_V1,
    ),
    Model(
        id="seedance-1-0-lite-i2v", display_name="Seedance 1.0 Lite (image to video)",
        byteplus_id="seedance-1-0-lite-i2v-250428",
        volcengine_id="doubao-seedance-1-0-lite-i2v-250428",
        aliases=(),
        modes=frozenset({Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME, Mode.REFERENCE_IMAGES}),
        resolutions=_ALL_RES, default_resolution="720p", max_reference_images=4,
        reference_resolutions=("480p", "720p"), **_V1,
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
        id="seedance-1-5-pro", display_name="Seedance 1.5 Pro",
        byteplus_id="seedance-1-5-pro-251215", volcengine_id="doubao-seedance-1-5-pro-251215",
        aliases=("bytedance/seedance-1.5-pro", "seedance-1.5-pro"),
        modes=frozenset({Mode.TEXT, Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME}),
        resolutions=_ALL_RES, default_resolution="720p", min_duration=4, max_duration=12,
        sizes=SIZES_V1_5, audio=True, auto_duration=True, draft=True,
    ),
    Model(
        id="seedance-2-0", display_name="Seedance 2.0",
        byteplus_id="dreamina-seedance-2-0-260128", volcengine_id="doubao-seedance-2-0-260128",
        aliases=("bytedance/seedance-2", "seedance-2.0"),
        modes=frozenset({Mode.TEXT, Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME,
                         Mode.REFERENCE_IMAGES, Mode.MULTIMODAL_REFERENCE}),
        resolutions=_ALL_RES, default_resolution="720p", min_duration=4, max_duration=15,
        sizes=SIZES_V1_5, audio=True, auto_duration=True, max_reference_images=9,
        reference_resolutions=_ALL_RES,
    ),
    Model(
        id="seedance-2-0-fast", display_name="Seedance 2.0 Fast",
        byteplus_id="dreamina-seedance-2-0-fast-260128",
        volcengine_id="doubao-seedance-2-0-fast-260128",
        aliases=("seedance-2.0-fast",),
        modes=frozenset({Mode.TEXT, Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME,
                         Mode.REFERENCE_IMAGES, Mode.MULTIMODAL_REFERENCE}),
        resolutions=("480p", "720p"), default_resolution="720p", min_duration=4,
        max_duration=15, sizes=SIZES_V1_5, audio=True, auto_duration=True,
        max_reference_images=9, reference_resolutions=("480p", "720p"),
    ),
)


class Catalog:
    """Resolves any name a dialect uses (canonical, alias, BytePlus or Volcengine id)."""

    def __init__(self, models: tuple[Model, ...] = MODELS) -> None:
        self.models = models
        self._by_name: dict[str, Model] = {}
        for model in models:
            for name in (model.id, model.byteplus_id, model.volcengine_id, *model.aliases):
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
