"""Engines, migrations and the two ways code reaches the database.

Reads run on a small thread pool. Writes go through a group committer: concurrent write
units are executed one after another inside a single transaction and made durable by one
commit, so that many durable creates a second cost one fsync per batch instead of one each.
A unit that fails is isolated from the others: a `Refused` unit changed nothing, and any
other failure makes the batch run again with a savepoint around each unit.

A unit may ask for something to happen once its writes are durable (`after_commit`): the
callbacks of a batch run on the event loop after its commit, and never for a unit whose
writes were undone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy.engine import Connection, Engine, make_url

from seedgate.store.driver import json_text

log = logging.getLogger(__name__)

T = TypeVar("T")
Unit = Callable[[Connection], T]
Callback = Callable[[], None]
Outcome = tuple[bool, Any]

MIGRATIONS = Path(__file__).parent / "migrations"
MAX_BATCH = 256
PG_MIGRATION_LOCK = 0x5EED6A7E
AFTER_COMMIT = "seedgate.after_commit"


class Refused(Exception):
    """Raised by a write unit before it changed anything, so its batch can go on."""


class _UnitFailed(Exception):
    """A unit failed after it may have written: the batch must be rolled back."""


def after_commit(conn: Connection, callback: Callback) -> None:
    """Call `callback` once the write transaction `conn` is in has committed."""
    conn.info[AFTER_COMMIT].append(callback)


def normalize_url(url: str) -> str:
    """Accept the usual `postgresql://` and `postgres://` forms; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_engine(url: str, begin: str, pool_size: int) -> Engine:
    engine = sa.create_engine(
        url, json_serializer=json_text, json_deserializer=orjson.loads,
        pool_size=pool_size, max_overflow=0,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so savepoints and BEGIN IMMEDIATE work.
        dbapi_conn.isolation_level = None
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=15000",
                       "foreign_keys=ON"):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


class Database:
    """One database, SQLite or PostgreSQL, behind the same interface."""

    def __init__(self, url: str, *, schema: str | None = None, read_threads: int = 4) -> None:
        self.url = normalize_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        if self.dialect == "sqlite":
            self._prepare_sqlite_dir()
            self.reader = _sqlite_engine(self.url, "BEGIN", read_threads)
            # Writes from every process queue on SQLite's lock; IMMEDIATE avoids upgrade
            # deadlocks between a reader turning writer and another writer.
            self.writer = _sqlite_engine(self.url, "BEGIN IMMEDIATE", 1)
        else:
            connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
            self.reader = sa.create_engine(
                self.url, json_serializer=json_text, json_deserializer=orjson.loads,
                pool_size=read_threads + 2, max_overflow=4, connect_args=connect_args,
                pool_pre_ping=True,
            )
            self.writer = self.reader
        self._read_pool = ThreadPoolExecutor(read_threads, thread_name_prefix="db-read")
        self._write_pool = ThreadPoolExecutor(1, thread_name_prefix="db-write")
        self._queue: asyncio.Queue[tuple[Unit[Any], asyncio.Future[Any]]] | None = None
        self._committer: asyncio.Task[None] | None = None

    def _prepare_sqlite_dir(self) -> None:
        """The database file is made readable by its owner alone (0600): it holds key
        digests and sealed secrets. SQLite gives its -wal and -shm files the same mode."""
        database = make_url(self.url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))

    # -- migrations -------------------------------------------------------------------

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to `revision` (the newest by default); safe when several
        processes start."""
        with self._migration_lock(), self.writer.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, revision)

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.dialect == "sqlite":
            database = make_url(self.url).database or "seedgate"
            with FileLock(f"{database}.migrate.lock"):
                yield
            return
        with self.writer.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": PG_MIGRATION_LOCK})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": PG_MIGRATION_LOCK})
                conn.commit()

    # -- synchronous access (CLI, tests) ----------------------------------------------

    def read_sync(self, unit: Unit[T]) -> T:
        with self.reader.connect() as conn:
            return unit(conn)

    def write_sync(self, unit: Unit[T]) -> T:
        result, callbacks = self._write_one(unit)
        _run(callbacks)
        return result

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[tuple[Connection, list[Callback]]]:
        """A write transaction and the callbacks its units ask for after the commit."""
        with self.writer.begin() as conn:
            callbacks: list[Callback] = []
            conn.info[AFTER_COMMIT] = callbacks
            try:
                yield conn, callbacks
            finally:
                del conn.info[AFTER_COMMIT]

    def _write_one(self, unit: Unit[T]) -> tuple[T, list[Callback]]:
        with self._transaction() as (conn, callbacks):
            return unit(conn), callbacks

    # -- asynchronous access (server, worker) -----------------------------------------

    async def read(self, unit: Unit[T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_pool, self.read_sync, unit)

    async def write(self, unit: Unit[T]) -> T:
        """Run `unit` in a transaction shared with other concurrent writes.

        An exception raised by `unit` undoes that unit only and is re-raised here; the
        other units of the batch still commit.
        """
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._committer = asyncio.create_task(self._commit_loop(), name="group-commit")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((unit, future))
        return await future

    async def _commit_loop(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                outcomes, callbacks = await loop.run_in_executor(
                    self._write_pool, self._run_batch, batch)
            except Exception as exc:  # the commit itself failed: nothing in the batch holds
                log.exception("group commit of %d writes failed", len(batch))
                outcomes, callbacks = [(False, exc)] * len(batch), []
            _run(callbacks)
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _run_batch(self, batch: list[tuple[Unit[Any], asyncio.Future[Any]]]
                   ) -> tuple[list[Outcome], list[Callback]]:
        if len(batch) == 1:
            try:
                result, callbacks = self._write_one(batch[0][0])
            except Exception as exc:
                return [(False, exc)], []
            return [(True, result)], callbacks
        try:
            return self._run_together(batch)
        except _UnitFailed:
            return self._run_isolated(batch)

    def _run_together(self, batch: list[tuple[Unit[Any], asyncio.Future[Any]]]
                      ) -> tuple[list[Outcome], list[Callback]]:
        """The fast path: no savepoints. Any failure other than a clean refusal rolls the
        whole batch back, to be run again with a savepoint around each unit."""
        outcomes: list[Outcome] = []
        with self._transaction() as (conn, callbacks):
            for unit, _ in batch:
                asked = len(callbacks)
                try:
                    outcomes.append((True, unit(conn)))
                except Refused as exc:
                    del callbacks[asked:]
                    outcomes.append((False, exc))
                except Exception as exc:
                    raise _UnitFailed from exc
        return outcomes, callbacks

    def _run_isolated(self, batch: list[tuple[Unit[Any], asyncio.Future[Any]]]
                      ) -> tuple[list[Outcome], list[Callback]]:
        outcomes: list[Outcome] = []
        with self._transaction() as (conn, callbacks):
            for unit, _ in batch:
                asked = len(callbacks)
                try:
                    with conn.begin_nested():
                        outcomes.append((True, unit(conn)))
                except Exception as exc:
                    del callbacks[asked:]
                    outcomes.append((False, exc))
        return outcomes, callbacks

    async def close(self) -> None:
        if self._committer is not None:
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
            self._committer = None
            self._queue = None
        self._read_pool.shutdown(wait=False)
        self._write_pool.shutdown(wait=True)
        self.reader.dispose()
        if self.writer is not self.reader:
            self.writer.dispose()


def _run(callbacks: list[Callback]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("an after-commit callback failed")
