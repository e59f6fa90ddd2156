"""The store on a real database (SQLite, or PostgreSQL with SEEDGATE_TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from functools import partial

import pytest
import sqlalchemy as sa

from seedgate.domain.request import GenerationRequest, normalize
from seedgate.domain.task import Outputs, Rendition, Task, TaskStatus
from seedgate.service import lifecycle
from seedgate.service.accounts import Accounts, KeyNameTaken
from seedgate.store import ledger
from seedgate.store import tasks as task_store
from seedgate.store.database import Database
from seedgate.store.schema import balances
from seedgate.store.schema import ledger as ledger_table

NOW = 1_700_000_000_000


def new_task(key_id: int, task_id: str, price: int = 65) -> Task:
    request = normalize(GenerationRequest(model="seedance-1-5-pro", prompt="x",
                                          generate_audio=False))
    return Task(
        id=task_id, key_id=key_id, dialect="test", request=request, client_request={"p": 1},
        status=TaskStatus.QUEUED, price=price, refunded=0, created_at=NOW, updated_at=NOW,
        deadline_at=NOW + 3_600_000,
    )


def ledger_total(db: Database, key_id: int) -> int:
    return db.read_sync(lambda conn: conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(ledger_table.c.amount), 0))
        .where(ledger_table.c.key_id == key_id)).scalar_one())


def test_keys_are_stored_hashed_and_names_are_unique(db: Database) -> None:
    accounts = Accounts(db)
    key, secret = accounts.create_key("alice", 100)
    dump = db.read_sync(lambda conn: conn.execute(sa.text("SELECT * FROM api_keys")).all())
    assert secret not in repr(dump) and key.prefix in repr(dump)
    assert accounts.find(secret).id == key.id == accounts.find("alice").id
    with pytest.raises(KeyNameTaken):
        accounts.create_key("alice")


def test_debit_refund_and_the_ledger_agree(db: Database) -> None:
    key, _ = Accounts(db).create_key("bob", 100)
    task = new_task(key.id, "task_1")
    db.write_sync(lambda conn: lifecycle.create(conn, task, 0))
    with pytest.raises(ledger.InsufficientBalance):
        db.write_sync(lambda conn: lifecycle.create(conn, new_task(key.id, "task_2"), 0))
    assert db.read_sync(lambda conn: task_store.get_task(conn, "task_2")) is None
    assert db.write_sync(partial(lifecycle.start, task=task, provider="p", now=NOW))
    fail = partial(lifecycle.end_unsuccessfully, task=task, target=TaskStatus.FAILED,
                   code="X", message="m", now=NOW)
    assert db.write_sync(fail) is True
    assert db.write_sync(fail) is False  # already failed: no second refund
    stored = db.read_sync(lambda conn: task_store.get_task(conn, "task_1"))
    assert stored.status is TaskStatus.FAILED and stored.consumed_credits == 0
    assert ledger_total(db, key.id) == 100 == db.read_sync(
        lambda conn: ledger.balance_of(conn, key.id))


def test_success_cannot_follow_failure_and_settles_overpayment(db: Database) -> None:
    key, _ = Accounts(db).create_key("carol", 1000)
    task = new_task(key.id, "task_s", price=156)
    db.write_sync(lambda conn: lifecycle.create(conn, task, 0))
    db.write_sync(partial(lifecycle.start, task=task, provider="p", now=NOW))
    outputs = Outputs("videos/x.mp4", Rendition(1280, 720, 5, "16:9", 1, False))
    assert db.write_sync(partial(lifecycle.succeed, task=task, outputs=outputs,
                                 final_price=65, now=NOW))
    stored = db.read_sync(lambda conn: task_store.get_task(conn, task.id))
    assert stored.status is TaskStatus.SUCCEEDED and stored.consumed_credits == 65
    assert stored.outputs == outputs
    assert not db.write_sync(partial(lifecycle.end_unsuccessfully, task=task,
                                     target=TaskStatus.FAILED, code="X", message="m", now=NOW))
    assert ledger_total(db, key.id) == 1000 - 65


def test_the_balance_can_never_go_negative(db: Database) -> None:
    key, _ = Accounts(db).create_key("dave", 10)
    with pytest.raises(sa.exc.IntegrityError):
        db.write_sync(lambda conn: conn.execute(
            balances.update().where(balances.c.key_id == key.id).values(balance=-1)))
    with pytest.raises(ledger.InsufficientBalance):
        Accounts(db).add_credits("dave", -11)
    assert Accounts(db).add_credits("dave", -10) == 0


def test_leases_are_exclusive_until_they_expire(db: Database) -> None:
    key, _ = Accounts(db).create_key("erin", 1000)
    for i in range(3):
        db.write_sync(lambda conn, i=i: lifecycle.create(
            conn, new_task(key.id, f"task_l{i}"), 0))
    first = db.write_sync(partial(task_store.lease, owner="a", now=NOW, until=NOW + 1000,
                                  limit=2))
    second = db.write_sync(partial(task_store.lease, owner="b", now=NOW, until=NOW + 1000,
                                   limit=5))
    assert [t.id for t in first] == ["task_l0", "task_l1"]
    assert [t.id for t in second] == ["task_l2"]
    later = db.write_sync(partial(task_store.lease, owner="c", now=NOW + 1001,
                                  until=NOW + 5000, limit=5))
    assert {t.id for t in later} == {"task_l0", "task_l1", "task_l2"}
    held = db.write_sync(partial(task_store.renew_leases, owner="a",
                                 task_ids=["task_l0"], until=NOW + 9000))
    assert held == set()


def test_group_commit_isolates_a_failing_write(db: Database) -> None:
    key, _ = Accounts(db).create_key("frank", 65 * 20)

    async def many() -> list[object]:
        units = [partial(lifecycle.create, task=new_task(key.id, f"task_g{i}"), default_cap=0)
                 for i in range(30)]
        units.insert(5, partial(lifecycle.create, task=new_task(key.id, "task_g0"),
                                default_cap=0))  # dup id
        results = await asyncio.gather(*(db.write(u) for u in units), return_exceptions=True)
        await db.close()
        return results

    results = asyncio.run(many())
    created = [r for r in results if isinstance(r, Task)]
    refused = [r for r in results if isinstance(r, ledger.InsufficientBalance)]
    duplicates = [r for r in results if isinstance(r, sa.exc.IntegrityError)]
    assert (len(created), len(refused), len(duplicates)) == (20, 10, 1)
    assert ledger_total(db, key.id) == 0


def test_transition_guards_against_stale_state(db: Database) -> None:
    key, _ = Accounts(db).create_key("gina", 100)
    task = new_task(key.id, "task_t")
    db.write_sync(lambda conn: lifecycle.create(conn, task, 0))
    assert not db.write_sync(partial(task_store.transition, task_id=task.id,
                                     target=TaskStatus.SUCCEEDED, now=NOW))
    cancelled = replace(task, status=TaskStatus.QUEUED)
    assert db.write_sync(partial(lifecycle.end_unsuccessfully, task=cancelled,
                                 target=TaskStatus.CANCELLED, code="CANCELLED",
                                 message="by client", now=NOW))
    assert not db.write_sync(partial(lifecycle.start, task=task, provider="p", now=NOW))
