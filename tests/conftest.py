"""Fixtures: a real gateway on a loopback port, on SQLite or (with
SEEDGATE_TEST_DATABASE_URL) on PostgreSQL in a schema of its own; with
SEEDGATE_TEST_REDIS_URL, the gateways of a test share their state through Redis, under a
key prefix of the test's own; with SEEDGATE_TEST_MEDIA_URL, each keeps its media in the
tests' S3 server under a prefix of its own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa

from seedgate.config import Settings
from seedgate.domain.limits import KeyLimits
from seedgate.gateway import Gateway
from seedgate.http.app import create_app
from seedgate.media.config import parse_media_url
from seedgate.server import http_server
from seedgate.store.database import Database, normalize_url

from . import s3
from .helpers import MediaServer

TEST_DATABASE_URL = os.environ.get("SEEDGATE_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("SEEDGATE_TEST_REDIS_URL")
# The PostgreSQL of the tests that need one in every configuration.
POSTGRES_URL = TEST_DATABASE_URL or "postgresql://127.0.0.1:5432/test"
# The Redis of the tests of Redis itself, which run in every configuration.
REDIS_URL = TEST_REDIS_URL or "redis://127.0.0.1:6379/0"
STOP_TIMEOUT_S = 30  # well inside the test's own 120 s timeout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DatabaseTarget:
    url: str
    schema: str | None


@contextlib.contextmanager
def fresh_database(tmp_path: Path, name: str = "seedgate") -> Iterator[DatabaseTarget]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL schema."""
    if not TEST_DATABASE_URL:
        yield DatabaseTarget(f"sqlite:///{tmp_path / f'{name}.db'}", None)
        return
    with postgres_schema(TEST_DATABASE_URL) as target:
        yield target


@contextlib.contextmanager
def postgres_schema(url: str) -> Iterator[DatabaseTarget]:
    """A new, empty schema in the PostgreSQL database at `url`, dropped afterwards."""
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(normalize_url(url))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield DatabaseTarget(url, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def media_bucket() -> None:
    """The bucket of SEEDGATE_TEST_MEDIA_URL, made once (xdist workers may race)."""
    if s3.MEDIA_URL:
        s3.ensure_bucket(parse_media_url(s3.MEDIA_URL).bucket)


@pytest.fixture
def s3_bucket() -> Iterator[s3.Bucket]:
    with s3.Bucket() as bucket:
        yield bucket


@contextlib.contextmanager
def redis_namespace() -> Iterator[str]:
    """A fresh key prefix in the tests' Redis, and its keys (and those of prefixes that
    extend it) deleted afterwards."""
    prefix = f"t{secrets.token_hex(6)}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        found = list(client.scan_iter(match=f"{{{prefix}*"))
        if found:
            client.delete(*found)
    finally:
        client.close()


@pytest.fixture
def namespace() -> Iterator[str]:
    with redis_namespace() as prefix:
        yield prefix


@pytest.fixture
def database(tmp_path: Path) -> Iterator[DatabaseTarget]:
    with fresh_database(tmp_path) as target:
        yield target


@pytest.fixture
def db(database: DatabaseTarget) -> Iterator[Database]:
    store = Database(database.url, schema=database.schema)
    store.migrate()
    yield store
    store.reader.dispose()
    store.writer.dispose()


def gateway_settings(home: Path, database: DatabaseTarget, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home, "host": "127.0.0.1", "port": free_port(),
        "database_url": database.url, "database_schema": database.schema,
        "simulator_latency": 0.0, "lease_seconds": 2.0, "worker_poll_interval": 0.05,
        "refresh_interval": 0.2, "rate_limit": 0, "log_level": "WARNING",
        # The input images and webhook receivers of the tests listen on 127.0.0.1; other
        # loopback addresses (127.0.0.2, ::1) stay refused, for the SSRF tests.
        "outbound_allow": "127.0.0.1/32",
        **s3.media_overrides(),
        **overrides,
    }
    return Settings(**values)


@dataclass
class RunningGateway:
    url: str
    gateway: Gateway
    settings: Settings

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def new_key(self, credits: int = 10_000, rate_limit: int | None = None,
                name: str | None = None, **limits: Any) -> str:
        _, secret = self.gateway.accounts.create_key(
            name or f"k{secrets.token_hex(4)}", credits,
            KeyLimits(rate_limit=rate_limit, **limits))
        return secret

    def balance(self, secret: str) -> int:
        key = self.gateway.accounts.find(secret)
        return {k.id: b for k, b in self.gateway.accounts.balances()}[key.id]


class ThreadedServer:
    """The real app on the real server (granian, embedded) in a background thread."""

    def __init__(self, settings: Settings, *, worker: bool = True) -> None:
        self.gateway = Gateway(settings, run_worker=worker)
        self.settings = settings
        self.server = http_server(create_app(self.gateway), settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(self.server.serve(),), daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.gateway.db.migrate()
        self.thread.start()
        deadline = time.monotonic() + 120  # a start takes long on a loaded machine
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{self.settings.port}/", timeout=1)
                return self
            except httpx.TransportError:
                if not self.thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the gateway did not start") from None
                time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.server.stop)
        # A loaded machine may take long to drain; the loop is closed only once it has
        # stopped (closing a running loop raises), else left to the daemon thread.
        self.thread.join(timeout=STOP_TIMEOUT_S)
        if self.thread.is_alive():
            warnings.warn(f"the gateway on port {self.settings.port} did not stop within "
                          f"{STOP_TIMEOUT_S} s", stacklevel=2)
        else:
            self.loop.close()
        if (bucket := self.settings.media_bucket) is not None:
            s3.empty(bucket)


@pytest.fixture
def make_gateway(tmp_path: Path, database: DatabaseTarget, namespace: str) -> Iterator[Any]:
    """Gateways on one database, with one secret (and, with SEEDGATE_TEST_REDIS_URL, one
    Redis namespace): processes of one deployment."""
    servers: list[ThreadedServer] = []
    shared: dict[str, Any] = {"secret": secrets.token_hex(16)}
    if TEST_REDIS_URL:
        shared.update(redis_url=TEST_REDIS_URL, redis_prefix=namespace)

    def start(worker: bool = True, **overrides: Any) -> RunningGateway:
        home = tmp_path / f"home{len(servers)}"
        settings = gateway_settings(home, database, **{**shared, **overrides})
        server = ThreadedServer(settings, worker=worker).__enter__()
        servers.append(server)
        return RunningGateway(f"http://127.0.0.1:{settings.port}", server.gateway, settings)

    yield start
    for server in reversed(servers):
        server.__exit__()


@pytest.fixture
def gateway(make_gateway: Any) -> RunningGateway:
    return make_gateway()  # type: ignore[no-any-return]


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    with MediaServer() as server:
        yield server


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Name the directories where tests saved artifacts (the console's screenshots)."""
    saved = {value for report in terminalreporter.stats.get("passed", [])
             for name, value in report.user_properties if name == "screenshots"}
    for directory in sorted(saved):
        terminalreporter.write_line(f"console screenshots: {directory}")


# -- an upstream provider: another gateway ---------------------------------------------------

KEY_ENV = "SEEDGATE_TEST_UPSTREAM_KEY"


@pytest.fixture
def upstream_database(tmp_path: Path) -> Iterator[DatabaseTarget]:
    with fresh_database(tmp_path, "upstream") as target:
        yield target


@pytest.fixture
def upstream(upstream_database: DatabaseTarget, make_gateway: Any, namespace: str,
             monkeypatch: pytest.MonkeyPatch) -> RunningGateway:
    """Gateway B, with its own database (and Redis namespace); A reaches it with the key in
    KEY_ENV."""
    b = make_gateway(database_url=upstream_database.url,
                     database_schema=upstream_database.schema,
                     redis_prefix=f"{namespace}-upstream")
    monkeypatch.setenv(KEY_ENV, b.new_key(credits=1_000_000))
    return b  # type: ignore[no-any-return]
