"""Byte ranges and conditional requests for downloads (RFC 9110 sections 13 and 14).

One range is served per request: a `Range` with several ranges, another unit or a
malformed value is ignored and the whole object sent, as RFC 9110 allows (S3 does the
same); video players and download managers ask for one range at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import formatdate

RANGE = re.compile(r"\s*(\d*)\s*-\s*(\d*)\s*", re.ASCII)


class Unsatisfiable(ValueError):
    """The range starts past the end of the object (answered with 416)."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    length: int

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.start + self.length - 1}/{size}"


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """The one range `header` asks of a `size`-byte object, cut to the object; None: send
    it whole. Raises Unsatisfiable for a range that holds none of its bytes."""
    if header is None:
        return None
    unit, _, spec = header.partition("=")
    found = RANGE.fullmatch(spec)
    if unit.strip().lower() != "bytes" or found is None:
        return None
    first, last = found.groups()
    if not first:  # a suffix: the last N bytes
        if not last:
            return None
        wanted = int(last)
        if wanted == 0 or size == 0:
            raise Unsatisfiable(header)
        return ByteRange(max(0, size - wanted), min(wanted, size))
    start = int(first)
    if last and int(last) < start:
        return None  # not a valid range: ignored
    if start >= size:
        raise Unsatisfiable(header)
    end = min(int(last), size - 1) if last else size - 1
    return ByteRange(start, end - start + 1)


def http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


def none_match(header: str | None, etag: str) -> bool:
    """Whether `If-None-Match` names the current entity tag (weak comparison)."""
    if header is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def range_applies(if_range: str | None, etag: str, last_modified: str) -> bool:
    """`If-Range`: a range is served only while the object is the one the client has
    part of (the same strong entity tag, or the same modification date); else the whole
    object is sent."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith("W/"):
        return False
    return value == etag if value.startswith('"') else value == last_modified
