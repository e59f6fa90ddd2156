"""When to poll a remote provider: cheap (few calls per task) and quick (soon after the
job ends).

The first poll waits for the expected generation time of the provider and model, learned
from recent completions (a running average, seeded by configuration); then polls back off
exponentially from `min_s` to `max_s`. A callback from the provider cuts any wait short; a
task whose provider calls back is polled only as a safety net: first at 1.5 times the
expected time, then every `max_s`.
"""

from __future__ import annotations

SMOOTHING = 0.3
EARLY = 0.8  # poll a little before the expected end, not after it
LATE = 1.5  # with callbacks, poll only once the callback is overdue


class PollSchedule:
    def __init__(self, expected_s: float, min_s: float, max_s: float) -> None:
        self._default = expected_s
        self._min = min_s
        self._max = max(min_s, max_s)
        self._expected: dict[tuple[str, str], float] = {}

    def first(self, provider: str, model: str, *, callbacks: bool = False) -> float:
        return (LATE if callbacks else EARLY) * self.expected(provider, model)

    def after(self, polls: int, *, callbacks: bool = False) -> float:
        """The wait after the `polls`-th unfinished answer."""
        if callbacks:
            return self._max
        return min(self._max, self._min * 2 ** max(0, polls - 1))

    def expected(self, provider: str, model: str) -> float:
        return self._expected.get((provider, model), self._default)

    async def observe(self, provider: str, model: str, seconds: float) -> None:
        """A job of `model` at `provider` took `seconds` from submission to completion."""
        key = (provider, model)
        current = self._expected.get(key)
        self._expected[key] = seconds if current is None else (
            current + SMOOTHING * (seconds - current))
