"""Refusing at create time what the outbound guard would refuse anyway: an input or
webhook URL whose host is written as a private or reserved address (names are resolved,
and refused, when they are called)."""

from __future__ import annotations

from collections.abc import Callable

from seedgate.domain.errors import invalid
from seedgate.domain.task import Task
from seedgate.net.guard import OutboundGuard, Refused
from seedgate.webhooks import events


class OutboundScreen:
    def __init__(self, guard: OutboundGuard, own_media: Callable[[str], object]) -> None:
        self._guard = guard
        self._own_media = own_media  # truthy for the gateway's own signed media links

    def __call__(self, task: Task) -> None:
        """Raises a 400 naming the parameter."""
        for index, item in enumerate(task.request.inputs):
            if item.url.startswith("data:") or self._own_media(item.url):
                continue
            self._check(item.url, f"inputs[{index}].url")
        subscription = events.subscription(task)
        if subscription is not None:
            self._check(subscription.url, subscription.param)

    def _check(self, url: str, param: str) -> None:
        try:
            self._guard.screen(url)
        except Refused as exc:
            raise invalid(param, f"`{param}` is refused: {exc}") from None
