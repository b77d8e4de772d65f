"""RFC 9457 problem details with stable codes. Domain errors carry a code; this module
maps them to HTTP in one place."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.errors import DomainError
from common.logging import get_logger
from common.metrics import HTTP_PROBLEMS

log = get_logger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://rcm-suite.dev/problems/"


class Problem(Exception):
    """An expected refusal: answered as problem details, never logged as a crash."""

    def __init__(
        self, status: int, code: str, title: str, detail: str | None = None, **extra: Any
    ) -> None:
        super().__init__(f"{code}: {detail or title}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.extra = extra


RESERVED_MEMBERS = frozenset({"type", "title", "status", "code", "instance", "detail"})


def problem_body(
    status: int,
    code: str,
    title: str,
    detail: str | None,
    instance: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The RFC 9457 document. Extension members never overwrite the standard ones: a
    domain detail named like one (``status`` of a claim) is kept as ``<name>_detail``."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.lower().replace("_", "-"),
        "title": title,
        "status": status,
        "code": code,
        "instance": instance,
    }
    if detail:
        body["detail"] = detail
    for key, value in (extra or {}).items():
        body[f"{key}_detail" if key in RESERVED_MEMBERS else key] = value
    return body


def install_problem_handlers(
    app: FastAPI, service: str, domain_statuses: dict[str, int] | None = None
) -> None:
    """Answer every refusal as problem details. ``domain_statuses`` maps a DomainError code
    to its HTTP status (the one place a service decides it); unmapped codes answer 422."""
    statuses = dict(domain_statuses or {})

    def respond(
        request: Request,
        status: int,
        code: str,
        title: str,
        detail: str | None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> JSONResponse:
        HTTP_PROBLEMS.labels(service, code).inc()
        return JSONResponse(
            problem_body(status, code, title, detail, request.url.path, extra),
            status_code=status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers=headers,
        )

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return respond(request, exc.status, exc.code, exc.title, exc.detail, headers, exc.extra)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        status = statuses.get(exc.code, 422)
        return respond(request, status, exc.code, exc.message, None, None, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": ".".join(str(p) for p in e.get("loc", ())),
                "msg": e.get("msg"),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        return respond(
            request,
            422,
            "VALIDATION_ERROR",
            "The request is not valid",
            None,
            None,
            {"errors": errors},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
        return respond(
            request,
            exc.status_code,
            code,
            str(exc.detail),
            None,
            dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not a refusal: logged (redacted) with the path, answered without detail.
        log.error("http_unexpected_error", path=request.url.path, exc_info=exc)
        return respond(request, 500, "INTERNAL_ERROR", "Unexpected error", None)


def not_found(what: str) -> Problem:
    return Problem(404, "NOT_FOUND", f"{what} not found")
