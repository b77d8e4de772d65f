"""Sign-in without minting: the user pastes the access token the identity provider gave
them; it is verified with the services' own settings (:class:`common.http.TokenVerifier`)
and kept in an HttpOnly, SameSite=Strict cookie. Scopes only hide buttons here: every API
call carries the token and the services still enforce them.

POST forms carry a CSRF token bound to the session (an HMAC of the session token); the
sign-in form, before there is a session, a double-submit token (cookie = field)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from common.http import Principal, Problem, TokenVerifier

SESSION_COOKIE = "console_session"
SIGNIN_COOKIE = "console_signin"
CSRF_FIELD = "csrf_token"

# Scopes the console reads to decide which controls to show (the APIs enforce them).
GROUP_READ = "clinical.group-session.read"
ATTENDANCE_WRITE = "clinical.attendance.write"
ATTENDANCE_FORCE = "clinical.attendance.write.force"
ENCOUNTER_READ = "clinical.encounter.read"
ENCOUNTER_WRITE = "clinical.encounter.write"
CLAIM_READ = "billing.claim.read"
CLAIM_WRITE = "billing.claim.write"
CLAIMS_READ_ALIASES = (CLAIM_READ, "claims.read")
CLAIMS_WRITE_ALIASES = (CLAIM_WRITE, "claims.update")


@dataclass(frozen=True)
class Session:
    """The signed-in user: the raw token (forwarded as Bearer) and what it says."""

    token: str
    principal: Principal

    def can(self, *any_of: str) -> bool:
        return any(self.principal.has(scope) for scope in any_of)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities.of(self.principal)


@dataclass(frozen=True)
class Capabilities:
    """Which controls to render for a principal."""

    read_sessions: bool
    mark_attendance: bool
    force_attendance: bool
    read_stays: bool
    edit_stays: bool
    read_billing: bool
    write_billing: bool
    edit_institutional: bool

    @classmethod
    def of(cls, principal: Principal) -> Capabilities:
        def has(*scopes: str) -> bool:
            return any(principal.has(s) for s in scopes)

        return cls(
            read_sessions=has(GROUP_READ),
            mark_attendance=has(ATTENDANCE_WRITE),
            force_attendance=has(ATTENDANCE_WRITE) and has(ATTENDANCE_FORCE),
            read_stays=has(ENCOUNTER_READ),
            edit_stays=has(ENCOUNTER_WRITE),
            read_billing=has(*CLAIMS_READ_ALIASES),
            write_billing=has(*CLAIMS_WRITE_ALIASES),
            edit_institutional=has(*CLAIMS_WRITE_ALIASES, ENCOUNTER_WRITE),
        )


class SignInRefused(Exception):
    """The token given at sign-in is not one the services would accept."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


def verify_session_token(verifier: TokenVerifier, token: str) -> Principal:
    """The principal of a token, or :class:`SignInRefused` with the verifier's code."""
    token = token.strip()
    if not token or len(token) > 8192:
        raise SignInRefused("INVALID_TOKEN", "Paste the whole access token")
    try:
        return verifier.verify(token)
    except Problem as exc:
        raise SignInRefused(exc.code, exc.title) from exc


class CsrfGuard:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def token_for(self, session_token: str) -> str:
        """The CSRF token of a session: only this console can compute it."""
        return hmac.new(self._key, session_token.encode(), hashlib.sha256).hexdigest()

    def valid(self, session_token: str, submitted: str | None) -> bool:
        if not submitted:
            return False
        return hmac.compare_digest(self.token_for(session_token), submitted)

    @staticmethod
    def new_signin_token() -> str:
        return secrets.token_urlsafe(24)

    @staticmethod
    def signin_valid(cookie: str | None, submitted: str | None) -> bool:
        if not cookie or not submitted:
            return False
        return hmac.compare_digest(cookie, submitted)
