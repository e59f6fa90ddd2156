"""The media storage interface, held to one contract by both backends: the local disk and
S3-compatible object storage (the tests' moto server on loopback)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest
from pydantic import SecretStr

from seedgate.clock import now_ms
from seedgate.config import Settings
from seedgate.domain.pricing import PriceTable
from seedgate.domain.task import Rendition, TaskStatus
from seedgate.engine.janitor import GRACE_S, Janitor
from seedgate.engine.outcomes import Outcomes
from seedgate.gateway import media_storage
from seedgate.media.config import S3Location, S3Settings, parse_media_url
from seedgate.media.local import LocalStorage
from seedgate.media.s3 import S3Storage
from seedgate.media.storage import CHUNK, InvalidKey, NotStored, Storage, StorageUnavailable
from seedgate.providers.base import UpstreamResult
from seedgate.service import lifecycle
from seedgate.service.accounts import Accounts
from seedgate.store import tasks as task_store
from seedgate.store.database import Database

from . import s3
from .conftest import free_port
from .test_store import new_task

T = TypeVar("T")
README = Path(__file__).parents[1] / "README.md"


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "media")
        return
    with s3.Bucket() as bucket:
        store = S3Storage(bucket.location, s3.settings())
        yield store
        asyncio.run(store.close())


def run(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())  # type: ignore[arg-type]


async def read(storage: Storage, key: str, start: int = 0, length: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, start, length)])


def test_objects_round_trip_whole_and_in_ranges(storage: Storage, tmp_path: Path) -> None:
    video = os.urandom(3 * CHUNK + 1234)  # several chunks
    source = tmp_path / "clip.mp4"
    source.write_bytes(video)

    async def scenario() -> None:
        before = time.time()
        await storage.put_file("videos/a.mp4", source)
        await storage.put_bytes("inputs/b.png", b"png")
        after = time.time()
        found = await storage.stat("videos/a.mp4")
        assert found is not None and found.size == len(video)
        assert int(before) - 1 <= found.modified <= after + 1
        assert found.etag.startswith('"') and found.etag.endswith('"')
        assert await read(storage, "videos/a.mp4") == video
        chunks = [chunk async for chunk in storage.read("videos/a.mp4")]
        assert len(chunks) > 1 and max(map(len, chunks)) <= CHUNK  # streamed, not whole
        across = CHUNK - 10  # a range over a chunk boundary
        assert await read(storage, "videos/a.mp4", across, 5000) == video[across:across + 5000]
        assert await read(storage, "videos/a.mp4", len(video) - 7) == video[-7:]
        assert await read(storage, "videos/a.mp4", 0, 0) == b""
        assert await storage.read_bytes("inputs/b.png") == b"png"
        await storage.put_bytes("inputs/b.png", b"replaced")
        assert await storage.read_bytes("inputs/b.png") == b"replaced"
        assert await storage.exists("inputs/b.png")
        await storage.check()

    run(scenario)


def test_missing_objects_and_bad_keys(storage: Storage) -> None:
    async def scenario() -> None:
        assert await storage.stat("videos/none.mp4") is None
        assert not await storage.exists("videos/none.mp4")
        with pytest.raises(NotStored):
            await storage.read_bytes("videos/none.mp4")
        await storage.put_bytes("videos/x.mp4", b"x")
        await storage.put_bytes("frames/x.png", b"y")
        await storage.delete("videos/x.mp4", "frames/x.png", "videos/never.mp4")
        assert not await storage.exists("videos/x.mp4")
        assert not await storage.exists("frames/x.png")
        for key in ("../secret", "/etc/passwd", "videos/../../x", ""):
            with pytest.raises(InvalidKey):
                await storage.put_bytes(key, b"z")
            with pytest.raises(InvalidKey):
                await storage.stat(key)
            with pytest.raises(InvalidKey):
                await storage.read_bytes(key)
            assert not await storage.exists(key)

    run(scenario)


def written_apart(storage: Storage, old: list[str], new: list[str]) -> float:
    """Write `old`, then `new` two clock seconds later (S3 keeps whole seconds); a cutoff
    between the two."""
    async def scenario() -> float:
        for key in old:
            await storage.put_bytes(key, b"old")
        stamps = [found.modified for key in old if (found := await storage.stat(key))]
        while time.time() < max(stamps) + 2.5:
            await asyncio.sleep(0.2)
        for key in new:
            await storage.put_bytes(key, b"new")
        return max(stamps) + 1

    return run(scenario)


def test_remove_older_than_keeps_what_is_newer(storage: Storage) -> None:
    cutoff = written_apart(storage, ["videos/old.mp4", "inputs/deep/old.png"],
                           ["videos/new.mp4", "frames/new.png"])

    async def scenario() -> tuple[int, list[bool]]:
        removed = await storage.remove_older_than(cutoff)
        kept = [await storage.exists(key) for key in (
            "videos/old.mp4", "inputs/deep/old.png", "videos/new.mp4", "frames/new.png")]
        return removed, kept

    assert run(scenario) == (2, [False, False, True, True])


def test_the_janitor_empties_the_bucket_of_what_expired_page_by_page(
        s3_bucket: s3.Bucket, db: Database) -> None:
    """More objects than one listing page and one DeleteObjects call hold (1,000 each)."""
    client = s3.client()
    old = [f"{s3_bucket.location.prefix}videos/{n}.mp4" for n in range(1001)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: client.put_object(
            Bucket=s3_bucket.location.bucket, Key=key, Body=b"v"), old))
    storage = S3Storage(s3_bucket.location, s3.settings())
    cutoff = written_apart(storage, ["frames/last-old.png"], ["videos/fresh.mp4"])
    # An object beside the gateway's prefix is not the gateway's: never touched.
    client.put_object(Bucket=s3_bucket.location.bucket, Key="elsewhere/old.mp4", Body=b"o")
    ttl = 3600
    janitor = Janitor(db, storage, ttl, clock=lambda: cutoff + ttl + GRACE_S)

    async def sweep() -> tuple[int, int, int]:
        try:
            return await janitor.sweep()
        finally:
            await storage.close()
            await db.close()

    assert run(sweep) == (1002, 0, 0)
    assert list(s3_bucket.objects()) == ["videos/fresh.mp4"]
    assert client.get_object(Bucket=s3_bucket.location.bucket,
                             Key="elsewhere/old.mp4")["Body"].read() == b"o"


def test_an_unreachable_bucket_fails_the_check_clearly(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there
    storage = S3Storage(S3Location("media", "p/"), s3.settings(f"http://127.0.0.1:{port}"))

    async def scenario() -> list[str]:
        messages = []
        try:
            for attempt in (storage.check(), storage.stat("videos/a.mp4"),
                            storage.put_bytes("inputs/a.png", b"a")):
                with pytest.raises(StorageUnavailable) as failed:
                    await attempt
                messages.append(str(failed.value))
        finally:
            await storage.close()
        return messages

    with caplog.at_level(logging.DEBUG):
        messages = run(scenario)
    for message in messages:
        assert message.startswith(f"media storage s3://media/p/ at http://127.0.0.1:{port}: ")
        assert "Could not connect to the endpoint URL" in message
    assert "test-secret" not in caplog.text + "".join(messages)


def test_a_missing_bucket_is_named_as_such() -> None:
    storage = S3Storage(S3Location("sg-test-never-made", ""), s3.settings())

    async def scenario() -> None:
        try:
            with pytest.raises(StorageUnavailable, match="the bucket does not exist"):
                await storage.check()
        finally:
            await storage.close()

    run(scenario)


def test_the_local_check_fails_on_a_directory_it_cannot_write(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    run(storage.check)
    (tmp_path / "media").rmdir()
    (tmp_path / "media").write_bytes(b"a file where the directory was")
    with pytest.raises(StorageUnavailable, match=r"media directory .* is not writable"):
        run(storage.check)


def test_media_url_selects_s3_and_refuses_nonsense(tmp_path: Path) -> None:
    assert isinstance(media_storage(Settings(home=tmp_path)), LocalStorage)
    assert parse_media_url("s3://bucket") == S3Location("bucket", "")
    assert parse_media_url("s3://my.bucket//a/b/") == S3Location("my.bucket", "a/b/")
    for url, reason in (("https://bucket/x", "must look like s3://bucket/prefix"),
                        ("s3://AKIA:hunter2@bucket/x", "must not hold credentials"),
                        ("s3://Bad_Bucket/x", "names no valid bucket"),
                        ("s3://bucket/a/../b", "may not contain")):
        with pytest.raises(ValueError, match=reason) as refused:
            Settings(home=tmp_path, media_url=url)
        assert "hunter2" not in str(refused.value)
    with pytest.raises(ValueError, match="both access_key_id and secret_access_key") as half:
        Settings(home=tmp_path, media_url="s3://bucket", s3={"secret_access_key": "hunter2"})
    assert "hunter2" not in str(half.value)


def test_the_readme_example_configures_s3(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    section = README.read_text().split("## Media", 1)[1]
    found = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert found is not None
    config = tmp_path / "seedgate.toml"
    config.write_text(found.group(1))
    monkeypatch.setenv("SEEDGATE_CONFIG", str(config))
    settings = Settings(home=tmp_path)
    assert settings.media_bucket == S3Location("acme-media", "seedgate/")
    assert settings.s3.endpoint_url == "https://minio.internal:9000"
    assert settings.s3.addressing_style == "path"
    storage = media_storage(settings)
    assert isinstance(storage, S3Storage)
    run(storage.close)


def test_s3_is_reached_through_the_standard_aws_variables(
        s3_bucket: s3.Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("AWS_ENDPOINT_URL_S3", s3.ENDPOINT), ("AWS_REGION", "eu-west-3"),
                        ("AWS_ACCESS_KEY_ID", "env-key"), ("AWS_SECRET_ACCESS_KEY", "env-secret"),
                        ("AWS_ENDPOINT_URL", "http://127.0.0.2:1"),  # the S3 one wins
                        ("SEEDGATE_MEDIA_URL", s3_bucket.url)):
        monkeypatch.setenv(name, value)
    config = tmp_path / "seedgate.toml"
    config.write_text('[s3]\naddressing_style = "path"\n')
    monkeypatch.setenv("SEEDGATE_CONFIG", str(config))
    settings = Settings(home=tmp_path)
    storage = media_storage(settings)
    assert isinstance(storage, S3Storage)
    assert storage.location == f"{s3_bucket.url} at {s3.ENDPOINT}"
    assert storage._client.meta.region_name == "eu-west-3"

    async def scenario() -> None:
        try:
            await storage.check()
            await storage.put_bytes("inputs/env.png", b"through the environment")
        finally:
            await storage.close()

    run(scenario)
    assert s3_bucket.objects() == {"inputs/env.png": b"through the environment"}


def test_credentials_never_reach_the_log_even_at_debug(
        s3_bucket: s3.Bucket, caplog: pytest.LogCaptureFixture) -> None:
    settings = s3.settings().model_copy(update={"session_token": SecretStr("tok-secret-12")})
    storage = S3Storage(s3_bucket.location, settings)

    async def scenario() -> None:
        try:
            await storage.put_bytes("inputs/a.png", b"a")
            await storage.check()
        finally:
            await storage.close()

    with caplog.at_level(logging.DEBUG):
        run(scenario)
    assert "tok-secret-12" not in caplog.text and "test-secret" not in caplog.text
    assert s3_bucket.objects() == {"inputs/a.png": b"a"}


def test_credentials_in_settings_never_show(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, media_url="s3://bucket/p", s3=S3Settings(
        access_key_id="AKIAEXAMPLE", secret_access_key="wJalrXUtnFEMI", session_token="tok3n"))
    shown = f"{settings!r} {settings} {settings.model_dump()} {settings.model_dump_json()}"
    assert "wJalrXUtnFEMI" not in shown and "tok3n" not in shown
    storage = media_storage(settings)
    assert "wJalrXUtnFEMI" not in storage.location
    run(storage.close)


class FlakyStorage(LocalStorage):
    """Refuses the first `failures` writes, as an object store in an outage would."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root)
        self.failures = failures

    async def put_file(self, key: str, source: Path) -> None:
        if self.failures:
            self.failures -= 1
            raise StorageUnavailable("media storage flaky: Could not connect")
        await super().put_file(key, source)


def test_a_storage_outage_delays_a_result_instead_of_failing_it(
        tmp_path: Path, db: Database) -> None:
    key, _ = Accounts(db).create_key("k", credits=1000)
    task = replace(new_task(key.id, "task_" + "c" * 24), deadline_at=now_ms() + 3_600_000)
    db.write_sync(partial(lifecycle.create, task=task, default_cap=0))
    db.write_sync(partial(lifecycle.start, task=task, provider="p", now=now_ms()))
    storage = FlakyStorage(tmp_path / "media", failures=2)
    video = tmp_path / "render.mp4"
    video.write_bytes(b"an mp4")
    result = UpstreamResult(video, Rendition(1280, 720, 5, "16:9", 1, False))

    async def scenario() -> bool:
        try:
            return await Outcomes(db, storage, PriceTable.with_overrides({})).succeed(
                task, result)
        finally:
            await db.close()

    assert run(scenario) is True
    assert storage.failures == 0
    assert run(partial(storage.read_bytes, f"videos/{task.id}.mp4")) == b"an mp4"
    stored = db.read_sync(partial(task_store.get_task, task_id=task.id))
    assert stored is not None and stored.status is TaskStatus.SUCCEEDED
