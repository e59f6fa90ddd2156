"""Media on the local disk, under one directory: the embedded default."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncGenerator
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

from seedgate.media.storage import (
    CHUNK,
    NotStored,
    Storage,
    StorageUnavailable,
    StoredObject,
    key_parts,
)


class LocalStorage(Storage):
    """Files under `root`, written atomically (a temporary file, then a rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key_parts(key))

    async def put_file(self, key: str, source: Path) -> None:
        await asyncio.to_thread(self._put_file, self._path(key), source)

    async def put_bytes(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put_bytes, self._path(key), data)

    @staticmethod
    def _put_file(target: Path, source: Path) -> None:
        """A hard link when on the same file system, else a copy."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temporary(target)
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)

    @staticmethod
    def _put_bytes(target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temporary(target)
        tmp.write_bytes(data)
        os.replace(tmp, target)

    async def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            found = await asyncio.to_thread(path.stat)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not S_ISREG(found.st_mode):
            return None
        return StoredObject(found.st_size, found.st_mtime,
                            f'"{found.st_mtime_ns:x}-{found.st_size:x}"')

    async def read(self, key: str, start: int = 0,
                   length: int | None = None) -> AsyncGenerator[bytes, None]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(_open_at, path, start)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotStored(key) from None
        try:
            left = length
            while left is None or left > 0:
                chunk = await asyncio.to_thread(handle.read, CHUNK if left is None
                                                else min(CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def delete(self, *keys: str) -> None:
        paths = [self._path(key) for key in keys]
        await asyncio.to_thread(lambda: [path.unlink(missing_ok=True) for path in paths])

    async def remove_older_than(self, cutoff: float) -> int:
        return await asyncio.to_thread(self._remove_older_than, cutoff)

    def _remove_older_than(self, cutoff: float) -> int:
        removed = 0
        for path in self.root.rglob("*"):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # another process removed it first
                continue
        return removed

    async def check(self) -> None:
        """The directory exists and takes a new file."""
        try:
            await asyncio.to_thread(self._probe)
        except OSError as exc:
            raise StorageUnavailable(f"media directory {self.root} is not writable: "
                                     f"{exc.strerror or exc}") from exc

    def _probe(self) -> None:
        with tempfile.TemporaryFile(dir=self.root, prefix=".probe-"):
            pass

    async def close(self) -> None:
        """Nothing is held open between calls."""


def _open_at(path: Path, start: int) -> BinaryIO:
    handle = path.open("rb")
    handle.seek(start)
    return handle


def _temporary(target: Path) -> Path:
    """A unique name beside `target`: writers of the same key may race."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
