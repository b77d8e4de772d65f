"""The console's pages: FastAPI routes rendering Jinja2 templates from the other services'
APIs, called with the signed-in user's token (so the services enforce scopes and tenants).

Every change is a POST form carrying the CSRF token, answered by a redirect back to the
page (which reads everything afresh: the billing preview is recomputed on each read), with
a one-shot message in a cookie. URLs carry ids only, never names."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from common.http import TokenVerifier
from common.http.telemetry import RequestTelemetry
from common.logging import configure_logging, get_logger
from console import views
from console.api import Api, ApiError, Upstreams
from console.auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    CsrfGuard,
    Session,
    SignInRefused,
    verify_session_token,
)
from console.settings import ConsoleSettings

log = get_logger(__name__)

HERE = Path(__file__).parent
FLASH_COOKIE = "console_flash"


class SignInRequired(Exception):
    pass


class CsrfRefused(Exception):
    pass


def _flash_cookie(kind: str, text: str, links: list[tuple[str, str]] | None = None) -> str:
    return quote(json.dumps({"kind": kind, "text": text[:600], "links": links or []}))


def create_app(
    settings: ConsoleSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The console app. ``transport`` lets tests answer the upstream calls."""
    s = settings or ConsoleSettings()
    upstreams = Upstreams(
        attendance=s.attendance_url,
        stays=s.stays_url,
        charges=s.charges_url,
        claims=s.claims_url,
        edi_gateway=s.edi_gateway_url,
    )
    verifier = TokenVerifier(
        shared_secret=s.jwt_shared_secret(),
        jwks_url=s.jwt_jwks_url,
        audience=s.jwt_audience,
        issuer=s.jwt_issuer,
    )
    csrf = CsrfGuard(s.csrf_secret.get_secret_value().encode() if s.csrf_secret else None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.globals["attendance_summary"] = views.attendance_summary
    env.globals["issue_meaning"] = views.issue_meaning
    env.globals["status_label"] = views.status_label
    env.globals["short_time"] = views.short_time
    env.globals["ack_code"] = views.ack_code
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    env.globals["SESSION_STATUSES"] = views.SESSION_STATUSES
    env.globals["CHARGE_STATUSES"] = views.CHARGE_STATUSES
    env.globals["LEAVE_REASONS"] = views.LEAVE_REASONS
    holder: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        configure_logging(s.service_name, s.log_level, s.log_json)
        # Each upstream call would be logged with its URL; the console logs its own events.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        holder["client"] = httpx.AsyncClient(timeout=s.api_timeout_seconds, transport=transport)
        log.info("service_started")
        try:
            yield
        finally:
            await holder["client"].aclose()
            log.info("service_stopped")

    app = FastAPI(title="rcm console", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(RequestTelemetry, service=s.service_name)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def client() -> httpx.AsyncClient:
        if "client" not in holder:  # used outside the lifespan (tests)
            holder["client"] = httpx.AsyncClient(timeout=s.api_timeout_seconds, transport=transport)
        return holder["client"]

    # ------------------------------------------------------------------ helpers

    def session_of(request: Request) -> Session:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise SignInRequired
        try:
            principal = verify_session_token(verifier, token)
        except SignInRefused as exc:
            raise SignInRequired from exc
        return Session(token=token, principal=principal)

    def api_of(session: Session) -> Api:
        return Api(client(), upstreams, session.token)

    def render(
        request: Request,
        template: str,
        session: Session | None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        flash = None
        raw = request.cookies.get(FLASH_COOKIE)
        if raw:
            try:
                from urllib.parse import unquote

                flash = json.loads(unquote(raw))
            except ValueError:
                flash = None
        response = templates.TemplateResponse(
            request,
            template,
            {
                "session": session,
                "caps": session.capabilities if session else None,
                "csrf": csrf.token_for(session.token) if session else "",
                "flash": flash,
                **context,
            },
            status_code=status_code,
        )
        if raw:
            response.delete_cookie(FLASH_COOKIE, path="/")
        response.headers["Cache-Control"] = "no-store"
        return response

    def back(
        url: str, kind: str, text: str, links: list[tuple[str, str]] | None = None
    ) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            FLASH_COOKIE,
            _flash_cookie(kind, text, links),
            httponly=True,
            samesite="strict",
            secure=s.cookie_secure,
            path="/",
            max_age=60,
        )
        return response

    async def checked_form(request: Request, session: Session) -> FormData:
        form = await request.form()
        submitted = form.get(CSRF_FIELD)
        if not csrf.valid(session.token, submitted if isinstance(submitted, str) else None):
            raise CsrfRefused
        return form

    def text_fields(form: FormData) -> dict[str, str]:
        return {k: v for k, v in form.items() if isinstance(v, str)}

    async def act(
        request: Request,
        url: str,
        call: Callable[[Api, dict[str, str]], Awaitable[str | RedirectResponse]],
    ) -> Response:
        """A POST: the session, its CSRF token, the call; back to ``url`` with what came
        of it (the API's refusal as is: its code and title)."""
        session = session_of(request)
        form = text_fields(await checked_form(request, session))
        try:
            done = await call(api_of(session), form)
        except ApiError as exc:
            return back(url, "error", exc.message)
        except ValueError as exc:
            return back(url, "error", str(exc))
        if isinstance(done, RedirectResponse):
            return done
        return back(url, "ok", done)

    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, exc: SignInRequired) -> Response:
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        return HTMLResponse(
            "<!doctype html><title>Refused</title><p>The form is stale or not from this "
            'console (CSRF check failed). <a href="/">Start again</a>.</p>',
            status_code=403,
        )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        try:
            session: Session | None = session_of(request)
        except SignInRequired:
            session = None
        if exc.status == 401:
            raise SignInRequired from exc
        return render(
            request,
            "error.html",
            session,
            status_code=exc.status if exc.status in (403, 404, 409) else 502,
            error=exc,
        )

    # ------------------------------------------------------------------ health

    @app.get("/health/live", include_in_schema=False)
    @app.get("/healthz", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", include_in_schema=False)
    @app.get("/readyz", include_in_schema=False)
    async def ready() -> JSONResponse:
        """Ready when every upstream API answers its liveness probe."""

        async def probe(service: str) -> bool:
            try:
                response = await client().get(upstreams.base(service) + "/healthz", timeout=2)
            except (httpx.HTTPError, ApiError):
                return False
            return response.status_code == 200

        names = ["attendance", "stays", "charges", "claims", "edi_gateway"]
        results = await asyncio.gather(*(probe(n) for n in names))
        checks = dict(zip(names, results, strict=True))
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": checks},
            status_code=200 if ok else 503,
        )

    # ------------------------------------------------------------------ sign-in

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        session = session_of(request)
        return RedirectResponse(views.landing_page(session.principal.scopes), status_code=303)

    @app.get("/signin", response_class=HTMLResponse)
    async def signin_page(request: Request, error: str | None = None) -> Response:
        value = csrf.new_signin_token()
        response = render(
            request, "signin.html", None, signin_csrf=value, error=_signin_error(error)
        )
        response.set_cookie(
            SIGNIN_COOKIE,
            value,
            httponly=True,
            samesite="strict",
            secure=s.cookie_secure,
            path="/signin",
            max_age=900,
        )
        return response

    @app.post("/signin")
    async def signin(request: Request) -> Response:
        form = await request.form()
        submitted, token = form.get(CSRF_FIELD), form.get("token")
        if not csrf.signin_valid(
            request.cookies.get(SIGNIN_COOKIE), submitted if isinstance(submitted, str) else None
        ):
            raise CsrfRefused
        try:
            principal = verify_session_token(verifier, token if isinstance(token, str) else "")
        except SignInRefused as exc:
            log.info("signin_refused", code=exc.code)
            return RedirectResponse(f"/signin?error={exc.code}", status_code=303)
        log.info("signed_in", subject=principal.subject, tenant_id=principal.tenant_id)
        response = RedirectResponse(views.landing_page(principal.scopes), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            str(token).strip(),
            httponly=True,
            samesite="strict",
            secure=s.cookie_secure,
            path="/",
        )
        response.delete_cookie(SIGNIN_COOKIE, path="/signin")
        return response

    @app.post("/signout")
    async def signout(request: Request) -> Response:
        session = session_of(request)
        await checked_form(request, session)
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ group sessions

    @app.get("/group-sessions", response_class=HTMLResponse)
    async def group_sessions(
        request: Request,
        date_from: str | None = None,
        date_to: str | None = None,
        facility_id: str | None = None,
        group_type: str | None = None,
        status: str | None = None,
    ) -> Response:
        session = session_of(request)
        api = api_of(session)
        params: dict[str, str | int | None] = {
            "from": date_from,
            "to": date_to,
            "facility_id": facility_id,
            "group_type": group_type,
            "status": status if status in views.SESSION_STATUSES else None,
            "limit": 200,
        }
        listing = await api.get("attendance", "/v1/group-sessions", params)
        return render(
            request,
            "group_sessions.html",
            session,
            listing=listing,
            filters={
                "date_from": listing.get("date_from"),
                "date_to": listing.get("date_to"),
                "facility_id": facility_id or listing.get("facility_id") or "",
                "group_type": group_type or "",
                "status": status or "",
            },
        )

    @app.get("/group-sessions/{session_id}", response_class=HTMLResponse)
    async def group_session(request: Request, session_id: str) -> Response:
        session = session_of(request)
        api = api_of(session)
        detail = await api.get("attendance", f"/v1/group-sessions/{quote(session_id)}")
        charges: list[dict[str, Any]] = []
        if session.capabilities.read_billing:
            try:
                found = await api.get("charges", "/v1/charges", {"session_id": session_id})
                charges = found.get("items", [])
            except ApiError:
                charges = []
        consequences = {
            p["member_id"]: views.force_consequence(p["member_id"], charges, detail["claims"])
            for p in detail["participants"]
        }
        whole = views.force_consequence(None, charges, detail["claims"])
        return render(
            request,
            "group_session.html",
            session,
            s=detail,
            charges=charges,
            consequences=consequences,
            whole_consequence=whole,
            preview_state=views.preview_state(detail.get("billing_preview")),
        )

    def _status_body(form: Mapping[str, str], force: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"status": form.get("status", "")}
        if version := form.get("version", ""):
            body["expected_version"] = int(version)
        if force:
            reason = form.get("reason", "").strip()
            if not reason:
                raise ValueError("A forced update needs a reason.")
            body.update(force=True, reason=reason[:500], expected_version=None)
        return body

    @app.post("/group-sessions/{session_id}/{role}/{subject_id}/status")
    async def set_status(request: Request, session_id: str, role: str, subject_id: str) -> Response:
        if role not in ("participants", "supervisors"):
            return HTMLResponse("Not found", status_code=404)
        url = f"/group-sessions/{quote(session_id)}"

        async def call(api: Api, form: dict[str, str]) -> str:
            force = form.get("force") == "true"
            body = _status_body(form, force)
            await api.send(
                "attendance",
                "PUT",
                f"/v1/group-sessions/{quote(session_id)}/{role}/{quote(subject_id)}/status",
                body,
            )
            what = "Forced" if force else "Marked"
            return f"{what} {subject_id} {views.status_label(body['status'])}."

        return await act(request, url, call)

    @app.post("/group-sessions/{session_id}/finalize")
    async def finalize(request: Request, session_id: str) -> Response:
        url = f"/group-sessions/{quote(session_id)}"

        async def call(api: Api, form: dict[str, str]) -> str:
            raw = await request.form()
            acknowledged = [v for v in raw.getlist("acknowledge") if isinstance(v, str)]
            body: dict[str, Any] = {"acknowledged_warnings": acknowledged}
            if version := form.get("version", ""):
                body["expected_version"] = int(version)
            await api.send(
                "attendance", "POST", f"/v1/group-sessions/{quote(session_id)}/finalize", body
            )
            return "Attendance finalized: the session is closed."

        return await act(request, url, call)

    @app.post("/group-sessions/{session_id}/charges")
    async def generate_charges(request: Request, session_id: str) -> Response:
        url = f"/group-sessions/{quote(session_id)}"

        async def call(api: Api, form: dict[str, str]) -> str:
            result = await api.send(
                "charges", "POST", f"/v1/group-sessions/{quote(session_id)}/charges"
            )
            return (
                f"Charges: {result['built']} built, {result['rechecked']} re-checked, "
                f"{len(result['charges'])} in all."
            )

        return await act(request, url, call)

    # ------------------------------------------------------------------ stays

    @app.get("/stays/{stay_id}", response_class=HTMLResponse)
    async def stay(request: Request, stay_id: str) -> Response:
        session = session_of(request)
        api = api_of(session)
        detail = await api.get("stays", f"/v1/stays/{quote(stay_id)}")
        rows: list[views.PerDiemRow] = []
        unavailable = None
        if session.capabilities.read_billing:
            try:
                listed = await api.get("claims", "/v1/claims", {"stay_id": stay_id})
                details = await asyncio.gather(
                    *(
                        api.get("claims", f"/v1/claims/{quote(c['claim_id'])}")
                        for c in listed["items"]
                    )
                )
                rows = views.per_diem_rows(details)
            except ApiError as exc:
                unavailable = exc.message
        return render(
            request,
            "stay.html",
            session,
            stay=detail,
            cycles=rows,
            cycles_unavailable=unavailable,
        )

    def _stay_url(stay_id: str) -> str:
        return f"/stays/{quote(stay_id)}"

    @app.post("/stays/{stay_id}/leaves")
    async def add_leave(request: Request, stay_id: str) -> Response:
        async def call(api: Api, form: dict[str, str]) -> str:
            result = views.leave_body(form, with_id=True)
            if result.errors:
                raise ValueError(" ".join(result.errors))
            await api.send("stays", "POST", f"/v1/stays/{quote(stay_id)}/leaves", result.body)
            return "Leave of absence recorded."

        return await act(request, _stay_url(stay_id), call)

    @app.post("/stays/{stay_id}/leaves/{leave_id}/correct")
    async def correct_leave(request: Request, stay_id: str, leave_id: str) -> Response:
        async def call(api: Api, form: dict[str, str]) -> str:
            result = views.leave_body(form, with_id=False)
            if result.errors:
                raise ValueError(" ".join(result.errors))
            await api.send(
                "stays", "PUT", f"/v1/stays/{quote(stay_id)}/leaves/{quote(leave_id)}", result.body
            )
            return f"Leave {leave_id} corrected."

        return await act(request, _stay_url(stay_id), call)

    @app.post("/stays/{stay_id}/leaves/{leave_id}/cancel")
    async def cancel_leave(request: Request, stay_id: str, leave_id: str) -> Response:
        async def call(api: Api, form: dict[str, str]) -> str:
            reason = form.get("reason", "").strip()
            if not reason:
                raise ValueError("Say why the leave is cancelled.")
            await api.send(
                "stays",
                "DELETE",
                f"/v1/stays/{quote(stay_id)}/leaves/{quote(leave_id)}",
                {"reason": reason[:500]},
            )
            return f"Leave {leave_id} cancelled: its nights are covered again."

        return await act(request, _stay_url(stay_id), call)

    @app.post("/stays/{stay_id}/discharge")
    async def discharge(request: Request, stay_id: str) -> Response:
        async def call(api: Api, form: dict[str, str]) -> str:
            result = views.discharge_body(form)
            if result.errors:
                raise ValueError(" ".join(result.errors))
            method = "PUT" if form.get("correct") == "true" else "POST"
            await api.send("stays", method, f"/v1/stays/{quote(stay_id)}/discharge", result.body)
            return "Discharge recorded." if method == "POST" else "Discharge corrected."

        return await act(request, _stay_url(stay_id), call)

    # ------------------------------------------------------------------ charges

    @app.get("/charges", response_class=HTMLResponse)
    async def charges(
        request: Request,
        member_id: str | None = None,
        stay_id: str | None = None,
        status: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        show_void: bool = False,
    ) -> Response:
        session = session_of(request)
        api = api_of(session)
        show_void = show_void or status == "VOID"
        try:
            params: dict[str, str | int | None] = {
                "member_id": views.clean_id(member_id),
                "stay_id": views.clean_id(stay_id),
                "status": status if status in views.CHARGE_STATUSES else None,
                "from": str(views.clean_date(date_from) or "") or None,
                "to": str(views.clean_date(date_to) or "") or None,
            }
        except ValueError as exc:
            raise ApiError("console", 409, "INVALID_FILTER", str(exc)) from exc
        grouped, flat = await asyncio.gather(
            api.get("charges", "/v1/charges", {**params, "group_by": "stay", "limit": 50}),
            api.get("charges", "/v1/charges", {**params, "limit": 200}),
        )
        stays = grouped.get("stays") or []
        for header in stays:
            header["charges"] = views.listed(header["charges"], show_void)
            days = [
                date.fromisoformat(c["date_of_service"])
                for c in header["charges"]
                if c["status"] != "VOID"
            ]
            header["cycles"] = [
                {"first": a.isoformat(), "last": b.isoformat()} for a, b in views.cycles_of(days)
            ]
        others = views.listed(
            [c for c in flat["items"] if c.get("source", {}).get("kind") != "STAY"], show_void
        )
        return render(
            request,
            "charges.html",
            session,
            stays=stays,
            others=others,
            filters={
                "member_id": member_id or "",
                "stay_id": stay_id or "",
                "status": status or "",
                "date_from": date_from or "",
                "date_to": date_to or "",
            },
            show_void=show_void,
            today=datetime.now(UTC).date().isoformat(),
        )

    def _charges_url(form: Mapping[str, str]) -> str:
        keep = {k: form[k] for k in ("member_id", "stay_id", "status") if form.get(k)}
        return "/charges" + (f"?{urlencode(keep)}" if keep else "")

    @app.post("/charges/build")
    async def build_claim(request: Request) -> Response:
        raw = await request.form()
        days = [v for v in raw.getlist("day") if isinstance(v, str)]

        async def call(api: Api, form: dict[str, str]) -> str | RedirectResponse:
            stay_id = views.clean_id(form.get("stay_id"))
            if stay_id is None:
                raise ValueError("Pick a stay.")
            first, last = views.period_of(days)
            body = {"period": {"from": first.isoformat(), "to": last.isoformat()}}
            try:
                outcome = await api.send(
                    "claims", "POST", f"/v1/stays/{quote(stay_id)}/claims/build", body
                )
            except ApiError as exc:
                billed = exc.body.get("claim_id")
                if exc.code == "PERIOD_ALREADY_BILLED" and isinstance(billed, str):
                    return back(
                        _charges_url(form),
                        "ok",
                        f"{first} to {last} is billed already ({exc.code}): nothing to build.",
                        [(f"Open claim {billed}", f"/claims/{quote(billed)}")],
                    )
                raise
            claims = [
                c
                for c in outcome["claims"]
                if c["period_from"] <= last.isoformat() and c["period_to"] >= first.isoformat()
            ]
            built = set(outcome["built"])
            links = [
                (
                    f"Open claim {c['patient_control_number']} ({c['period_from']} to "
                    f"{c['period_to']}, {c['status']})",
                    f"/claims/{quote(c['claim_id'])}",
                )
                for c in claims
            ]
            text = (
                f"Build claim for {first} to {last}: {len(built & {c['claim_id'] for c in claims})}"
                f" built now, {len(claims)} claim(s) bill these days."
            )
            return back(_charges_url(form), "ok", text, links)

        return await act(request, "/charges", call)

    @app.post("/charges/{charge_id}/fix")
    async def fix_charge(request: Request, charge_id: str) -> Response:
        async def call(api: Api, form: dict[str, str]) -> str:
            body: dict[str, Any] = {}
            for name in ("payer_id", "coverage_id", "rate", "reason"):
                if value := form.get(name, "").strip():
                    body[name] = value
            if any(k in body for k in ("payer_id", "coverage_id", "rate")) and not body.get(
                "reason"
            ):
                raise ValueError("An override needs a reason.")
            result = await api.send("charges", "POST", f"/v1/charges/{quote(charge_id)}/fix", body)
            return f"Charge {charge_id} is now {result['status']}."

        raw = text_fields(await request.form())
        return await act(request, _charges_url(raw), call)

    @app.post("/charges/{charge_id}/void")
    async def void_charge(request: Request, charge_id: str) -> Response:
        async def call(api: Api, form: dict[str, str]) -> str:
            reason = form.get("reason", "").strip()
            if not reason:
                raise ValueError("Say why the charge is voided.")
            await api.send(
                "charges", "POST", f"/v1/charges/{quote(charge_id)}/void", {"reason": reason}
            )
            return f"Charge {charge_id} voided."

        raw = text_fields(await request.form())
        return await act(request, _charges_url(raw), call)

    # ------------------------------------------------------------------ claims

    @app.get("/claims/{claim_id}", response_class=HTMLResponse)
    async def claim(request: Request, claim_id: str, tab: str = "lines") -> Response:
        session = session_of(request)
        api = api_of(session)
        detail = await api.get("claims", f"/v1/claims/{quote(claim_id)}")
        institutional = detail.get("institutional") is not None
        if tab not in ("lines", "issues", "institutional", "submission"):
            tab = "lines"
        if tab == "institutional" and not institutional:
            tab = "lines"
        acks: dict[str, Any] = {"transmissions": [], "statuses": []}
        transmissions: dict[str, Any] = {"items": []}
        gateway_error = None
        if upstreams.edi_gateway:
            try:
                acks, transmissions = await asyncio.gather(
                    api.get("edi_gateway", f"/v1/claims/{quote(claim_id)}/acknowledgments"),
                    api.get("edi_gateway", f"/v1/claims/{quote(claim_id)}/transmissions"),
                )
            except ApiError as exc:
                if exc.status != 404:
                    gateway_error = exc.message
        files = [t for t in transmissions.get("items", []) if t.get("file_id")]
        return render(
            request,
            "claim.html",
            session,
            c=detail,
            tab=tab,
            institutional=institutional,
            acks=acks,
            files=files,
            gateway_error=gateway_error,
        )

    @app.get("/claims/{claim_id}/edi")
    async def claim_edi(request: Request, claim_id: str, file_id: str | None = None) -> Response:
        """The newest 837 file holding the claim (or the one named), as archived."""
        session = session_of(request)
        api = api_of(session)
        found = await api.get("edi_gateway", f"/v1/claims/{quote(claim_id)}/transmissions")
        files = [t for t in found.get("items", []) if t.get("file_id")]
        chosen = [t for t in files if t["file_id"] == file_id] if file_id else files[-1:]
        if not chosen:
            raise ApiError("edi-gateway", 404, "FILE_NOT_FOUND", "No 837 file for this claim")
        upstream = await api.request(
            "edi_gateway", "GET", f"/v1/files/{quote(chosen[0]['file_id'])}"
        )
        name = chosen[0].get("file_name") or f"{claim_id}.x12"
        return Response(
            content=upstream.content,
            media_type=upstream.headers.get("content-type", "application/EDI-X12"),
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    def _claim_url(claim_id: str, tab: str | None = None) -> str:
        return f"/claims/{quote(claim_id)}" + (f"?tab={tab}" if tab else "")

    @app.post("/claims/{claim_id}/institutional")
    async def edit_institutional(request: Request, claim_id: str) -> Response:
        async def call(api: Api, form: dict[str, str]) -> str:
            days = form.get("days_in_period", "")
            result = views.institutional_edit(form, int(days) if days.isdigit() else None)
            if result.errors:
                raise ValueError(" ".join(result.errors))
            await api.send(
                "claims", "PUT", f"/v1/claims/{quote(claim_id)}/institutional", result.body
            )
            return "Institutional context saved; the claim is rebuilt with it."

        return await act(request, _claim_url(claim_id, "institutional"), call)

    @app.post("/claims/{claim_id}/{action}")
    async def correct_claim(request: Request, claim_id: str, action: str) -> Response:
        if action not in ("reverse", "replace", "rebuild", "submit"):
            return HTMLResponse("Not found", status_code=404)

        async def call(api: Api, form: dict[str, str]) -> str:
            body = None
            if action in ("reverse", "replace"):
                reason = form.get("reason", "").strip()
                if not reason:
                    raise ValueError("Say why the claim is corrected.")
                body = {"reason": reason[:1000]}
            await api.send("claims", "POST", f"/v1/claims/{quote(claim_id)}/{action}", body)
            return {
                "reverse": "Claim reversed: a void (frequency 8) goes to the payer.",
                "replace": "Replacement (frequency 7) built and submitted.",
                "rebuild": "Claim rebuilt.",
                "submit": "Claim submitted.",
            }[action]

        return await act(request, _claim_url(claim_id), call)

    return app


def _signin_error(code: str | None) -> str | None:
    if not code:
        return None
    return {
        "TOKEN_EXPIRED": "That token has expired: get a fresh one from the identity provider.",
        "INVALID_TOKEN": "That is not a valid access token for this suite.",
        "AUTH_KEYS_UNAVAILABLE": "The identity provider's keys cannot be fetched; try again.",
    }.get(code, "The token was refused.")
