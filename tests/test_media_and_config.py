"""Signed links, the media janitor and configuration sources."""

from __future__ import annotations

import asyncio
import os
import time
from functools import partial
from pathlib import Path

import pytest

from seedgate.clock import now_ms
from seedgate.config import Settings
from seedgate.domain.idempotency import KEEP_MS, StoredResponse
from seedgate.domain.request import GenerationRequest, normalize
from seedgate.domain.webhooks import Delivery, DeliveryStatus
from seedgate.engine.janitor import GRACE_S, Janitor
from seedgate.media.local import LocalStorage
from seedgate.media.signing import UrlSigner
from seedgate.service.accounts import Accounts
from seedgate.store import idempotency
from seedgate.store import webhooks as webhook_store
from seedgate.store.database import Database
from seedgate.store.schema import webhook_attempts


def test_signed_urls_bind_key_and_expiry() -> None:
    signer = UrlSigner(b"secret")
    url = signer.url("http://h:1/", "videos/a b.mp4", 2_000)
    assert url.startswith("http://h:1/media/videos/a%20b.mp4?exp=2000&sig=")
    signature = url.rsplit("sig=", 1)[1]
    assert signer.verify("videos/a b.mp4", 2_000, signature, now_s=1_999)
    assert not signer.verify("videos/a b.mp4", 2_000, signature, now_s=2_000)
    assert not signer.verify("videos/other.mp4", 2_000, signature, now_s=0)
    assert not signer.verify("videos/a b.mp4", 2_001, signature, now_s=0)
    assert not UrlSigner(b"other").verify("videos/a b.mp4", 2_000, signature, now_s=0)


def test_janitor_removes_only_what_has_expired(tmp_path: Path, db: Database) -> None:
    storage = LocalStorage(tmp_path / "media")
    for name in ("old", "new"):
        asyncio.run(storage.put_bytes(f"videos/{name}.mp4", b"video"))
    ttl = 3600
    ancient = time.time() - ttl - GRACE_S - 10
    os.utime(storage.root / "videos" / "old.mp4", (ancient, ancient))
    key, _ = Accounts(db).create_key("janitor", 0)
    for name, age_ms in (("old", KEEP_MS + 1000), ("new", 1000)):
        response = StoredResponse("hash", f"task_{name}", 200, b"{}", now_ms() - age_ms)
        db.write_sync(partial(idempotency.record, key_id=key.id, key=name, response=response))

    for name, ended_ms in (("old", int(ancient * 1000)), ("new", now_ms())):
        db.write_sync(partial(webhook_store.insert_delivery, delivery=Delivery(
            0, f"msg_{name}", f"task_{name}", key.id, "video.completed", "http://x.test/",
            b"{}", DeliveryStatus.DELIVERED, 0, 1, ended_ms, ended_ms, finished_at=ended_ms)))
        [stored] = db.read_sync(partial(webhook_store.deliveries_of, task_id=f"task_{name}"))
        db.write_sync(lambda conn, stored=stored, at=ended_ms: conn.execute(
            webhook_attempts.insert().values(delivery_id=stored.id, attempted_at=at,
                                             duration_ms=5, status_code=200)))

    async def sweep() -> tuple[int, int, int]:
        try:
            return await Janitor(db, storage, ttl).sweep()
        finally:
            await db.close()

    assert asyncio.run(sweep()) == (1, 1, 1)
    kept = db.read_sync(partial(webhook_store.deliveries_of, task_id="task_new"))
    assert [d.event_id for d in kept] == ["msg_new"]
    assert db.read_sync(partial(webhook_store.deliveries_of, task_id="task_old")) == []
    assert [path.name for path in storage.root.rglob("*.mp4")] == ["new.mp4"]
    assert db.read_sync(partial(idempotency.find, key_id=key.id, key="old")) is None
    assert db.read_sync(partial(idempotency.find, key_id=key.id, key="new")) is not None


def test_settings_come_from_toml_and_environment(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "seedgate.toml"
    config.write_text(
        'port = 9123\nsimulator_latency = 2.5\n'
        '[prices.seedance-1-5-pro]\n"720p" = 20\naudio_multiplier = 3\n'
    )
    monkeypatch.setenv("SEEDGATE_CONFIG", str(config))
    monkeypatch.setenv("SEEDGATE_SIMULATOR_LATENCY", "7")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.invalid/x")
    settings = Settings(home=tmp_path)
    assert settings.port == 9123  # from the file
    assert settings.simulator_latency == 7.0  # the environment wins over the file
    assert settings.resolved_database_url == "postgresql://db.invalid/x"
    request = normalize(GenerationRequest(model="seedance-1-5-pro", prompt="x", duration=5))
    assert settings.price_table().quote(request) == 300


def test_settings_refuse_nonsense(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEDGATE_MEDIA_TTL", "5")
    with pytest.raises(ValueError, match="media_ttl"):
        Settings(home=tmp_path)


def test_the_signing_secret_is_created_once_and_kept(tmp_path: Path) -> None:
    first = Settings(home=tmp_path).signing_secret()
    assert len(first) == 64 and Settings(home=tmp_path).signing_secret() == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert Settings(home=tmp_path, secret="configured").signing_secret() == b"configured"
