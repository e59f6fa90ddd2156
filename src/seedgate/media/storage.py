"""Where media lives: one interface, two backends (local disk, S3-compatible object
storage), chosen once when the gateway is wired. Keys are relative, `/`-separated object
names (`videos/task_….mp4`); nothing outside this package knows which backend holds them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

CHUNK = 256 << 10  # bytes per read when streaming an object out

MEDIA_TYPES = {
    ".mp4": "video/mp4", ".mov": "video/quicktime", ".png": "image/png", ".jpg": "image/jpeg",
    ".webp": "image/webp",
}


def media_type(key: str) -> str:
    return MEDIA_TYPES.get(PurePosixPath(key).suffix, "application/octet-stream")


class InvalidKey(ValueError):
    """A key that is empty, absolute or climbs out of the storage (`..`)."""


class NotStored(LookupError):
    """No object under this key (never written, deleted, or expired)."""


class StorageUnavailable(Exception):
    """The storage cannot be reached or refuses the gateway; the message says which and
    why, without credentials."""


def key_parts(key: str) -> tuple[str, ...]:
    parts = PurePosixPath(key).parts
    if not parts or key.startswith("/") or ".." in parts:
        raise InvalidKey(key)
    return parts


@dataclass(frozen=True, slots=True)
class StoredObject:
    size: int
    modified: float  # Unix seconds
    etag: str  # a strong entity tag, quoted (`"…"`)


class Storage(ABC):
    """Media objects under keys. Writes replace whole objects atomically: a reader sees
    the old object or the new one, never a part."""

    location: str  # where the media is, for operators and logs (never credentials)

    @abstractmethod
    async def put_file(self, key: str, source: Path) -> None:
        """Store a copy of the file `source`."""

    @abstractmethod
    async def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    async def stat(self, key: str) -> StoredObject | None:
        """The object's size, age and tag; None when there is none."""

    @abstractmethod
    def read(self, key: str, start: int = 0,
             length: int | None = None) -> AsyncGenerator[bytes, None]:
        """The object's bytes from `start`, `length` of them (all by default), in chunks.
        Nothing is opened until the first chunk is asked for; raises NotStored then."""

    @abstractmethod
    async def delete(self, *keys: str) -> None:
        """Remove objects; keys that hold none are ignored."""

    @abstractmethod
    async def remove_older_than(self, cutoff: float) -> int:
        """Delete every object last written before `cutoff` (Unix seconds); how many."""

    @abstractmethod
    async def check(self) -> None:
        """Raise StorageUnavailable unless the storage can be used now; cheap enough for
        a readiness probe."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections and threads."""

    async def exists(self, key: str) -> bool:
        try:
            return await self.stat(key) is not None
        except InvalidKey:
            return False

    async def read_bytes(self, key: str) -> bytes:
        """A whole (small) object, such as an uploaded input image."""
        return b"".join([chunk async for chunk in self.read(key)])
