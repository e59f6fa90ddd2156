"""Fetching a task's media inputs: base64 data URLs, the gateway's own signed media links
(uploads, read from storage), and client URLs through the outbound guard."""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import replace
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from seedgate.media.images import MAX_IMAGE_BYTES
from seedgate.media.signing import UrlSigner
from seedgate.media.storage import InvalidKey, NotStored, Storage, StorageUnavailable
from seedgate.net.fetch import GuardedHttp, Limits, TooLarge
from seedgate.net.guard import Refused

DOWNLOAD_TIMEOUT_S = 20.0
MAX_REDIRECTS = 3
MEDIA_PATH = "/media/"
MAX_VIDEO_BYTES = 200 * 1024 * 1024  # Seedance's limit for a reference video


class InputError(Exception):
    """An input that cannot be used; the message is safe to show the client."""


class InputFetcher:
    def __init__(self, http: GuardedHttp, signer: UrlSigner, storage: Storage,
                 *, max_bytes: int = MAX_IMAGE_BYTES) -> None:
        self._http = http
        self._signer = signer
        self._storage = storage
        self._limits = Limits(DOWNLOAD_TIMEOUT_S, max_bytes, MAX_REDIRECTS)

    async def fetch(self, url: str, *, max_bytes: int | None = None) -> bytes:
        """The bytes at `url`, at most `max_bytes` (default: the image limit)."""
        limits = self._limits if max_bytes is None else replace(self._limits, max_bytes=max_bytes)
        if url.startswith("data:"):
            return data_url_bytes(url, limits.max_bytes)
        own = self.own_key(url)
        if own is not None:
            return await self._own_media(own)
        try:
            fetched = await self._http.request("GET", url, limits)
        except Refused as exc:
            raise InputError(f"Input URL refused: {exc}") from exc
        except TooLarge:
            raise InputError(f"Input at {url[:200]} is larger than "
                             f"{limits.max_bytes // 1024 // 1024} MB.") from None
        except TimeoutError:
            raise InputError(f"Input URL {url[:200]} did not answer within "
                             f"{DOWNLOAD_TIMEOUT_S:.0f} s.") from None
        except (httpx.HTTPError, OSError) as exc:
            raise InputError(f"Input URL {url[:200]} could not be downloaded: {exc}") from exc
        if fetched.status != 200:
            raise InputError(f"Input URL {url[:200]} answered HTTP {fetched.status}.")
        return fetched.body

    def own_key(self, url: str) -> str | None:
        """The storage key behind a media link this gateway signed (an uploaded input);
        such inputs are read from storage: the gateway does not call itself, whatever
        address it is served on."""
        parts = urlsplit(url)
        if not parts.path.startswith(MEDIA_PATH):
            return None
        query = parse_qs(parts.query)
        key = unquote(parts.path[len(MEDIA_PATH):])
        try:
            expires = int(query["exp"][0])
            signature = query["sig"][0]
        except (KeyError, ValueError):
            return None
        return key if self._signer.verify(key, expires, signature, time.time()) else None

    async def _own_media(self, key: str) -> bytes:
        try:
            return await self._storage.read_bytes(key)
        except (InvalidKey, NotStored) as exc:
            raise InputError("An uploaded input is no longer stored.") from exc
        except StorageUnavailable as exc:
            raise InputError("An uploaded input could not be read from the gateway's "
                             "media storage; try again later.") from exc


def data_url_bytes(url: str, max_bytes: int) -> bytes:
    """The bytes of a `data:<type>;base64,<data>` URL."""
    header, _, data = url.partition(",")
    if not header.endswith(";base64"):
        raise InputError("Data URLs must be base64-encoded (`data:image/png;base64,...`).")
    if len(data) > max_bytes * 4 // 3 + 4:
        raise InputError(f"The data URL holds more than {max_bytes // 1024 // 1024} MB.")
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error as exc:
        raise InputError(f"The data URL is not valid base64: {exc}") from exc
