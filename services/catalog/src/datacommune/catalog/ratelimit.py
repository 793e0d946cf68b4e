"""A per-client rate limit for votes, kept in memory and keyed without personal data.

A vote names its voter with an opaque key the client chooses, so one client could vote many
times under many keys; a limit per network address caps that. The address is never stored:
only an HMAC of it with a key drawn at start-up (so the hashes cannot be reversed by trying
every address), in memory, for the length of the window. Each catalog replica counts on its
own: with N replicas a client gets up to N times the limit, which still stops a script.
"""

import hashlib
import hmac
import secrets
import time
from collections import deque

from datacommune.shared.problems import TooManyRequests

__all__ = ["RateLimit", "TooManyRequests"]


class RateLimit:
    """At most ``limit`` actions per ``window`` seconds per client."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._key = secrets.token_bytes(32)
        self._seen: dict[bytes, deque[float]] = {}

    def check(self, client: str) -> None:
        """Count one action of ``client``; a 429 problem (with Retry-After) past the limit."""
        now = time.monotonic()
        who = hmac.digest(self._key, client.encode(), hashlib.sha256)
        times = self._seen.setdefault(who, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            wait = int(times[0] + self.window - now) + 1
            problem = TooManyRequests(
                f"Trop de demandes depuis cette adresse : réessayez dans {wait} s.",
                f"Too many requests from this address: retry in {wait} s.",
            )
            problem.headers["Retry-After"] = str(wait)
            raise problem
        times.append(now)
        if len(self._seen) > 100_000:  # forget idle clients rather than grow without end
            self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - self.window}
