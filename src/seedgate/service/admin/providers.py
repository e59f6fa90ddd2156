"""The providers' health as operators watch it: breaker state, recent success rate and
submit latency (the router's running averages), tasks in flight, and the last day's
outcomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from seedgate.clock import now_ms
from seedgate.domain.catalog import CATALOG
from seedgate.domain.usage import Grouping, Measures
from seedgate.providers.config import ProviderSettings
from seedgate.providers.router import Router
from seedgate.store import usage as store
from seedgate.store.database import Database

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class ProviderView:
    settings: ProviderSettings
    models: tuple[str, ...]  # catalog ids it serves
    breaker: str  # closed, open (resting) or half_open (the next call is a trial)
    success_rate: float  # running average, 1.0 = every recent call succeeded
    latency_s: float  # running average of its submit calls' time
    in_flight: int  # tasks running there now, across every worker
    in_flight_here: int  # of those, this process's (what its concurrency cap counts)
    last_day: Measures  # tasks created in the last 24 hours that were routed there

    @property
    def name(self) -> str:
        return self.settings.name


class ProviderBoard:
    def __init__(self, db: Database, router: Router,
                 clock: Callable[[], int] = now_ms) -> None:
        self._db = db
        self._router = router
        self._clock = clock

    async def list(self) -> list[ProviderView]:
        now = self._clock()
        running = await self._db.read(store.running_by_provider)
        day = {row.group: row.measures for row in await self._db.read(partial(
            store.usage, grouping=Grouping.PROVIDER, since=now - DAY_MS, until=now + 1))}
        health = self._router.health
        return [
            ProviderView(
                route.settings,
                tuple(m.id for m in CATALOG.models if route.provider.serves(m.id)),
                health.breaker(name).value, health.success_rate(name), health.latency(name),
                running.get(name, 0), self._router.in_flight(name), day.get(name, Measures()),
            )
            for name, route in self._router.routes.items()
        ]
