"""Images uploaded with a create (a first or last frame): stored under an unguessable key and
handed to the provider as a signed link to the gateway's own storage, which the input
fetcher reads back from storage."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from seedgate.media.images import load_image
from seedgate.media.signing import UrlSigner

IMAGE_SUFFIXES = ((b"\x89PNG", ".png"), (b"\xff\xd8", ".jpg"), (b"RIFF", ".webp"))


@dataclass(frozen=True, slots=True)
class Upload:
    media_key: str  # where to store the bytes
    url: str  # the signed link to them
    width: int
    height: int
    sha256: str


def stage_image(signer: UrlSigner, key_id: int, image: bytes, base: str, ttl_s: int) -> Upload:
    """Check an uploaded image (raises `UnsupportedImage`) and say where it goes.

    The storage key is a keyed digest of the API key and the bytes: unguessable, and the
    same for a retried upload, so retries leave no copies behind.
    """
    width, height = load_image(image).size
    digest = hashlib.sha256(image).hexdigest()
    suffix = next((s for magic, s in IMAGE_SUFFIXES if image.startswith(magic)), "")
    media_key = f"inputs/{signer.signature(f'input/{key_id}/{digest}', 0)}{suffix}"
    url = signer.url(base, media_key, int(time.time()) + ttl_s)
    return Upload(media_key, url, width, height, digest)
