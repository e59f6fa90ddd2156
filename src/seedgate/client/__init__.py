"""A client of a seedgate gateway: `Client` (blocking) and `AsyncClient` (asyncio) over the
native API, and `verify_webhook` for the webhooks it sends. It needs httpx and httpx-sse
only, none of the server's dependencies.

    from seedgate.client import Client

    with Client("http://127.0.0.1:8000", api_key="sg_...") as client:
        video = client.generate("A lighthouse in a storm", seconds=5, ratio="16:9")
        client.download(video.id, "lighthouse.mp4")
"""

from seedgate.client.aio import AsyncClient
from seedgate.client.models import (
    ApiError,
    Page,
    SeedgateError,
    Video,
    VideoError,
    VideoFailed,
    WaitTimeout,
    WebhookVerificationError,
)
from seedgate.client.operations import VideoOptions
from seedgate.client.sync import Client
from seedgate.client.webhooks import verify_webhook

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "Page",
    "SeedgateError",
    "Video",
    "VideoError",
    "VideoFailed",
    "VideoOptions",
    "WaitTimeout",
    "WebhookVerificationError",
    "verify_webhook",
]
