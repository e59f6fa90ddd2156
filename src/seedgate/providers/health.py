"""Provider health: a circuit breaker and running averages of latency and success.

After `failures` consecutive failures a provider rests for `cooldown_s`; then one trial
call is let through (half-open): success closes the circuit, failure rests it again.

This class keeps the state in this process; `shared.health.RedisHealth` shares it between
processes. Decisions that change the state (`admit`, `failed`, `succeeded`) are
coroutines for that reason; reads use this process's view.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

SMOOTHING = 0.2  # weight of the newest sample in the running averages


class Breaker(StrEnum):
    CLOSED = "closed"
    OPEN = "open"  # resting
    HALF_OPEN = "half_open"  # rested: the next call is a trial


@dataclass(slots=True)
class ProviderHealth:
    consecutive: int = 0
    open_until: float = 0.0  # on this process's monotonic clock
    latency_s: float = 0.0
    success: float = 1.0


class Health:
    def __init__(self, failures: int, cooldown_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._failures = failures
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._states: dict[str, ProviderHealth] = {}

    def _state(self, name: str) -> ProviderHealth:
        return self._states.setdefault(name, ProviderHealth())

    def breaker(self, name: str) -> Breaker:
        state = self._state(name)
        if state.consecutive < self._failures:
            return Breaker.CLOSED
        return Breaker.OPEN if self._clock() < state.open_until else Breaker.HALF_OPEN

    def resting(self, name: str) -> bool:
        """Whether the circuit is open (no trial due yet)."""
        return self.breaker(name) is Breaker.OPEN

    async def admit(self, name: str) -> bool:
        """May a call go to `name` now? In half-open state only one trial per cooldown."""
        breaker = self.breaker(name)
        if breaker is Breaker.HALF_OPEN:  # this caller is the trial
            self._state(name).open_until = self._clock() + self._cooldown_s
        return breaker is not Breaker.OPEN

    async def succeeded(self, name: str, latency_s: float) -> None:
        state = self._state(name)
        state.consecutive = 0
        state.latency_s += SMOOTHING * (latency_s - state.latency_s)
        state.success += SMOOTHING * (1.0 - state.success)

    async def failed(self, name: str) -> None:
        state = self._state(name)
        state.consecutive += 1
        state.success -= SMOOTHING * state.success
        if state.consecutive >= self._failures:
            state.open_until = self._clock() + self._cooldown_s

    def latency(self, name: str) -> float:
        return self._state(name).latency_s

    def success_rate(self, name: str) -> float:
        return self._state(name).success
