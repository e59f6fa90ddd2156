"""The running system's parts, wired once from settings."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from seedgate.config import Settings
from seedgate.domain.keys import ApiKey
from seedgate.engine.callbacks import CallbackTokens
from seedgate.engine.dispatch import Dispatcher
from seedgate.engine.janitor import Janitor
from seedgate.engine.outcomes import Outcomes
from seedgate.engine.refresh import Refresher
from seedgate.engine.schedule import PollSchedule
from seedgate.engine.worker import Worker
from seedgate.media.inputs import InputFetcher
from seedgate.media.local import LocalStorage
from seedgate.media.signing import UrlSigner
from seedgate.media.sources import SourceVideos
from seedgate.media.storage import Storage, StorageUnavailable
from seedgate.net.fetch import GuardedHttp
from seedgate.net.guard import OutboundGuard
from seedgate.providers.client import UpstreamClient
from seedgate.providers.health import Health
from seedgate.providers.mirror import Mirror
from seedgate.providers.registry import build_routes
from seedgate.providers.router import Router
from seedgate.providers.simulator import SimulatorProvider
from seedgate.service import lifecycle
from seedgate.service.accounts import Accounts, Authenticator
from seedgate.service.admin import Admin
from seedgate.service.limits import RateLimiter
from seedgate.service.models import Lineup
from seedgate.service.outbound import OutboundScreen
from seedgate.service.tasks import TaskService
from seedgate.service.webhooks import WebhookLog
from seedgate.shared.bus import Bus, RedisBus, Topic
from seedgate.shared.health import RedisHealth
from seedgate.shared.link import RedisLink
from seedgate.shared.ratelimit import RedisRateLimiter
from seedgate.shared.timings import RedisPollSchedule
from seedgate.store.database import Database
from seedgate.webhooks.delivery import DeliveryEngine
from seedgate.webhooks.keyring import Keyring
from seedgate.webhooks.outbox import Outbox
from seedgate.webhooks.secretbox import SecretBox

log = logging.getLogger(__name__)


SHARE_INTERVAL_S = 1.0
STOP_GRACE_S = 10.0


def media_storage(settings: Settings) -> Storage:
    """S3-compatible object storage when `media_url` is set, else the local disk."""
    bucket = settings.media_bucket
    if bucket is None:
        return LocalStorage(settings.media_dir)
    from seedgate.media.s3 import S3Storage  # boto3 loads only when media is in S3

    return S3Storage(bucket, settings.s3)


class Gateway:
    def __init__(self, settings: Settings, *, run_worker: bool = True) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url, schema=settings.database_schema)
        self.storage = media_storage(settings)
        self.signer_secret = settings.signing_secret()
        self.signer = UrlSigner(self.signer_secret)
        # State shared by processes: in Redis when configured, else in this process.
        self.redis = RedisLink(settings.redis_url, settings.redis_prefix) \
            if settings.redis_url else None
        self.bus = RedisBus(self.redis) if self.redis else Bus()
        self.accounts = Accounts(self.db, on_change=self._key_changed)
        self.auth = Authenticator(self.db)
        self.bus.subscribe(Topic.KEY, self.auth.forget)
        self.limiter = RedisRateLimiter(settings.rate_limit, self.redis) if self.redis \
            else RateLimiter(settings.rate_limit)
        self.trusted_proxies = settings.proxy_networks()
        prices = settings.price_table()
        # Every URL called for a client goes through the guard; provider hosts do not.
        self.guard = OutboundGuard(settings.outbound_networks())
        self.outbound = GuardedHttp(self.guard)
        inputs = InputFetcher(self.outbound, self.signer, self.storage)
        self.provider = SimulatorProvider(
            settings.simulator_dir, latency_s=settings.simulator_latency,
            render_processes=settings.render_processes, inputs=inputs, executes=run_worker,
        )
        outbox = Outbox(self.signer, settings.public_url
                        or f"http://{settings.host}:{settings.port}", settings.media_ttl,
                        on_queued=partial(self.bus.publish, Topic.WEBHOOKS))
        notify = lifecycle.announcing(outbox.record, partial(self.bus.publish, Topic.TASK))
        self.keyring = Keyring(self.db, SecretBox(self.signer_secret))
        # Operator-configured provider hosts: one pool for every remote provider.
        routing = settings.routing
        self.upstream_http = UpstreamClient(routing.max_connections)
        health = RedisHealth(routing.breaker_failures, routing.breaker_cooldown, self.redis) \
            if self.redis else Health(routing.breaker_failures, routing.breaker_cooldown)
        self.router = Router(build_routes(settings.providers, self.provider, self.upstream_http),
                             health)
        self.callbacks = CallbackTokens(self.signer_secret,
                                        routing.callback_url or settings.public_url)
        self.outcomes = Outcomes(self.db, self.storage, prices, notify=notify,
                                 announce=partial(self.bus.publish, Topic.TASK))
        self.schedule = RedisPollSchedule(routing.expected_generation, routing.poll_min,
                                          routing.poll_max, self.redis) if self.redis else \
            PollSchedule(routing.expected_generation, routing.poll_min, routing.poll_max)
        self.worker = self._worker(settings) if run_worker else None
        self.refresher = Refresher(
            self.router, self.outcomes, min_interval_s=settings.refresh_interval,
            remote_interval_s=settings.routing.read_refresh,
            on_finished=partial(self.bus.publish, Topic.NUDGE),
        )
        self.tasks = TaskService(
            self.db, prices, refresher=self.refresher, bus=self.bus, storage=self.storage,
            notify=notify, default_cap=settings.max_concurrency,
            screen=OutboundScreen(self.guard, inputs.own_key),
            lineup=Lineup(settings.models, self.router),
        )
        self.sources = SourceVideos(inputs, self.storage, self.signer, settings.media_ttl,
                                    check=self.tasks.quote)
        self.webhooks = WebhookLog(self.db, self.tasks)
        self.admin = Admin(self.db, accounts=self.accounts, keyring=self.keyring,
                           tasks=self.tasks, webhooks=self.webhooks, router=self.router,
                           prices=prices, secret=self.signer_secret)
        self.deliveries = DeliveryEngine(
            self.db, self.outbound, self.keyring, timeout_s=settings.webhook_timeout,
            poll_s=settings.worker_poll_interval,
        ) if run_worker else None
        if self.worker is not None:
            self.bus.subscribe(Topic.WORK, self.worker.wake)
            self.bus.subscribe(Topic.NUDGE, self.worker.nudge)
        if self.deliveries is not None:
            self.bus.subscribe(Topic.WEBHOOKS, self.deliveries.wake)
        self.janitor = Janitor(self.db, self.storage, settings.media_ttl)
        self._background: list[asyncio.Task[None]] = []
        self._worker_task: asyncio.Task[None] | None = None

    def _worker(self, settings: Settings) -> Worker:
        routing = settings.routing
        dispatcher = Dispatcher(self.db, self.outcomes, self.router, routing,
                                callback_url=self.callbacks.url)
        mirror = Mirror(self.upstream_http, settings.home / "mirror",
                        max_bytes=routing.mirror_max_bytes, attempts=routing.mirror_attempts)
        return Worker(
            self.db, self.outcomes, self.router, dispatcher=dispatcher, mirror=mirror,
            schedule=self.schedule, callbacks=self.callbacks.enabled,
            concurrency=settings.worker_concurrency, lease_s=settings.lease_seconds,
            poll_s=settings.worker_poll_interval,
        )

    def _key_changed(self, key: ApiKey) -> None:
        self.bus.publish(Topic.KEY, str(key.id))

    async def start(self) -> None:
        await asyncio.to_thread(self.db.migrate)
        await self._check_storage()
        await self.bus.start()
        if self.redis is not None:
            self._background.append(asyncio.create_task(self._share(), name="shared-state"))
        if self.worker is not None:
            self._worker_task = asyncio.create_task(self.worker.run(), name="worker")
            janitor = asyncio.create_task(self.janitor.run(), name="media-janitor")
            self._background += [self._worker_task, janitor]
        if self.deliveries is not None:
            self._background.append(
                asyncio.create_task(self.deliveries.run(), name="webhook-delivery"))

    async def _check_storage(self) -> None:
        """Say where media goes, and warn at once if it cannot get there (the gateway
        serves anyway: tasks queue, and media is stored once the storage is back)."""
        log.info("media storage: %s", self.storage.location)
        try:
            await self.storage.check()
        except StorageUnavailable as exc:
            log.warning("%s", exc)

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        if self._background:
            # A task that does not end when cancelled must not keep the process from
            # stopping: its work is leased and another worker takes it over.
            done, stuck = await asyncio.wait(self._background, timeout=STOP_GRACE_S)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("background task %s failed", task.get_name(),
                              exc_info=task.exception())
            for task in stuck:
                log.warning("background task %s did not stop within %s s", task.get_name(),
                            STOP_GRACE_S)
        await self.provider.close()
        await self.outbound.close()
        await self.upstream_http.aclose()
        await self.storage.close()
        await self.bus.stop()
        if self.redis is not None:
            await self.redis.close()
        await self.db.close()

    async def _share(self) -> None:
        """Adopt what the other processes learned: provider health, generation times."""
        assert isinstance(self.router.health, RedisHealth)
        assert isinstance(self.schedule, RedisPollSchedule)
        while True:
            try:
                await self.router.health.refresh(self.router.routes)
                await self.schedule.refresh()
            except Exception:
                log.exception("reading the shared state from Redis failed")
            await asyncio.sleep(SHARE_INTERVAL_S)

    async def run_worker_forever(self) -> None:
        """`seedgate worker`: the worker alone, until cancelled."""
        await self.start()
        try:
            assert self._worker_task is not None
            await self._worker_task
        finally:
            await self.stop()
