"""The operators' endpoints: `/healthz` (alive), `/readyz` (ready to serve) and
`/metrics` (Prometheus, behind the `metrics_token`)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from seedgate.gateway import Gateway
from seedgate.http.plumbing import gateway_of, json_response
from seedgate.ops import metrics
from seedgate.ops.readiness import OK, readiness
from seedgate.providers.health import Breaker
from seedgate.store import tasks as task_store

BREAKER_VALUES = {Breaker.CLOSED: 0, Breaker.HALF_OPEN: 1, Breaker.OPEN: 2}


async def healthz(_request: Request) -> Response:
    return json_response({"status": "alive"})


async def readyz(request: Request) -> Response:
    gateway = gateway_of(request)
    checks = await readiness(gateway.db, gateway.storage, gateway.redis)
    ready = all(verdict == OK for verdict in checks.values())
    return json_response({"status": "ready" if ready else "unavailable", "checks": checks},
                         200 if ready else 503)


async def metrics_endpoint(request: Request) -> Response:
    gateway = gateway_of(request)
    token = gateway.settings.metrics_token
    if not token:
        return json_response({"error": {"code": "not_found", "message": "Metrics are off: "
                                        "set metrics_token to serve them."}}, 404)
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return json_response({"error": {"code": "unauthorized", "message": "Send "
                                        "Authorization: Bearer <metrics_token>."}}, 401,
                             {"www-authenticate": "Bearer"})
    live = await live_gauges(gateway)
    return Response(metrics.exposition(live), media_type=metrics.CONTENT_TYPE)


async def live_gauges(gateway: Gateway) -> list[Metric]:
    """The gauges read at scrape time: the queue (from the database, so every process
    agrees) and this process's view of each provider's circuit breaker."""
    depth, oldest = await gateway.db.read(task_store.queue_stats)
    queued = GaugeMetricFamily("seedgate_queue_depth", "Tasks queued, not yet started")
    queued.add_metric([], depth)
    age = GaugeMetricFamily("seedgate_queue_oldest_age_seconds",
                            "Age of the oldest queued task (0 when none is queued)")
    age.add_metric([], 0.0 if oldest is None else max(0.0, time.time() - oldest / 1000))
    return [queued, age, *breakers(gateway)]


def breakers(gateway: Gateway) -> Iterator[Metric]:
    family = GaugeMetricFamily("seedgate_provider_breaker_state", "Circuit breaker per "
                               "provider: 0 closed, 1 half-open (a trial is due), 2 open",
                               labels=["provider"])
    for name in gateway.router.routes:
        family.add_metric([name], BREAKER_VALUES[gateway.router.health.breaker(name)])
    yield family


routes = [Route("/healthz", healthz, methods=["GET"]),
          Route("/readyz", readyz, methods=["GET"]),
          Route("/metrics", metrics_endpoint, methods=["GET"])]
