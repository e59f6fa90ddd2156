"""Provider health: a circuit breaker and running averages of latency and success.

After `failures` consecutive failures a provider rests for `cooldown_s`; then one trial
call is let through (half-open): success closes the circuit, failure rests it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

SMOOTHING = 0.2  # weight of the newest sample in the running averages


@dataclass(slots=True)
class _State:
    consecutive: int = 0
    open_until: float = 0.0
    latency_s: float = 0.0
    success: float = 1.0


class Health:
    def __init__(self, failures: int, cooldown_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._failures = failures
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._states: dict[str, _State] = {}

    def _state(self, name: str) -> _State:
        return self._states.setdefault(name, _State())

    def resting(self, name: str) -> bool:
        """Whether the circuit is open (no trial due yet)."""
        state = self._state(name)
        return state.consecutive >= self._failures and self._clock() < state.open_until

    def admit(self, name: str) -> bool:
        """May a call go to `name` now? In half-open state only one trial per cooldown."""
        state = self._state(name)
        if state.consecutive < self._failures:
            return True
        now = self._clock()
        if now < state.open_until:
            return False
        state.open_until = now + self._cooldown_s  # this caller is the trial
        return True

    def succeeded(self, name: str, latency_s: float) -> None:
        state = self._state(name)
        state.consecutive = 0
        state.latency_s += SMOOTHING * (latency_s - state.latency_s)
        state.success += SMOOTHING * (1.0 - state.success)

    def failed(self, name: str) -> None:
        state = self._state(name)
        state.consecutive += 1
        state.success -= SMOOTHING * state.success
        if state.consecutive >= self._failures:
            state.open_until = self._clock() + self._cooldown_s

    def latency(self, name: str) -> float:
        return self._state(name).latency_s

    def success_rate(self, name: str) -> float:
        return self._state(name).success
