"""`python -m seedgate.media.render_job JOB_DIR`: render one simulator job in its own process.

The job directory holds `render.json` (a RenderSpec without images) and the input images
as `image0`, `image1`; the clip goes to `video.<container>`. A render runs in a child
process so that it uses another core and can be killed; the child asks the kernel to kill
it when its parent dies, so a crashed gateway leaves no renderer behind.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

import orjson

from seedgate.media.render import RenderSpec, render_clip

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the job still finishes on its own
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def main(job: Path) -> None:
    die_with_parent()
    meta = orjson.loads((job / "render.json").read_bytes())
    images = tuple((job / name).read_bytes() for name in meta.pop("image_files"))
    last_frame = job / "last_frame.png" if meta.pop("last_frame") else None
    spec = RenderSpec(**meta, images=images)
    render_clip(spec, job / f"video.{spec.container}", last_frame_path=last_frame)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
