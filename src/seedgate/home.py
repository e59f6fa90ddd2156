"""The data directory (SQLite database, media, the gateway secret, `seedgate.toml`) and how
every command finds it: `SEEDGATE_HOME` when set; otherwise the nearest `var/` holding
seedgate's files in the working directory or one above it, as git finds its repository,
so commands run anywhere inside a checkout reach the data `make serve` made; otherwise
`./var`. Only `serve` and `--init` create one: a command run from the wrong place says so
instead of working on a new, empty directory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV = "SEEDGATE_HOME"
DEFAULT_NAME = "var"
# Files only seedgate puts there: a `var/` of another project is not mistaken for ours.
MARKERS = ("seedgate.db", "secret.key", "seedgate.toml")


class NoDataDirectory(Exception):
    """The data directory does not exist and was not to be created."""


@dataclass(frozen=True, slots=True)
class DataDirectory:
    path: Path
    origin: str  # why this one, in words

    def ensure(self, *, create: bool) -> Path:
        """The directory, made first if `create`; otherwise it must exist already."""
        if create:
            self.path.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_dir():
            raise NoDataDirectory(
                f"no data directory at {self.path} ({self.origin}). Run the command where "
                f"`seedgate serve` runs (or below it), set {ENV} to the gateway's data "
                "directory (`seedgate serve` prints it), or pass --init to create a new, "
                "empty one here.")
        return self.path


def locate(environ: Mapping[str, str] = os.environ, cwd: Path | None = None) -> DataDirectory:
    if environ.get(ENV):
        return DataDirectory(Path(environ[ENV]).resolve(), f"from {ENV}")
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_NAME
        if any((candidate / marker).exists() for marker in MARKERS):
            where = "here" if folder == here else f"found above {here}"
            return DataDirectory(candidate, f"{where}; set {ENV} to choose another")
    return DataDirectory(here / DEFAULT_NAME, f"the default, ./{DEFAULT_NAME}; none was found "
                         f"here or above, and {ENV} is not set")
