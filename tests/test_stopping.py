"""A gateway stops when asked, even when its loops were woken in the same moment: Python
3.11's `asyncio.wait_for` drops a cancellation that arrives just after what it awaited was
set, which once kept a worker running after its gateway was told to stop."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from seedgate.gateway import Gateway
from seedgate.waiting import wait_event

from .conftest import DatabaseTarget, gateway_settings


async def _cancel_after_set(turns: int) -> bool:
    """Whether a loop waiting on an event ends when cancelled `turns` loop turns after the
    event was set."""
    event = asyncio.Event()

    async def wait_forever() -> None:
        while True:
            await wait_event(event, 30)
            event.clear()

    waiter = asyncio.create_task(wait_forever())
    await asyncio.sleep(0.01)
    event.set()
    for _ in range(turns):
        await asyncio.sleep(0)
    waiter.cancel()
    done, _ = await asyncio.wait([waiter], timeout=30)
    return waiter in done and waiter.cancelled()


@pytest.mark.parametrize("turns", range(4))
def test_a_cancel_right_after_the_event_is_set_ends_the_wait(turns: int) -> None:
    assert asyncio.run(_cancel_after_set(turns))


def test_a_woken_gateway_stops_at_once(tmp_path: Path, database: DatabaseTarget,
                                       caplog: pytest.LogCaptureFixture) -> None:
    settings = gateway_settings(tmp_path, database, worker_poll_interval=30)
    gateway = Gateway(settings)

    async def start_wake_and_stop() -> None:
        await gateway.start()
        await asyncio.sleep(0.5)  # the worker and the deliveries now wait for work
        assert gateway.worker is not None and gateway.deliveries is not None
        gateway.worker.wake()
        gateway.deliveries.wake()
        await gateway.stop()

    with caplog.at_level(logging.WARNING, logger="seedgate.gateway"):
        asyncio.run(start_wake_and_stop())
    assert "did not stop" not in caplog.text
