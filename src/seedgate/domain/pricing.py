"""Credit prices, derived from the official per-token prices (seedance-2026-h2.md, ark.md 5.10).

A task is billed by its tokens, `(input video seconds + output seconds) x W x H x 24 / 1024`,
at a rate that depends on the model, the resolution tier and whether the input holds a
video. Rates are the official USD prices per million tokens times one exchange rate,
`CREDITS_PER_USD`, fixed so that Seedance 1.5 Pro at 720p costs the seedance1-5pro price
list's 13 credits a second silent (65 credits for 5 s; audio doubles it). Arithmetic is
exact (fractions); a price is rounded up to a whole credit once, at the end.

A task is debited its most expensive outcome when it is created (the longest duration when
the model picks it, the longest reference video; every ratio as 16:9) and settled when it
succeeds on the tokens the provider reports and the resolution it produced, never above the debit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from seedgate.domain.catalog import CATALOG, FPS, Catalog, Model
from seedgate.domain.request import GenerationRequest, MediaKind

MILLION = 10**6
# 1.5 Pro, 720p, silent: $1.2 per million tokens, 21,600 tokens a second -> 13 credits/s.
REFERENCE_TOKENS_PER_SECOND = 21_600
CREDITS_PER_USD = Fraction(13 * MILLION) / (REFERENCE_TOKENS_PER_SECOND * Fraction("1.2"))

Rates = tuple[str, str | None]  # USD per million tokens: text-only input, input with video
# BytePlus USD per million output tokens. 480p and 720p share a tier. 1.0 Pro Fast is
# inferred (Volcengine's 4.2 CNY at 1.0 Pro's CNY/USD ratio); 2.5 Premium's 4K is not
# published: 2.5's 1080p rate scaled as 2.0's 4K is to its 1080p.
USD_PER_MILLION: dict[str, dict[str, Rates]] = {
    "seedance-1-0-lite-t2v": {"720p": ("1.8", None), "1080p": ("1.8", None)},
    "seedance-1-0-lite-i2v": {"720p": ("1.8", None), "1080p": ("1.8", None)},
    "seedance-1-0-pro": {"720p": ("2.5", None), "1080p": ("2.5", None)},
    "seedance-1-0-pro-fast": {"720p": ("0.7", None), "1080p": ("0.7", None)},
    "seedance-1-5-pro": {"720p": ("1.2", None), "1080p": ("1.2", None)},
    "seedance-2-0": {"720p": ("7.0", "4.3"), "1080p": ("7.7", "4.7"), "4k": ("4.0", "2.4")},
    "seedance-2-0-fast": {"720p": ("5.6", "3.3")},
    "seedance-2-0-mini": {"720p": ("3.5", "2.1")},
    "seedance-2-5": {"720p": ("10.70", "6.40"), "1080p": ("11.7", "7.0")},
    "seedance-2-5-premium": {"720p": ("10.70", "6.40"), "4k": ("6.08", "3.64")},
}
AUDIO_MULTIPLIER = {"seedance-1-5-pro": 2}  # $2.4 with audio; the 2.x prices include it
# With a video in the input, 2.0 and 2.0 Fast bill at least this many seconds of output
# size (the floor's value is not published; overridable).
MIN_SECONDS_WITH_VIDEO = {"seedance-2-0": 10, "seedance-2-0-fast": 10}
# Seconds of reference video assumed for the debit when the length is unknown (the most
# each model takes in all).
DEFAULT_VIDEO_SECONDS = 15
# Every ratio is debited as 16:9 at its resolution (the seed's price list has one price for
# every shape); the other ratios differ by less than 1 % in pixels, and settle at most that.
PRICED_RATIO = "16:9"


def tier_of(resolution: str) -> str:
    """The price tier of a resolution: 480p is billed as 720p."""
    return "720p" if resolution == "480p" else resolution


def tokens_of(width: int, height: int, seconds: int) -> int:
    """Ark's token count of `seconds` of video at W x H (ark.md 5.10)."""
    return seconds * width * height * FPS // 1024


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Credits per token by tier (text-only input, input with video), the audio multiplier
    and the minimum billed seconds (at the output size) when the input holds a video."""

    rates: Mapping[str, tuple[Fraction, Fraction]]
    audio_multiplier: int = 1
    min_seconds_with_video: int = 0

    def rate(self, resolution: str, video: bool) -> Fraction:
        text, with_video = self.rates[tier_of(resolution)]
        return with_video if video else text

    def per_second(self, model: Model, video: bool = False) -> dict[str, Fraction]:
        """Credits per second of 16:9 video at each of the model's resolutions (silent)."""
        return {res: self.rate(res, video) * tokens_of(*model.pixel_size(res, PRICED_RATIO), 1)
                for res in model.resolutions}


def _per_token(usd: str) -> Fraction:
    return Fraction(usd) * CREDITS_PER_USD / MILLION


def default_prices(catalog: Catalog = CATALOG) -> dict[str, ModelPrice]:
    prices = {}
    for model in catalog.models:
        rates = {}
        for tier, (text, video) in USD_PER_MILLION[model.id].items():
            rates[tier] = (_per_token(text), _per_token(video or text))
        prices[model.id] = ModelPrice(rates, AUDIO_MULTIPLIER.get(model.id, 1),
                                      MIN_SECONDS_WITH_VIDEO.get(model.id, 0))
    return prices


class PriceTable:
    """Prices requests and settles outcomes; operators override entries in configuration."""

    def __init__(self, prices: Mapping[str, ModelPrice], catalog: Catalog = CATALOG) -> None:
        self._prices = dict(prices)
        self._catalog = catalog

    @classmethod
    def with_overrides(
        cls, overrides: Mapping[str, Mapping[str, float]], catalog: Catalog = CATALOG
    ) -> PriceTable:
        """`overrides` maps a model name to credits per second of 16:9 video by resolution
        (`"720p"`, and `"720p_video"` when the input holds a video), `audio_multiplier`
        and `min_seconds_with_video`. A resolution sets its whole tier (480p is 720p's)."""
        prices = default_prices(catalog)
        for name, entry in overrides.items():
            model = catalog[name]
            known = {*model.resolutions, *(f"{r}_video" for r in model.resolutions),
                     "audio_multiplier", "min_seconds_with_video"}
            unknown = set(entry) - known
            if unknown:
                raise ValueError(f"unknown price keys for {model.id}: {sorted(unknown)}")
            base = prices[model.id]
            rates = dict(base.rates)
            for key, value in sorted(entry.items()):  # "720p" before "720p_video"
                resolution, _, video = key.partition("_")
                if resolution not in model.resolutions:
                    continue
                per_token = Fraction(str(value)) / tokens_of(
                    *model.pixel_size(resolution, PRICED_RATIO), 1)
                tier = tier_of(resolution)
                text, with_video = rates[tier]
                if video:
                    rates[tier] = (text, per_token)
                else:  # a model without a price of its own for video input keeps one rate
                    rates[tier] = (per_token, per_token if with_video == text else with_video)
            prices[model.id] = ModelPrice(
                rates,
                int(entry.get("audio_multiplier", base.audio_multiplier)),
                int(entry.get("min_seconds_with_video", base.min_seconds_with_video)))
        return cls(prices, catalog)

    def quote(self, request: GenerationRequest) -> int:
        """Credits to debit at creation: the most expensive outcome of a normalized request."""
        model = self._catalog[request.model]
        assert request.duration is not None and request.resolution is not None
        seconds = model.max_duration if request.duration == -1 else request.duration
        width, height = model.pixel_size(request.resolution, PRICED_RATIO)
        video = any(i.kind is MediaKind.VIDEO for i in request.inputs)
        if video:
            limits = model.references
            seconds += limits.video_seconds or limits.media_seconds or DEFAULT_VIDEO_SECONDS
        return self.credits(model, request.resolution, tokens_of(width, height, seconds),
                            video=video, audio=bool(request.generate_audio),
                            size=(width, height))

    def settle(self, request: GenerationRequest, *, tokens: int, resolution: str,
               size: tuple[int, int], audio: bool, debited: int) -> int:
        """What a succeeded task costs: its reported tokens at the produced resolution,
        never more than was debited."""
        model = self._catalog[request.model]
        if resolution not in model.resolutions:  # a provider's report we cannot price
            return debited
        video = any(i.kind is MediaKind.VIDEO for i in request.inputs)
        return min(debited, self.credits(model, resolution, tokens, video=video,
                                         audio=audio, size=size))

    def credits(self, model: Model, resolution: str, tokens: int, *, video: bool,
                audio: bool, size: tuple[int, int]) -> int:
        price = self._prices[model.id]
        if video:
            tokens = max(tokens, tokens_of(*size, price.min_seconds_with_video))
        credits = math.ceil(tokens * price.rate(resolution, video))
        return credits * price.audio_multiplier if audio else credits

    def table(self) -> dict[str, ModelPrice]:
        return dict(self._prices)
