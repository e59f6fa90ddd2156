"""Prices: the README's table against the code, tiers, video input, the floor, overrides and
settlement (pure)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from seedgate.domain.catalog import CATALOG
from seedgate.domain.pricing import USD_PER_MILLION, PriceTable, default_prices, tier_of
from seedgate.domain.request import GenerationRequest, MediaInput, MediaKind, Role, normalize

# Nothing here depends on the store, Redis or S3: the SQLite pass alone runs it.
pytestmark = pytest.mark.store_agnostic

README = (Path(__file__).parents[1] / "README.md").read_text()
HEADER = "| model | resolution | credits a second | with an input video |"
NONE = "\u2013"  # an en dash: no price of its own
VIDEO = MediaInput(MediaKind.VIDEO, "https://cdn.example.com/v.mp4", Role.REFERENCE_VIDEO)


def readme_rows() -> list[list[str]]:
    table = README[README.index(HEADER):].split("\n\n", 1)[0].splitlines()[2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in table]


def test_the_readme_price_table_is_the_codes() -> None:
    prices, seen = default_prices(), set()
    for model_id, shown, text, video, five, usd in readme_rows():
        model, resolution = CATALOG[model_id], shown.split()[0]
        price = prices[model.id]
        width, height = model.pixel_size(resolution, "16:9")
        per_second = width * height * 24 / 1024  # tokens
        assert text == f"{float(price.rate(resolution, False) * int(per_second)):.2f}"
        with_video = price.rate(resolution, True)
        assert video == (NONE if with_video == price.rate(resolution, False)
                         else f"{float(with_video * int(per_second)):.2f}")
        assert int(five) == math.ceil(price.rate(resolution, False) * int(per_second) * 5)
        assert usd.split(" / ") == [r for r in USD_PER_MILLION[model.id][tier_of(resolution)]
                                    if r]
        seen.add((model.id, resolution))
    assert seen == {(m.id, r) for m in CATALOG.models
                    for r in {*m.resolutions, *(["480p"] if m.draft else [])}}


def quote(table: PriceTable, **fields: object) -> int:
    return table.quote(normalize(GenerationRequest(prompt="x", **fields)))  # type: ignore[arg-type]


def usd(tokens: int, rate: str) -> int:
    """Credits for `tokens` at `rate` USD per million, 13 credits = 21,600 tokens at $1.2."""
    return math.ceil(tokens * float(rate) * 13 / (1.2 * 21_600) - 1e-9)


@pytest.mark.parametrize(("fields", "tokens", "rate"), [
    ({"model": "seedance-2-0", "resolution": "720p", "duration": 5}, 5 * 21_600, "7.0"),
    ({"model": "seedance-2-0", "resolution": "1080p", "duration": 4}, 4 * 48_600, "7.7"),
    ({"model": "seedance-2-0", "resolution": "4k", "duration": 4}, 4 * 194_400, "4.0"),
    ({"model": "seedance-2-0", "resolution": "720p", "duration": 5, "inputs": (VIDEO,)},
     (15 + 5) * 21_600, "4.3"),  # the most reference video, at the video rate
    ({"model": "seedance-2-0-mini", "resolution": "480p", "duration": -1}, 15 * 10_044, "3.5"),
    ({"model": "seedance-2-5", "resolution": "1080p"}, 30 * 48_600, "11.7"),
    ({"model": "seedance-2-5", "resolution": "720p", "duration": 4, "inputs": (VIDEO,)},
     (30 + 4) * 21_600, "6.40"),
    ({"model": "seedance-2-5", "draft": True, "duration": 5}, 5 * 10_044, "10.70"),
])
def test_debits_follow_the_official_per_token_prices(fields: dict[str, object], tokens: int,
                                                    rate: str) -> None:
    assert quote(PriceTable.with_overrides({}), **fields) == usd(tokens, rate)


def test_settlement_is_on_reported_tokens_and_resolution_never_above_the_debit() -> None:
    table = PriceTable.with_overrides({})
    request = normalize(GenerationRequest(model="seedance-2-0", prompt="x", duration=-1,
                                          resolution="1080p", inputs=(VIDEO,)))
    debit = table.quote(request)
    assert debit == usd((15 + 15) * 48_600, "4.7")

    def settle(tokens: int, resolution: str) -> int:
        return table.settle(request, tokens=tokens, resolution=resolution, size=(1920, 1080),
                            audio=True, debited=debit)

    assert settle(12 * 48_600, "1080p") == usd(12 * 48_600, "4.7")
    assert settle(12 * 48_600, "720p") == usd(12 * 48_600, "4.3")  # produced below asked
    assert settle(1_000, "1080p") == usd(10 * 48_600, "4.7")  # the floor: 10 s at 1080p
    assert settle(10**9, "1080p") == debit
    assert settle(12 * 48_600, "8k") == debit  # a report it cannot price: the debit stands


def test_overrides_set_a_tier_per_kind_of_input() -> None:
    table = PriceTable.with_overrides({"seedance-2-0": {"720p": 100, "720p_video": 50,
                                                        "min_seconds_with_video": 0}})
    assert quote(table, model="seedance-2-0", resolution="720p", duration=5) == 500
    assert quote(table, model="seedance-2-0", resolution="480p", duration=5) == math.ceil(
        100 * 10_044 / 21_600 * 5)  # 480p is in 720p's tier, at its own pixel count
    assert quote(table, model="seedance-2-0", resolution="720p", duration=5,
                 inputs=(VIDEO,)) == 50 * 20
    with pytest.raises(ValueError, match="unknown price keys"):
        PriceTable.with_overrides({"seedance-2-0-mini": {"1080p": 5}})
    assert f"| seedance-1-5-pro | 720p | 13.00 | {NONE} | 65 |" in README  # the seed's 65
