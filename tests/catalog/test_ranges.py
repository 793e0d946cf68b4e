"""Range and If-None-Match as RFC 9110 reads them, on a file of 1,000 bytes."""

import pytest

from datacommune.catalog.core import ranges

ETAG = '"abc"'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=900-", (900, 999)),
        ("bytes=900-5000", (900, 999)),  # clipped to the end
        ("bytes=-100", (900, 999)),  # the last 100 bytes
        ("bytes=-5000", (0, 999)),
        ("bytes=999-999", (999, 999)),
    ],
)
def test_one_range_is_a_part(header: str, expected: tuple[int, int]) -> None:
    part = ranges.part(header, None, ETAG, 1000)
    assert part is not None
    assert (part.start, part.end) == expected
    assert part.content_range == f"bytes {expected[0]}-{expected[1]}/1000"
    assert part.length == expected[1] - expected[0] + 1


@pytest.mark.parametrize(
    "header",
    [None, "", "bytes=0-1,5-6", "items=0-5", "bytes=5-2", "bytes=-", "bytes=a-b", "0-5"],
)
def test_what_the_server_may_ignore_gives_the_whole_file(header: str | None) -> None:
    assert ranges.part(header, None, ETAG, 1000) is None


def test_if_range_on_another_version_gives_the_whole_file() -> None:
    assert ranges.part("bytes=0-9", '"other"', ETAG, 1000) is None
    assert ranges.part("bytes=0-9", ETAG, ETAG, 1000) is not None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_a_range_past_the_end_is_416_with_the_size(header: str) -> None:
    with pytest.raises(ranges.RangeNotSatisfiable) as raised:
        ranges.part(header, None, ETAG, 1000)
    assert raised.value.headers["Content-Range"] == "bytes */1000"


def test_if_none_match() -> None:
    assert ranges.not_modified(ETAG, ETAG)
    assert ranges.not_modified(f'"x", W/{ETAG}', ETAG)
    assert ranges.not_modified("*", ETAG)
    assert not ranges.not_modified('"x"', ETAG)
    assert not ranges.not_modified(None, ETAG)
