"""Bearer tokens for tests and the demo (HS256 with the shared secret)."""

from __future__ import annotations

import time
from collections.abc import Iterable

import jwt

TEST_JWT_SECRET = "test-secret-not-for-production-0123456789"  # noqa: S105


def make_token(
    *,
    tenant: str,
    scopes: Iterable[str],
    subject: str = "user-1",
    secret: str = TEST_JWT_SECRET,
    audience: str = "rcm",
    ttl_seconds: int = 3600,
    facility: str | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "tenant": tenant,
        "scope": " ".join(scopes),
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if facility:
        claims["facility"] = facility
    return jwt.encode(claims, secret, algorithm="HS256")
