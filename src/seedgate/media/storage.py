"""Where finished media lives. Local disk today; keys are relative object names."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path, PurePosixPath


class InvalidKey(ValueError):
    pass


class LocalStorage:
    """Files under one root directory, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or ".." in parts:
            raise InvalidKey(key)
        return self.root.joinpath(*parts)

    def put_file(self, key: str, source: Path) -> None:
        """Store a copy of `source` (a hard link when on the same file system)."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")  # writers may race
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def exists(self, key: str) -> bool:
        try:
            return self.path(key).is_file()
        except InvalidKey:
            return False

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def remove_older_than(self, cutoff: float) -> int:
        """Delete files last modified before `cutoff` (Unix seconds); returns how many."""
        removed = 0
        for path in self.root.rglob("*"):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # another process removed it first
                continue
        return removed
