"""Bearer JWT authentication yielding the caller's tenant and scopes.

Tokens are verified with a shared HS256 key or a JWKS endpoint (by configuration). The
tenant comes from the ``tenant`` claim (``tid`` accepted), scopes from the OAuth 2
``scope`` claim (space separated) or a ``scopes`` list."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from common.http.problems import Problem

_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant_id: str
    scopes: frozenset[str]
    facility_id: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes


class TokenVerifier:
    def __init__(
        self,
        *,
        shared_secret: str | None,
        jwks_url: str | None,
        audience: str,
        issuer: str | None,
    ) -> None:
        if not shared_secret and not jwks_url:
            raise ValueError("configure JWT_SECRET, JWT_SECRET_FILE or JWT_JWKS_URL")
        self._secret = shared_secret
        self._jwks = jwt.PyJWKClient(jwks_url) if jwks_url else None
        self._audience = audience
        self._issuer = issuer

    @property
    def uses_jwks(self) -> bool:
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        try:
            if self._jwks is not None:
                try:
                    key: Any = self._jwks.get_signing_key_from_jwt(token).key
                except jwt.PyJWKClientConnectionError as exc:
                    raise Problem(
                        503, "AUTH_KEYS_UNAVAILABLE", "The token signing keys cannot be fetched"
                    ) from exc
                algorithms = ["RS256", "ES256"]
            else:
                key = self._secret
                algorithms = ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Problem(401, "TOKEN_EXPIRED", "The bearer token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Problem(
                401, "INVALID_TOKEN", "The bearer token is not valid", type(exc).__name__
            ) from exc
        tenant = claims.get("tenant") or claims.get("tid")
        if not isinstance(tenant, str) or not tenant:
            raise Problem(401, "INVALID_TOKEN", "The bearer token names no tenant")
        raw_scopes = claims.get("scope", claims.get("scopes", []))
        scopes = raw_scopes.split() if isinstance(raw_scopes, str) else list(raw_scopes)
        facility = claims.get("facility")
        return Principal(
            subject=str(claims["sub"]),
            tenant_id=tenant,
            scopes=frozenset(str(s) for s in scopes),
            facility_id=str(facility) if facility else None,
        )


async def current_principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, "UNAUTHENTICATED", "A bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    if verifier.uses_jwks:
        # Fetching the key set is blocking network I/O: keep it off the event loop.
        return await asyncio.to_thread(verifier.verify, credentials.credentials)
    return verifier.verify(credentials.credentials)


def require_scopes(
    *scopes: str,
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency: the caller must hold every scope named."""

    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        missing = [s for s in scopes if not principal.has(s)]
        if missing:
            raise Problem(
                403,
                "INSUFFICIENT_SCOPE",
                "The token lacks a required scope",
                f"missing: {' '.join(missing)}",
                required_scopes=list(scopes),
            )
        return principal

    dependency.required_scopes = scopes  # type: ignore[attr-defined]
    return dependency
