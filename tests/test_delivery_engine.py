"""The webhook delivery engine under a controllable clock: the retry schedule (about three
days) without waiting, Retry-After, timeouts, 410 Gone, replays and order per task. Real
HTTP to a receiver on 127.0.0.1; the database is SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import Any, TypeVar

import pytest

from seedgate.clock import now_ms
from seedgate.domain.networks import parse_networks
from seedgate.domain.webhooks import Delivery, DeliveryStatus
from seedgate.net.fetch import GuardedHttp
from seedgate.net.guard import OutboundGuard
from seedgate.service.accounts import Accounts
from seedgate.store import webhooks as store
from seedgate.store.database import Database
from seedgate.webhooks.delivery import SCHEDULE_S, DeliveryEngine
from seedgate.webhooks.keyring import Keyring
from seedgate.webhooks.secretbox import SecretBox

from .conftest import DatabaseTarget
from .receiver import Answer, Receiver, verified

T = TypeVar("T")


class Clock:
    """Unix milliseconds that move only when told."""

    def __init__(self) -> None:
        self.now = now_ms()

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


class Rig:
    def __init__(self, db: Database, timeout_s: float = 5.0) -> None:
        self.db = db
        self.clock = Clock()
        self.key_id = Accounts(db).create_key(f"k{secrets.token_hex(3)}")[0].id
        self.keyring = Keyring(db, SecretBox(b"test gateway secret"))
        self.http = GuardedHttp(OutboundGuard(parse_networks("127.0.0.1/32")))
        self.engine = DeliveryEngine(db, self.http, self.keyring, timeout_s=timeout_s,
                                     poll_s=0.05, clock=self.clock, jitter=0.0)

    def add(self, url: str, task_id: str | None = None, *, due_in_ms: int = 0) -> Delivery:
        delivery = Delivery(
            id=0, event_id=f"msg_{secrets.token_hex(12)}",
            task_id=task_id or f"task_{secrets.token_hex(12)}", key_id=self.key_id,
            event_type="video.completed", url=url, payload=b'{"hello":"receiver"}',
            status=DeliveryStatus.PENDING, step=0, attempts=0,
            next_attempt_at=self.clock.now + due_in_ms, created_at=self.clock.now,
        )
        self.db.write_sync(partial(store.insert_delivery, delivery=delivery))
        return delivery

    def state(self, delivery: Delivery) -> Delivery:
        found = self.db.read_sync(partial(store.deliveries_of, task_id=delivery.task_id))
        return next(d for d in found if d.event_id == delivery.event_id)

    def run(self, scenario: Callable[[], Awaitable[T]]) -> T:
        async def guarded() -> T:
            try:
                return await scenario()
            finally:
                await self.http.close()

        return asyncio.run(guarded())


def test_failures_follow_the_retry_schedule_for_three_days_then_give_up(
    db: Database, receiver: Receiver
) -> None:
    rig = Rig(db)
    receiver.answer("/down", *[Answer(500)] * len(SCHEDULE_S))
    delivery = rig.add(receiver.url("/down"))
    attempted_at: list[int] = []

    async def scenario() -> None:
        for _ in SCHEDULE_S:
            assert await rig.engine.run_once() == 1
            attempted_at.append(rig.clock.now)
            state = rig.state(delivery)
            if state.status != DeliveryStatus.PENDING:
                break
            rig.clock.now = state.next_attempt_at - 1
            assert await rig.engine.run_once() == 0  # nothing is sent before it is due
            rig.clock.now = state.next_attempt_at
        rig.clock.now += 30 * 86_400_000
        assert await rig.engine.run_once() == 0  # given up: never sent again

    rig.run(scenario)
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempted_at)]
    assert gaps == [seconds * 1000 for seconds in SCHEDULE_S[1:]]
    assert 3 * 86_400 < sum(SCHEDULE_S) < 3.5 * 86_400
    final = rig.state(delivery)
    assert final.status == DeliveryStatus.FAILED and final.attempts == len(SCHEDULE_S)
    assert [a.status_code for a in final.log] == [500] * len(SCHEDULE_S)
    assert final.last_error == "HTTP 500"
    calls = receiver.at("/down")
    assert len(calls) == len(SCHEDULE_S)
    assert {call.headers["webhook-id"] for call in calls} == {delivery.event_id}
    secret = rig.keyring.reveal(rig.key_id)
    assert all(verified(secret, call) == {"hello": "receiver"} for call in calls)


def test_retry_after_postpones_the_next_attempt_but_never_advances_it(
    db: Database, receiver: Receiver
) -> None:
    rig = Rig(db)
    receiver.answer("/busy", Answer(503, {"retry-after": "120"}),
                    Answer(429, {"retry-after": "1"}), Answer(200))
    delivery = rig.add(receiver.url("/busy"))

    async def scenario() -> list[int]:
        waits = []
        for _ in range(3):
            start = rig.clock.now
            assert await rig.engine.run_once() == 1
            state = rig.state(delivery)
            waits.append(state.next_attempt_at - start)
            rig.clock.now = state.next_attempt_at
        return waits

    waits = rig.run(scenario)
    assert waits[:2] == [120_000, SCHEDULE_S[2] * 1000]  # 120 s over 5 s; 300 s over 1 s
    assert rig.state(delivery).status == DeliveryStatus.DELIVERED


def test_a_receiver_that_does_not_answer_in_time_is_retried(
    db: Database, receiver: Receiver
) -> None:
    rig = Rig(db, timeout_s=0.3)
    receiver.answer("/slow", Answer(200, delay_s=1.5))
    delivery = rig.add(receiver.url("/slow"))
    rig.run(rig.engine.run_once)
    state = rig.state(delivery)
    assert state.status == DeliveryStatus.PENDING and state.step == 1
    assert state.log[0].error == "No answer within 0.3 s." and state.log[0].status_code is None
    assert state.next_attempt_at == rig.clock.now + SCHEDULE_S[1] * 1000


def test_410_disables_the_endpoint_until_a_replay(db: Database, receiver: Receiver) -> None:
    rig = Rig(db)
    receiver.answer("/gone", Answer(410))
    first = rig.add(receiver.url("/gone"))
    later = rig.add(receiver.url("/gone"), due_in_ms=3_600_000)
    other = rig.add(receiver.url("/alive"), due_in_ms=3_600_000)

    async def scenario() -> None:
        assert await rig.engine.run_once() == 1
        assert rig.state(first).status == DeliveryStatus.FAILED
        assert rig.state(later).status == DeliveryStatus.FAILED  # pending for it: given up
        assert "410" in (rig.state(later).last_error or "")
        assert rig.state(other).status == DeliveryStatus.PENDING  # other endpoints go on
        assert rig.db.read_sync(partial(store.is_disabled, key_id=rig.key_id,
                                        url=receiver.url("/gone")))
        assert rig.db.write_sync(partial(store.replay, task_id=first.task_id,
                                         event_id=first.event_id, now=rig.clock.now))
        assert not rig.db.read_sync(partial(store.is_disabled, key_id=rig.key_id,
                                            url=receiver.url("/gone")))
        assert await rig.engine.run_once() == 1

    rig.run(scenario)
    replayed = rig.state(first)
    assert replayed.status == DeliveryStatus.DELIVERED and replayed.attempts == 2
    assert [call.headers["webhook-id"] for call in receiver.at("/gone")] == [first.event_id] * 2


def test_a_tasks_events_go_out_in_order(db: Database, receiver: Receiver) -> None:
    """Event n+1 of a task waits until event n is delivered, while other tasks' events
    are not held up."""
    rig = Rig(db)
    receiver.answer("/ordered", Answer(500))
    task_id = f"task_{secrets.token_hex(12)}"
    one = rig.add(receiver.url("/ordered"), task_id)
    two = rig.add(receiver.url("/ordered"), task_id)
    elsewhere = rig.add(receiver.url("/elsewhere"))

    async def scenario() -> None:
        assert await rig.engine.run_once() == 2  # `one` (fails) and `elsewhere`
        assert rig.state(two).attempts == 0
        rig.clock.now = rig.state(one).next_attempt_at
        assert await rig.engine.run_once() == 1  # `one` again, now delivered
        assert await rig.engine.run_once() == 1  # then `two`

    rig.run(scenario)
    order = [call.headers["webhook-id"] for call in receiver.at("/ordered")]
    assert order == [one.event_id, one.event_id, two.event_id]
    assert rig.state(elsewhere).status == DeliveryStatus.DELIVERED


def test_rotation_signs_with_both_secrets_for_a_day(db: Database, receiver: Receiver) -> None:
    rig = Rig(db)
    old = rig.keyring.reveal(rig.key_id)
    assert old == rig.keyring.reveal(rig.key_id) and old.startswith("whsec_")
    new = rig.keyring.reveal(rig.key_id, rotate=True)
    assert new != old
    rig.add(receiver.url("/rotated"))
    rig.run(rig.engine.run_once)
    [call] = receiver.at("/rotated")
    assert len(call.headers["webhook-signature"].split(" ")) == 2
    assert verified(old, call) == verified(new, call) == {"hello": "receiver"}
    stored: Any = db.read_sync(partial(store.secrets_of, key_id=rig.key_id))
    assert new not in stored.secret and old not in (stored.previous or "")  # encrypted


def test_two_senders_on_one_database_send_each_event_once_in_order(
    db: Database, receiver: Receiver, database: DatabaseTarget
) -> None:
    """Two engines with their own connections (as two worker processes) share the outbox:
    the leases give each delivery to one of them, and a task's events stay in order."""
    rig = Rig(db)
    other_db = Database(database.url, schema=database.schema)
    other = DeliveryEngine(other_db, rig.http, rig.keyring, timeout_s=5, poll_s=0.05,
                           clock=rig.clock, jitter=0.0)
    tasks = [f"task_{secrets.token_hex(12)}" for _ in range(8)]
    added = [rig.add(receiver.url(f"/{task}"), task) for _ in range(4) for task in tasks]

    async def scenario() -> list[int]:
        rounds = []
        try:
            while sum(rounds) < len(added):
                counts = await asyncio.gather(rig.engine.run_once(), other.run_once())
                rounds.append(sum(counts))
                assert rounds[-1] <= len(tasks)  # one event per task at a time
        finally:
            await other_db.close()
        return rounds

    rig.run(scenario)
    for task in tasks:
        sent = [call.headers["webhook-id"] for call in receiver.at(f"/{task}")]
        assert sent == [d.event_id for d in added if d.task_id == task]  # once each, in order
