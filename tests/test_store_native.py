"""Store and lifecycle units behind the native dialect: list, queue positions, cancel,
delete and idempotent creates (SQLite, or PostgreSQL with SEEDGATE_TEST_DATABASE_URL)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pytest

from seedgate.domain.idempotency import KEEP_MS
from seedgate.domain.task import Task, TaskStatus
from seedgate.service import lifecycle
from seedgate.service.accounts import Accounts
from seedgate.store import idempotency, ledger
from seedgate.store import tasks as task_store
from seedgate.store.database import Database

from .test_store import NOW, new_task

create_once = partial(lifecycle.create_once, default_cap=0)


def created(db: Database, key_id: int, *ids: str) -> list[Task]:
    tasks = [new_task(key_id, task_id) for task_id in ids]
    for task in tasks:
        db.write_sync(partial(lifecycle.create, task=task, default_cap=0))
    return tasks


def kinds(db: Database, key_id: int, task_id: str) -> list[str]:
    entries = db.read_sync(lambda conn: ledger.entries_of(conn, key_id))
    return sorted(kind for kind, _, entry_task in entries if entry_task == task_id)


def test_list_pages_by_sequence_with_filters_and_per_key(db: Database) -> None:
    accounts = Accounts(db)
    mine, _ = accounts.create_key("mine", 1000)
    theirs, _ = accounts.create_key("theirs", 1000)
    _, second = created(db, mine.id, "t1", "t2")
    created(db, theirs.id, "x1")
    created(db, mine.id, "t3")
    db.write_sync(partial(lifecycle.start, task=second, provider="p", now=NOW))

    def ids(**options: object) -> list[str]:
        listed = db.read_sync(partial(task_store.list_tasks, key_id=mine.id, **options))
        return [task.id for task in listed]

    assert ids(limit=10, ascending=False) == ["t3", "t2", "t1"]
    assert ids(limit=2, ascending=True) == ["t1", "t2"]
    seq = db.read_sync(partial(task_store.seq_of, task_id="t2", key_id=mine.id))
    assert ids(limit=10, ascending=True, after_seq=seq) == ["t3"]
    assert ids(limit=10, ascending=False, after_seq=seq) == ["t1"]
    assert ids(limit=10, ascending=True, statuses=(TaskStatus.QUEUED,)) == ["t1", "t3"]
    assert ids(limit=10, ascending=True, model="seedance-2-0") == []
    assert db.read_sync(partial(task_store.seq_of, task_id="x1", key_id=mine.id)) is None


def test_queue_positions_count_queued_tasks_of_every_key(db: Database) -> None:
    accounts = Accounts(db)
    one, _ = accounts.create_key("one", 1000)
    two, _ = accounts.create_key("two", 1000)
    [first] = created(db, one.id, "q1")
    created(db, two.id, "q2")
    created(db, one.id, "q3")
    position = partial(task_store.queue_position)
    assert [db.read_sync(partial(position, task_id=t)) for t in ("q1", "q2", "q3")] == [0, 1, 2]
    db.write_sync(partial(lifecycle.start, task=first, provider="p", now=NOW))
    assert db.read_sync(partial(position, task_id="q3")) == 1


def test_cancel_refunds_a_queued_task_once_and_never_a_running_one(db: Database) -> None:
    key, _ = Accounts(db).create_key("k", 1000)
    queued, running = created(db, key.id, "c1", "c2")
    db.write_sync(partial(lifecycle.start, task=running, provider="p", now=NOW))
    assert db.write_sync(partial(lifecycle.cancel_queued, task=queued, now=NOW))
    assert not db.write_sync(partial(lifecycle.cancel_queued, task=queued, now=NOW))
    assert not db.write_sync(partial(lifecycle.cancel_queued, task=running, now=NOW))
    assert kinds(db, key.id, "c1") == ["debit", "refund"] and kinds(db, key.id, "c2") == ["debit"]
    stored = db.read_sync(partial(task_store.get_task, task_id="c1"))
    assert stored.status is TaskStatus.CANCELLED and stored.consumed_credits == 0
    assert db.read_sync(lambda conn: ledger.balance_of(conn, key.id)) == 1000 - 65


def test_delete_removes_finished_cancels_queued_and_keeps_running(db: Database) -> None:
    key, _ = Accounts(db).create_key("k", 1000)
    queued, running, failed = created(db, key.id, "d1", "d2", "d3")
    db.write_sync(partial(lifecycle.start, task=running, provider="p", now=NOW))
    db.write_sync(partial(lifecycle.end_unsuccessfully, task=failed, target=TaskStatus.FAILED,
                          code="X", message="m", now=NOW))
    assert db.write_sync(partial(lifecycle.delete, task=queued, now=NOW))
    assert db.write_sync(partial(lifecycle.delete, task=failed, now=NOW))
    assert not db.write_sync(partial(lifecycle.delete, task=running, now=NOW))
    assert not db.write_sync(partial(lifecycle.delete, task=failed, now=NOW))
    remaining = db.read_sync(partial(task_store.list_tasks, key_id=key.id, limit=10,
                                     ascending=True))
    assert [task.id for task in remaining] == ["d2"]
    assert kinds(db, key.id, "d1") == ["debit", "refund"]  # the ledger keeps the history
    assert db.read_sync(lambda conn: ledger.balance_of(conn, key.id)) == 1000 - 65


def render(task: Task, position: int) -> tuple[int, bytes]:
    return 200, f"{task.id}@{position}".encode()


def test_create_once_records_replays_and_forgets_after_a_day(db: Database) -> None:
    key, _ = Accounts(db).create_key("k", 1000)
    once = partial(create_once, key="idem", request_hash="h1", render=render)
    first = db.write_sync(partial(once, task=new_task(key.id, "i1")))
    assert (first.task_id, first.status, first.body) == ("i1", 200, b"i1@0")
    with pytest.raises(lifecycle.Replay) as replay:
        db.write_sync(partial(once, task=new_task(key.id, "i2")))
    assert replay.value.stored == first
    assert db.read_sync(partial(task_store.get_task, task_id="i2")) is None
    later = replace(new_task(key.id, "i3"), created_at=NOW + KEEP_MS + 1)
    again = db.write_sync(partial(once, task=later))
    assert again.task_id == "i3"
    assert db.read_sync(partial(idempotency.find, key_id=key.id, key="idem")) == again
    assert db.read_sync(lambda conn: ledger.balance_of(conn, key.id)) == 1000 - 2 * 65


def test_create_once_leaves_no_record_without_a_debit(db: Database) -> None:
    key, _ = Accounts(db).create_key("k", 10)
    with pytest.raises(ledger.InsufficientBalance):
        db.write_sync(partial(create_once, task=new_task(key.id, "n1"), key="idem",
                              request_hash="h", render=render))
    assert db.read_sync(partial(idempotency.find, key_id=key.id, key="idem")) is None


def test_a_second_record_of_one_key_is_refused(db: Database) -> None:
    key, _ = Accounts(db).create_key("k", 1000)
    stored = db.write_sync(partial(create_once, task=new_task(key.id, "r1"),
                                   key="idem", request_hash="h", render=render))
    with pytest.raises(idempotency.KeyTaken):
        db.write_sync(partial(idempotency.record, key_id=key.id, key="idem", response=stored))
