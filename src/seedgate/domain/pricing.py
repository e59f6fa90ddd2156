"""Credit prices. Integer credits per second of video, by model and resolution.

The defaults reproduce the seedance1-5pro price list (Seedance 1.5 Pro at its default 720p:
13 credits a second silent, twice that with audio, so 65/130/130/260 for 5 s and 10 s)
and extend it to every model in proportion to the official per-token prices and to the
pixel count of each resolution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from seedgate.domain.catalog import CATALOG, Catalog, Model
from seedgate.domain.request import GenerationRequest

# Credits per second at 720p without audio, relative to Seedance 1.5 Pro's 13.
RATE_720P = {
    "seedance-1-0-lite-t2v": 20,
    "seedance-1-0-lite-i2v": 20,
    "seedance-1-0-pro": 27,
    "seedance-1-0-pro-fast": 8,
    "seedance-1-5-pro": 13,
    "seedance-2-0": 83,
    "seedance-2-0-fast": 61,
}
# Resolution factors follow the pixel counts: 480p is about half of 720p, 1080p 2.25 times.
RESOLUTION_FACTOR = {"480p": 0.5, "720p": 1.0, "1080p": 2.25}
# 1.5 Pro is priced twice with audio; 2.0's price already includes its audio.
AUDIO_MULTIPLIER = {"seedance-1-5-pro": 2}


@dataclass(frozen=True, slots=True)
class ModelPrice:
    per_second: Mapping[str, int]
    audio_multiplier: int = 1


def default_prices(catalog: Catalog = CATALOG) -> dict[str, ModelPrice]:
    return {
        model.id: ModelPrice(
            per_second={
                res: math.ceil(RATE_720P[model.id] * RESOLUTION_FACTOR[res])
                for res in model.resolutions
            },
            audio_multiplier=AUDIO_MULTIPLIER.get(model.id, 1),
        )
        for model in catalog.models
    }


class PriceTable:
    """Prices a normalized request; operators override entries in configuration."""

    def __init__(self, prices: Mapping[str, ModelPrice], catalog: Catalog = CATALOG) -> None:
        self._prices = dict(prices)
        self._catalog = catalog

    @classmethod
    def with_overrides(
        cls, overrides: Mapping[str, Mapping[str, int]], catalog: Catalog = CATALOG
    ) -> PriceTable:
        """`overrides` maps a model name to `{"480p": n, ..., "audio_multiplier": m}`."""
        prices = default_prices(catalog)
        for name, entry in overrides.items():
            model = catalog[name]
            base = prices[model.id]
            per_second = {**base.per_second}
            per_second.update({k: int(v) for k, v in entry.items() if k in model.resolutions})
            unknown = set(entry) - set(model.resolutions) - {"audio_multiplier"}
            if unknown:
                raise ValueError(f"unknown price keys for {model.id}: {sorted(unknown)}")
            multiplier = int(entry.get("audio_multiplier", base.audio_multiplier))
            prices[model.id] = ModelPrice(per_second, multiplier)
        return cls(prices, catalog)

    def quote(self, request: GenerationRequest) -> int:
        """Credits to debit at creation. Auto duration (-1) is charged at the maximum."""
        model = self._catalog[request.model]
        assert request.duration is not None and request.resolution is not None
        seconds = model.max_duration if request.duration == -1 else request.duration
        return self.price(model, request.resolution, seconds, bool(request.generate_audio))

    def price(self, model: Model, resolution: str, seconds: int, audio: bool) -> int:
        entry = self._prices[model.id]
        credits = entry.per_second[resolution] * seconds
        return credits * entry.audio_multiplier if audio else credits

    def table(self) -> dict[str, ModelPrice]:
        return dict(self._prices)
