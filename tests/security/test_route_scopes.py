"""SPEC 10: every HTTP route of every service requires a valid bearer token, and each
route's scope is enforced. Table-driven over each service's OpenAPI document and routers as
``bootstrap.build_runtime`` wires them: the scopes a route needs are read from its own
dependencies (``require_scopes``, the claims service's ``require_any_scope``), never from a
list kept here, so a new route without a scope fails ``test_every_route_declares_a_scope``.

Only the probes and documents are open: /healthz, /readyz, /metrics, /docs, /redoc,
/openapi.json."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from common.testing.tokens import TEST_JWT_SECRET, make_token

from .conftest import SERVICES, BuiltService

TENANT = "demo-bh"
OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)
# SPEC 10's scopes from the seeds; the routes may name more (every one is in the table).
SEED_SCOPES = frozenset(
    {
        "clinical.group-session.read",
        "clinical.attendance.write",
        "clinical.attendance.write.force",
        "clinical.encounter.read",
        "clinical.encounter.write",
        "billing.claim.read",
        "billing.claim.write",
        "claims.read",
        "claims.update",
    }
)


@dataclass(frozen=True)
class Operation:
    """One method on one path, and the scopes its dependencies demand: every scope of
    ``all_of`` and, when ``any_of`` is not empty, at least one of those."""

    service: str
    method: str
    path: str
    all_of: frozenset[str]
    any_of: frozenset[str]

    @property
    def name(self) -> str:
        return f"{self.service} {self.method} {self.path}"

    @property
    def url(self) -> str:
        return re.sub(r"\{[^}]+\}", "sec-probe-1", self.path)

    @property
    def declares_a_scope(self) -> bool:
        return bool(self.all_of or self.any_of)

    def sufficient_scope_sets(self) -> list[frozenset[str]]:
        """The smallest tokens that must get through: all of ``all_of`` plus each single
        alternative of ``any_of``."""
        if not self.any_of:
            return [self.all_of]
        return [self.all_of | {alternative} for alternative in sorted(self.any_of)]

    def insufficient_scope_sets(self, every_scope: frozenset[str]) -> list[frozenset[str]]:
        """Tokens holding every scope there is except what this route needs."""
        refused = [every_scope - {needed} for needed in sorted(self.all_of)]
        if self.any_of:
            refused.append(every_scope - self.any_of)
        return refused


def _declared_scopes(call: Any) -> tuple[frozenset[str], frozenset[str]]:
    """(all_of, any_of) a dependency demands: ``require_scopes`` marks its dependency with
    ``required_scopes``, claims' ``require_any_scope`` with ``required_any_scopes``."""
    marked = getattr(call, "required_scopes", None)
    if marked is not None:
        return frozenset(marked), frozenset()
    return frozenset(), frozenset(getattr(call, "required_any_scopes", None) or ())


def _walk(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _walk(sub)


def operations(service: BuiltService) -> list[Operation]:
    found: list[Operation] = []
    for router in service.runtime.routers:
        for route in router.routes:
            assert isinstance(route, APIRoute), f"{service.name}: not an API route: {route}"
            all_of: set[str] = set()
            any_of: set[str] = set()
            for call in _walk(route.dependant):
                needs_all, needs_one = _declared_scopes(call)
                all_of |= needs_all
                any_of |= needs_one
            for method in sorted(route.methods):
                found.append(
                    Operation(
                        service.name, method, route.path, frozenset(all_of), frozenset(any_of)
                    )
                )
    return found


def openapi_operations(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in {"get", "put", "post", "patch", "delete", "head", "options"}
    }


@pytest.fixture(scope="module")
def every_operation(built_services: dict[str, BuiltService]) -> list[Operation]:
    return [op for name in SERVICES for op in operations(built_services[name])]


@pytest.fixture(scope="module")
def every_scope(every_operation: list[Operation]) -> frozenset[str]:
    declared = {s for op in every_operation for s in op.all_of | op.any_of}
    return SEED_SCOPES | declared


async def call(
    app: FastAPI, op: Operation, headers: dict[str, str] | None = None
) -> httpx.Response:
    # ASGITransport does not run the lifespan: no broker, no background work.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return await client.request(op.method, op.url, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _signed(claims: dict[str, Any], secret: str = TEST_JWT_SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "attacker",
        "tenant": TENANT,
        "scope": " ".join(sorted(SEED_SCOPES)),
        "aud": "rcm",
        "iat": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _unsigned(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]


# Every way to present no valid token. Each carries every seed scope, so only the token's
# validity can be what refuses it.
BAD_CREDENTIALS: dict[str, Callable[[], dict[str, str]]] = {
    "no Authorization header": dict,
    "not a JWT": lambda: bearer("not-a-jwt"),
    "Basic scheme": lambda: {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
    "signed with another key": lambda: bearer(
        _signed(_claims(), secret="another-secret-of-sufficient-length-0123")
    ),
    "expired": lambda: bearer(_signed(_claims(exp=int(time.time()) - 120))),
    "wrong audience": lambda: bearer(_signed(_claims(aud="another-api"))),
    "no audience": lambda: bearer(_signed(_claims(aud=None))),
    "no subject": lambda: bearer(_signed(_claims(sub=None))),
    "no expiry": lambda: bearer(_signed(_claims(exp=None))),
    "no tenant": lambda: bearer(_signed(_claims(tenant=None))),
    "unsigned (alg none)": lambda: bearer(_unsigned(_claims())),
}


async def test_every_route_is_in_the_openapi_document_and_only_the_probes_are_outside_it(
    built_services: dict[str, BuiltService],
) -> None:
    problems: list[str] = []
    for name in SERVICES:
        service = built_services[name]
        documented = openapi_operations(service.app)
        routed = {(op.method, op.path) for op in operations(service)}
        problems += [f"{name}: routed, not documented: {o}" for o in sorted(routed - documented)]
        problems += [f"{name}: documented, not routed: {o}" for o in sorted(documented - routed)]
        for route in service.app.routes:
            path = getattr(route, "path", None)
            if path is not None:
                if path not in OPEN_PATHS:
                    problems.append(f"{name}: a route outside the service's routers: {path}")
            elif getattr(route, "original_router", None) not in service.runtime.routers:
                problems.append(f"{name}: something mounted beside the routers: {route!r}")
    assert problems == []


async def test_every_route_declares_a_scope(every_operation: list[Operation]) -> None:
    undeclared = [op.name for op in every_operation if not op.declares_a_scope]
    assert len(every_operation) > 50  # the table is really read
    assert undeclared == [], "routes whose dependencies name no scope"


async def test_every_route_answers_401_without_a_valid_token(
    built_services: dict[str, BuiltService], every_operation: list[Operation]
) -> None:
    wrong: list[str] = []
    for op in every_operation:
        app = built_services[op.service].app
        for case, headers in BAD_CREDENTIALS.items():
            response = await call(app, op, headers())
            if response.status_code != 401 or "WWW-Authenticate" not in response.headers:
                wrong.append(f"{op.name} [{case}]: {response.status_code} {response.text[:120]}")
    print(f"\n401 checks: {len(every_operation)} routes x {len(BAD_CREDENTIALS)} bad tokens")
    assert wrong == []


async def test_every_route_answers_403_to_a_token_with_every_scope_but_its_own(
    built_services: dict[str, BuiltService],
    every_operation: list[Operation],
    every_scope: frozenset[str],
) -> None:
    wrong: list[str] = []
    checks = 0
    for op in every_operation:
        app = built_services[op.service].app
        for scopes in op.insufficient_scope_sets(every_scope):
            checks += 1
            token = make_token(tenant=TENANT, scopes=sorted(scopes), subject="attacker")
            response = await call(app, op, bearer(token))
            if response.status_code != 403 or response.json().get("code") != "INSUFFICIENT_SCOPE":
                missing = sorted(every_scope - scopes)
                wrong.append(f"{op.name} without {missing}: {response.status_code}")
    print(f"\n403 checks: {checks} over {len(every_operation)} routes, {len(every_scope)} scopes")
    assert wrong == []


async def test_every_route_lets_a_token_with_just_its_scope_through(
    built_services: dict[str, BuiltService], every_operation: list[Operation]
) -> None:
    """The declared scope is enough: no route demands a scope it does not declare (the
    request then fails on its own terms, 404 or 422, on an empty schema)."""
    wrong: list[str] = []
    for op in every_operation:
        app = built_services[op.service].app
        for scopes in op.sufficient_scope_sets():
            token = make_token(tenant=TENANT, scopes=sorted(scopes), subject="auditor")
            response = await call(app, op, bearer(token))
            if response.status_code in (401, 403) or response.status_code >= 500:
                wrong.append(f"{op.name} with {sorted(scopes)}: {response.status_code}")
    assert wrong == []


async def test_the_probes_and_documents_are_open(
    built_services: dict[str, BuiltService],
) -> None:
    for name in SERVICES:
        app = built_services[name].app
        for path in ("/healthz", "/metrics", "/openapi.json", "/docs"):
            response = await call(app, Operation(name, "GET", path, frozenset(), frozenset()))
            assert response.status_code == 200, (name, path)


async def test_a_forced_attendance_change_needs_the_force_scope_too(
    built_services: dict[str, BuiltService], every_scope: frozenset[str]
) -> None:
    """The one scope a body asks for (``force``), beside what the route declares."""
    app = built_services["attendance"].app
    token = make_token(
        tenant=TENANT, scopes=sorted(every_scope - {"clinical.attendance.write.force"})
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        for role, subject in (("participants", "m-1"), ("supervisors", "p-1")):
            response = await client.put(
                f"/v1/group-sessions/gs-1/{role}/{subject}/status",
                json={"status": "ABSENT", "force": True, "reason": "late correction"},
                headers=bearer(token),
            )
            assert response.status_code == 403, response.text
            assert response.json()["code"] == "INSUFFICIENT_SCOPE"
