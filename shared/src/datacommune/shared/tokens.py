"""Organization tokens: made by catalog, checked by every service that takes uploads or edits.

Tokens carry 256 random bits, so a plain SHA-256 is enough to store and to compare them; a slow
password hash would only slow every request down.
"""

import hashlib
import hmac
import secrets

PREFIX = "dc_"


def new_token() -> str:
    """A fresh bearer token, shown once to its organization."""
    return PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The form in which a token is stored and sent over the bus."""
    return hashlib.sha256(token.encode()).hexdigest()


def matches(token: str, token_hash: str) -> bool:
    """Compare in constant time."""
    return hmac.compare_digest(hash_token(token), token_hash)
