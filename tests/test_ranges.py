"""Byte ranges and conditional requests, as RFC 9110 defines them (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seedgate.http.ranges import (
    ByteRange,
    Unsatisfiable,
    http_date,
    none_match,
    range_applies,
    requested_range,
)


@pytest.mark.parametrize(("header", "expected"), [
    ("bytes=0-99", ByteRange(0, 100)),
    ("bytes=100-", ByteRange(100, 900)),
    ("bytes=-100", ByteRange(900, 100)),
    ("bytes=-5000", ByteRange(0, 1000)),  # a suffix longer than the file: all of it
    ("bytes=990-5000", ByteRange(990, 10)),  # cut to the end
    ("bytes=999-999", ByteRange(999, 1)),
    ("Bytes = 5 - 9", ByteRange(5, 5)),
    (None, None),
    ("bytes=0-9,20-29", None),  # several ranges: the whole file
    ("items=0-9", None),
    ("bytes=9-5", None),  # last before first: not a valid range, ignored
    ("bytes=-", None),
    ("bytes=a-b", None),
    ("bytes=\u0662-\u0663", None),  # non-ASCII digits are not digits here
    ("bytes", None),
])
def test_ranges_of_a_thousand_bytes(header: str | None, expected: ByteRange | None) -> None:
    assert requested_range(header, 1000) == expected


@pytest.mark.parametrize(("header", "size"), [
    ("bytes=1000-", 1000), ("bytes=1000-2000", 1000), ("bytes=-0", 1000), ("bytes=0-", 0),
    ("bytes=-10", 0),
])
def test_ranges_outside_the_file_are_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        requested_range(header, size)


@given(size=st.integers(0, 10**12), first=st.integers(0, 10**12) | st.none(),
       last=st.integers(0, 10**12) | st.none())
def test_a_served_range_lies_inside_the_file(size: int, first: int | None,
                                             last: int | None) -> None:
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    valid = (first, last) != (None, None) and (first is None or last is None or first <= last)
    unsatisfiable = valid and ((first is not None and first >= size)
                               or (first is None and (last == 0 or size == 0)))
    if unsatisfiable:
        with pytest.raises(Unsatisfiable):
            requested_range(header, size)
        return
    found = requested_range(header, size)
    assert (found is not None) is valid
    if found is None:
        return
    assert 0 <= found.start < size and 1 <= found.length <= size - found.start
    end = found.start + found.length - 1
    assert found.content_range(size) == f"bytes {found.start}-{end}/{size}"
    if first is not None:
        assert found.start == first and end == min(size - 1, size if last is None else last)
    else:
        assert last is not None and end == size - 1 and found.length == min(last, size)


def test_conditional_headers() -> None:
    etag, date = '"abc-1"', http_date(1_700_000_000)
    assert date == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert none_match('"abc-1"', etag) and none_match('W/"abc-1", "x"', etag)
    assert none_match("*", etag) and not none_match('"abc-2"', etag)
    assert not none_match(None, etag)
    assert range_applies(None, etag, date) and range_applies('"abc-1"', etag, date)
    assert range_applies(date, etag, date)
    assert not range_applies('"abc-2"', etag, date)
    assert not range_applies('W/"abc-1"', etag, date)  # If-Range compares strongly
    assert not range_applies("Wed, 15 Nov 2023 00:00:00 GMT", etag, date)
