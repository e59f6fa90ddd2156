"""The development key: made on a fresh install, so there is something to call the gateway
with, and shown again whenever `seedgate serve` starts in a terminal, so a restart does not
lose it.

The database keeps only its digest, as for every key; the secret itself is kept sealed
(`SecretBox`, under a key derived from the gateway secret) in the data directory, readable
by its owner only. It is printed, never logged: on first start wherever the output goes (it
exists nowhere else yet), on later starts only to a terminal, so output collected by a
service manager holds it at most once.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TextIO

from seedgate.config import Settings
from seedgate.service.accounts import DEV_KEY_NAME, Accounts, UnknownKey
from seedgate.webhooks.secretbox import SecretBox, Undecryptable

FILE_NAME = "dev-key.sealed"
INFO = b"seedgate development key"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
EXAMPLE_PROMPT = "Drone shot over neon night market"


class SealedDevKey:
    """The development key's secret, sealed in a file of the data directory."""

    def __init__(self, home: Path, gateway_secret: bytes) -> None:
        self.path = home / FILE_NAME
        self._box = SecretBox(gateway_secret, info=INFO)

    def save(self, secret: str) -> None:
        partial = self.path.with_name(f"{FILE_NAME}.{os.getpid()}")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self._box.seal(secret))
        partial.replace(self.path)

    def load(self) -> str | None:
        """The secret; None when none was saved or the gateway secret has changed since."""
        try:
            return self._box.open(self.path.read_text())
        except (FileNotFoundError, Undecryptable):
            return None


def announce(settings: Settings, accounts: Accounts, *, interactive: bool,
             out: TextIO = sys.stdout) -> None:
    """Make the development key on a fresh install and show it; show it again on later
    starts when `interactive` (the output is a terminal) and the key is still active."""
    sealed = SealedDevKey(settings.home, settings.signing_secret())
    secret = accounts.ensure_dev_key(settings.dev_key_credits)
    if secret is not None:
        sealed.save(secret)
        heading = (f"Created a development API key with {settings.dev_key_credits} credits "
                   "(stored hashed; shown again when `seedgate serve` starts in a terminal):")
    elif interactive and (secret := sealed.load()) is not None and _active(accounts, secret):
        heading = ("The development API key (`seedgate keys revoke "
                   f"{DEV_KEY_NAME}` revokes it):")
    else:
        return
    print(f"\n{heading}\n\n  {secret}\n\n{_examples(settings, secret)}\n", file=out,
          flush=True)


def _active(accounts: Accounts, secret: str) -> bool:
    try:
        return accounts.find(secret).active
    except UnknownKey:  # the database was replaced
        return False


def _examples(settings: Settings, key: str) -> str:
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    exports = f"  export SEEDGATE_API_KEY={key}\n"
    if base != DEFAULT_BASE_URL:
        exports += f"  export SEEDGATE_BASE_URL={base}\n"
    body = json.dumps({"prompt": EXAMPLE_PROMPT, "aspect_ratio": "16:9", "duration": "5",
                       "sound": False})
    return (
        f"Generate a video with it:\n\n{exports}"
        f"  {_command()} generate \"{EXAMPLE_PROMPT}\" -o market.mp4\n\n"
        "or call the seedance1-5pro API:\n\n"
        f"  curl -s {base}/api/generate \\\n"
        f"    -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n"
        f"    -d '{body}'\n"
        f"  curl -s '{base}/api/status?task_id=TASK_ID' -H 'Authorization: Bearer {key}'"
    )


def _command() -> str:
    """`seedgate` as this process was started (`.venv/bin/seedgate` under `make serve`)."""
    started = sys.argv[0] if sys.argv else ""
    return started if Path(started).name == "seedgate" else "seedgate"
