"""Choosing a provider for a task: strategy, health, and per-provider concurrency caps.

Strategies: `official` tries only the official Ark providers (and the simulator, the
stand-in for every provider); `value` the cheapest
healthy provider first; `auto` weighs health, latency and cost. Within each, a higher
`priority` always comes first. The caps count tasks this worker process runs at each
provider; a task finding every candidate full waits, still queued, for a free slot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from seedgate.domain.catalog import CATALOG
from seedgate.domain.lifecycle import Retirement
from seedgate.domain.request import GenerationRequest
from seedgate.providers.base import Provider
from seedgate.providers.config import Kind, ProviderSettings, Strategy
from seedgate.providers.health import Health
from seedgate.waiting import wait_event


@dataclass(frozen=True, slots=True)
class Route:
    settings: ProviderSettings
    provider: Provider

    @property
    def name(self) -> str:
        return self.settings.name


def utc_today() -> date:
    return datetime.now(UTC).date()


class Router:
    def __init__(self, routes: Iterable[Route], health: Health,
                 today: Callable[[], date] = utc_today) -> None:
        self.routes = {route.name: route for route in routes}
        self.health = health
        self.today = today
        self._busy: dict[str, int] = dict.fromkeys(self.routes, 0)
        self._freed = asyncio.Event()

    def get(self, name: str | None) -> Provider | None:
        route = self.routes.get(name) if name else None
        return route.provider if route else None

    def candidates(self, request: GenerationRequest, strategy: Strategy) -> list[Route]:
        """Every provider that can run the request under the strategy, best first,
        whatever its health or load."""
        able = [route for route in self.serving(request.model)
                if route.provider.accepts(request)
                and (strategy is not Strategy.OFFICIAL or route.settings.kind.official
                     or route.settings.kind is Kind.SIMULATOR)]
        if strategy is Strategy.VALUE:
            return sorted(able, key=lambda r: (-r.settings.priority, r.settings.cost_per_second,
                                               self.health.latency(r.name)))
        return sorted(able, key=lambda r: (-r.settings.priority, -self._score(r, able)))

    def serving(self, model_id: str) -> list[Route]:
        """The providers that serve a model (a canonical id) today: never one that retired it."""
        model, today = CATALOG[model_id], self.today()
        return [route for route in self.routes.values() if route.provider.serves(model_id)
                and route.settings.retirement(model, today) is None]

    def retirement(self, model_id: str) -> Retirement | None:
        """Why no provider serves a model any more, if every one that did retired it."""
        if self.serving(model_id):
            return None
        model, today = CATALOG[model_id], self.today()
        return next((found for route in self.routes.values()
                     if (found := route.settings.retirement(model, today))), None)

    def _score(self, route: Route, able: list[Route]) -> float:
        """`auto`: success rate and weight up, latency and cost down (both relative to the
        worst candidate, so units do not matter)."""
        worst_cost = max(r.settings.cost_per_second for r in able) or 1.0
        worst_latency = max(self.health.latency(r.name) for r in able) or 1.0
        cost = route.settings.cost_per_second / worst_cost
        latency = self.health.latency(route.name) / worst_latency
        return route.settings.weight * self.health.success_rate(route.name) / (
            (1 + latency) * (1 + cost))

    async def take(self, routes: list[Route], exclude: set[str]) -> Route | None:
        """The first candidate not excluded, resting or full; its slot is then held."""
        for route in routes:
            if route.name in exclude or self.health.resting(route.name):
                continue
            cap = route.settings.max_concurrency
            if cap and self._busy[route.name] >= cap:
                continue
            if await self.health.admit(route.name):
                self._busy[route.name] += 1
                return route
        return None

    def hold(self, name: str) -> None:
        """Count a task already running at `name` (taken over after a restart)."""
        self._busy[name] += 1

    def in_flight(self, name: str) -> int:
        """Tasks this process runs at `name` now (what its concurrency cap counts)."""
        return self._busy.get(name, 0)

    def release(self, name: str) -> None:
        self._busy[name] -= 1
        self._freed.set()

    async def wait_for_slot(self, timeout_s: float) -> None:
        """Until some provider frees a slot, or `timeout_s` passes."""
        self._freed.clear()
        await wait_event(self._freed, timeout_s)
