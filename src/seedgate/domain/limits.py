"""Tenant controls: what an API key may do, beyond what its balance allows.

A key's limits are set when it is created and changed later by an operator. `None` means
"the server's default" for the rate limit and the concurrency cap, and "no limit" for the
spend limits; 0 turns a rate limit or a cap off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from seedgate.domain.catalog import CATALOG
from seedgate.domain.networks import Network, parse_networks, within

DAY_MS = 86_400_000
DEFAULT_CONCURRENCY = 1_000  # APIXO's cap per account (seed 003)


class InvalidLimit(ValueError):
    """A limit an operator tried to set is malformed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class KeyLimits:
    rate_limit: int | None = None  # requests a minute
    max_concurrency: int | None = None  # unfinished (queued or running) tasks
    daily_spend: int | None = None  # credits per UTC day
    monthly_spend: int | None = None  # credits per calendar month (UTC)
    allowed_ips: tuple[str, ...] = ()  # CIDRs; empty: any address
    allowed_models: tuple[str, ...] = ()  # canonical model ids; empty: every model

    def changed(self, **changes: Any) -> KeyLimits:
        """These limits with `changes` applied, each checked and normalized."""
        return checked(replace(self, **changes))

    def to_json(self) -> dict[str, Any]:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in fields(self)}

    def allows_address(self, address: str | None) -> bool:
        return not self.allowed_ips or within(address, _networks(self.allowed_ips))

    def allows_model(self, model_id: str) -> bool:
        return not self.allowed_models or model_id in self.allowed_models


LIMIT_NAMES = tuple(f.name for f in fields(KeyLimits))


def checked(limits: KeyLimits) -> KeyLimits:
    """Validate every limit; CIDRs and model names come back in canonical form."""
    for name in ("rate_limit", "max_concurrency", "daily_spend", "monthly_spend"):
        value = getattr(limits, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise InvalidLimit(f"`{name}` must be a whole number of at least 0 (or null).")
    return replace(limits, allowed_ips=_cidrs(limits.allowed_ips),
                   allowed_models=_models(limits.allowed_models))


def _cidrs(values: Iterable[str]) -> tuple[str, ...]:
    try:
        found = parse_networks(values)
    except ValueError as exc:
        raise InvalidLimit(f"`allowed_ips`: {exc}") from None
    return tuple(dict.fromkeys(str(network) for network in found))


def _models(values: Iterable[str]) -> tuple[str, ...]:
    found = []
    for value in values:
        model = CATALOG.get(str(value))
        if model is None:
            raise InvalidLimit(f"`allowed_models`: no model named {value!r}; the catalog has "
                               f"{', '.join(m.id for m in CATALOG.models)}.")
        found.append(model.id)
    return tuple(dict.fromkeys(found))


@lru_cache(maxsize=1024)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(cidrs)


def day_of(ms: int) -> int:
    """The UTC day a moment falls in, as days since the Unix epoch."""
    return ms // DAY_MS


def month_of(ms: int) -> int:
    """The UTC calendar month a moment falls in, as months since year 0."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.year * 12 + moment.month - 1


def next_day_ms(ms: int) -> int:
    return (day_of(ms) + 1) * DAY_MS


def month_start_ms(month: int) -> int:
    """The first moment of a month numbered as `month_of` numbers them."""
    return int(datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC).timestamp() * 1000)


def next_month_ms(ms: int) -> int:
    return month_start_ms(month_of(ms) + 1)
