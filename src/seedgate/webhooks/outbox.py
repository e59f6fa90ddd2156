"""The webhook outbox: a task's event is written in the same transaction as the change it
reports, so no change is ever committed without its event (nor an event without its
change), whatever crashes; the delivery engine sends it afterwards."""

from __future__ import annotations

import secrets

from sqlalchemy.engine import Connection

from seedgate.domain.task import Task, TaskStatus
from seedgate.domain.webhooks import Delivery, DeliveryStatus
from seedgate.media.signing import UrlSigner
from seedgate.store import tasks as task_store
from seedgate.store import webhooks as store
from seedgate.store.database import Callback, after_commit
from seedgate.webhooks import events

DISABLED = "The endpoint answered 410 Gone earlier and is disabled; replay a delivery to "\
    "re-enable it."


def new_event_id() -> str:
    return "msg_" + secrets.token_hex(12)


class Outbox:
    def __init__(self, signer: UrlSigner, base_url: str, media_ttl: int,
                 on_queued: Callback = lambda: None) -> None:
        self._signer = signer
        self._base_url = base_url
        self._media_ttl = media_ttl
        self._on_queued = on_queued  # called once a delivery is committed

    def record(self, conn: Connection, task: Task, now: int) -> None:
        """After a change of `task` in this transaction: queue its event, if the task has
        a webhook that wants the state it is now in."""
        subscription = events.subscription(task)
        if subscription is None:
            return
        fresh = task_store.get_task(conn, task.id)
        if fresh is None or fresh.status not in subscription.statuses:
            return
        position = (task_store.queue_position(conn, fresh.id)
                    if fresh.status is TaskStatus.QUEUED else None)
        moment = events.Moment(
            new_event_id(), now, position,
            self._signer.outputs(fresh, self._base_url, self._media_ttl), self._media_ttl)
        disabled = store.is_disabled(conn, fresh.key_id, subscription.url)
        store.insert_delivery(conn, Delivery(
            id=0, event_id=moment.event_id, task_id=fresh.id, key_id=fresh.key_id,
            event_type=events.event_type(fresh), url=subscription.url,
            payload=events.payload(fresh, moment),
            status=DeliveryStatus.FAILED if disabled else DeliveryStatus.PENDING,
            step=0, attempts=0, next_attempt_at=now, created_at=now,
            last_error=DISABLED if disabled else None, finished_at=now if disabled else None,
        ))
        if not disabled:
            after_commit(conn, self._on_queued)
