"""The vote rate limit: per client, over a sliding window, with a Retry-After."""

import pytest

from datacommune.catalog.ratelimit import RateLimit, TooManyRequests


def test_a_client_past_the_limit_is_asked_to_wait() -> None:
    limit = RateLimit(3, 3600)
    for _ in range(3):
        limit.check("203.0.113.7")
    with pytest.raises(TooManyRequests) as caught:
        limit.check("203.0.113.7")
    assert caught.value.status == 429
    assert 3500 < int(caught.value.headers["Retry-After"]) <= 3601
    limit.check("198.51.100.1")  # another client is not affected


def test_the_window_slides() -> None:
    limit = RateLimit(2, 0.05)
    limit.check("a")
    limit.check("a")
    import time

    time.sleep(0.06)
    limit.check("a")
