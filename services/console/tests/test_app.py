"""The console's pages over answering stand-ins of the APIs (httpx.MockTransport): sign-in,
CSRF, the token forwarded as Bearer, legal buttons only, Force update by scope, claims
built from the selected days, the 837 download."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from common.testing.tokens import TEST_JWT_SECRET, make_token
from console.app import create_app
from console.auth import SESSION_COOKIE
from console.settings import ConsoleSettings
from console.views import landing_page

SUPERVISOR = ["clinical.group-session.read", "clinical.attendance.write", "billing.claim.read"]
FORCE = [*SUPERVISOR, "clinical.attendance.write.force"]
OPERATOR = ["billing.claim.read", "billing.claim.write", "clinical.encounter.read"]


def session_detail(**changes: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "session_id": "gs-1",
        "facility_id": "fac-1",
        "facility_state": "IL",
        "program_id": "group-therapy",
        "session_date": "2026-03-09",
        "start_time": "09:00:00",
        "end_time": "10:30:00",
        "group_type": "PROCESS_GROUP",
        "service_code": "90853",
        "status": "SCHEDULED",
        "origin": "FEED",
        "cancel_reason": None,
        "roster_size": 2,
        "attendance": {"SCHEDULED": 1, "ATTENDED": 1},
        "participants": [
            {
                "member_id": "m-1",
                "status": "SCHEDULED",
                "legal_next_states": ["ATTENDED", "ABSENT", "LATE"],
            },
            {"member_id": "m-2", "status": "ATTENDED", "legal_next_states": ["ABSENT", "LATE"]},
        ],
        "supervisors": [
            {
                "provider_id": "prov-1",
                "status": "SCHEDULED",
                "legal_next_states": ["ATTENDED", "ABSENT", "LATE"],
            }
        ],
        "locked": False,
        "close_sequence": 0,
        "closing": None,
        "billing_preview": {
            "billable_count": 1,
            "billable_statuses": ["ATTENDED", "LATE"],
            "band": None,
            "issues": [
                {
                    "code": "GROUP_UNATTENDED_BILLED",
                    "severity": "error",
                    "blocks_billing": True,
                    "message": "1 participant unmarked",
                }
            ],
            "blocks_billing": True,
            "payer_checks_skipped": False,
            "payer_checks_skipped_reason": None,
            "payers": ["il-medicaid"],
            "supervision_ratio": None,
            "facility_state": "IL",
            "notes": [],
        },
        "claims": [],
        "version": 7,
    }
    detail.update(changes)
    return detail


@dataclass
class Upstream:
    """The stand-in APIs: answers by (method, path), and every request seen."""

    answers: dict[tuple[str, str], Any] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        key = (request.method, request.url.path)
        answer = self.answers.get(key)
        if answer is None:
            return httpx.Response(404, json={"code": "NOT_FOUND", "title": "not found"})
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)

    def requests(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.seen if r.method == method and r.url.path == path]


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


@pytest.fixture
def console(upstream: Upstream) -> Iterator[TestClient]:
    settings = ConsoleSettings(
        jwt_secret=TEST_JWT_SECRET,
        attendance_url="http://attendance",
        stays_url="http://stays",
        charges_url="http://charges",
        claims_url="http://claims",
        edi_gateway_url="http://edi",
        log_json=False,
    )
    app = create_app(settings, transport=httpx.MockTransport(upstream.handler))
    with TestClient(app, base_url="http://console") as client:
        yield client


def sign_in(client: TestClient, scopes: list[str]) -> str:
    token = make_token(tenant="demo-bh", scopes=scopes)
    page = client.get("/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = client.post(
        "/signin", data={"token": token, "csrf_token": csrf.group(1)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == landing_page(scopes)
    return token


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_health_endpoints(console: TestClient, upstream: Upstream) -> None:
    assert console.get("/health/live").json() == {"status": "ok"}
    upstream.answers[("GET", "/healthz")] = {"status": "ok"}  # every upstream
    ready = console.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    upstream.answers.clear()
    assert console.get("/readyz").status_code == 503


def test_pages_need_a_signed_in_user(console: TestClient) -> None:
    answer = console.get("/group-sessions", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
    page = console.get("/signin")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_sign_in_keeps_the_token_in_a_strict_httponly_cookie(console: TestClient) -> None:
    page = console.get("/signin")
    csrf = csrf_of(page.text)
    token = make_token(tenant="demo-bh", scopes=SUPERVISOR)
    answer = console.post(
        "/signin", data={"token": token, "csrf_token": csrf}, follow_redirects=False
    )
    cookie = answer.headers["set-cookie"]
    assert f"{SESSION_COOKIE}={token}" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")


def test_sign_in_refuses_a_token_the_services_would_refuse(console: TestClient) -> None:
    csrf = csrf_of(console.get("/signin").text)
    forged = make_token(
        tenant="demo-bh", scopes=SUPERVISOR, secret="another-secret-0123456789-abcdef"
    )
    answer = console.post(
        "/signin", data={"token": forged, "csrf_token": csrf}, follow_redirects=False
    )
    assert answer.headers["location"] == "/signin?error=INVALID_TOKEN"
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    expired = make_token(tenant="demo-bh", scopes=SUPERVISOR, ttl_seconds=-10)
    answer = console.post(
        "/signin", data={"token": expired, "csrf_token": csrf}, follow_redirects=False
    )
    assert answer.headers["location"] == "/signin?error=TOKEN_EXPIRED"


def test_sign_in_without_its_csrf_token_is_refused(console: TestClient) -> None:
    console.get("/signin")
    token = make_token(tenant="demo-bh", scopes=SUPERVISOR)
    answer = console.post("/signin", data={"token": token, "csrf_token": "guess"})
    assert answer.status_code == 403


def test_list_page_forwards_the_token_and_filters(console: TestClient, upstream: Upstream) -> None:
    token = sign_in(console, SUPERVISOR)
    upstream.answers[("GET", "/v1/group-sessions")] = {
        "date_from": "2026-03-09",
        "date_to": "2026-03-09",
        "facility_id": None,
        "items": [
            {
                **{
                    k: session_detail()[k]
                    for k in (
                        "session_id",
                        "facility_id",
                        "program_id",
                        "session_date",
                        "start_time",
                        "end_time",
                        "group_type",
                        "service_code",
                        "status",
                        "roster_size",
                        "attendance",
                        "locked",
                        "close_sequence",
                        "version",
                    )
                },
                "supervisor_ids": ["prov-1"],
            }
        ],
    }
    page = console.get("/group-sessions", params={"date_from": "2026-03-09", "status": "CLOSED"})
    assert page.status_code == 200
    assert "1 attended, 1 scheduled" in page.text and "prov-1" in page.text
    [call] = upstream.requests("GET", "/v1/group-sessions")
    assert call.headers["authorization"] == f"Bearer {token}"
    assert call.url.params["from"] == "2026-03-09" and call.url.params["status"] == "CLOSED"


def test_detail_offers_only_the_legal_next_states(console: TestClient, upstream: Upstream) -> None:
    sign_in(console, SUPERVISOR)
    upstream.answers[("GET", "/v1/group-sessions/gs-1")] = session_detail()
    upstream.answers[("GET", "/v1/charges")] = {"items": []}
    page = console.get("/group-sessions/gs-1")
    assert page.status_code == 200
    assert 'aria-label="Mark m-1 Attended"' in page.text
    assert 'aria-label="Mark m-1 Late"' in page.text
    assert 'aria-label="Mark m-2 Attended"' not in page.text  # already there
    assert 'aria-label="Mark m-1 Scheduled"' not in page.text
    assert "GROUP_UNATTENDED_BILLED" in page.text and "unmarked participant" in page.text
    assert "Force update" not in page.text


def test_force_update_is_offered_to_the_force_scope_only(
    console: TestClient, upstream: Upstream
) -> None:
    upstream.answers[("GET", "/v1/group-sessions/gs-1")] = session_detail(
        status="CLOSED", locked=True, claims=[{"claim_id": "cl-1", "status": "SUBMITTED"}]
    )
    upstream.answers[("GET", "/v1/charges")] = {
        "items": [
            {"charge_id": "ch-1", "member_id": "m-2", "status": "ON_CLAIM", "claim_id": "cl-1"}
        ]
    }
    sign_in(console, SUPERVISOR)
    page = console.get("/group-sessions/gs-1")
    assert "LOCKED" in page.text and "Force update" not in page.text
    assert 'aria-label="Mark m-1 Attended"' not in page.text  # locked: no plain buttons
    sign_in(console, FORCE)
    page = console.get("/group-sessions/gs-1")
    assert "Force update to Absent" in page.text
    assert "voids 1 charge(s) of this session (ch-1)" in page.text


def test_marking_needs_the_csrf_token_and_puts_the_status(
    console: TestClient, upstream: Upstream
) -> None:
    sign_in(console, SUPERVISOR)
    path = "/v1/group-sessions/gs-1/participants/m-1/status"
    upstream.answers[("PUT", path)] = session_detail()
    refused = console.post(
        "/group-sessions/gs-1/participants/m-1/status", data={"status": "ATTENDED"}
    )
    assert refused.status_code == 403 and not upstream.requests("PUT", path)
    upstream.answers[("GET", "/v1/group-sessions/gs-1")] = session_detail()
    upstream.answers[("GET", "/v1/charges")] = {"items": []}
    csrf = csrf_of(console.get("/group-sessions/gs-1").text)
    done = console.post(
        "/group-sessions/gs-1/participants/m-1/status",
        data={"status": "ATTENDED", "version": "7", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/group-sessions/gs-1"
    [call] = upstream.requests("PUT", path)
    assert json.loads(call.content) == {"status": "ATTENDED", "expected_version": 7}


def test_a_refusal_of_the_api_is_shown_with_its_code(
    console: TestClient, upstream: Upstream
) -> None:
    sign_in(console, FORCE)
    upstream.answers[("GET", "/v1/group-sessions/gs-1")] = session_detail()
    upstream.answers[("GET", "/v1/charges")] = {"items": []}
    upstream.answers[("PUT", "/v1/group-sessions/gs-1/participants/m-1/status")] = httpx.Response(
        409, json={"code": "ILLEGAL_TRANSITION", "title": "Not a legal move"}
    )
    csrf = csrf_of(console.get("/group-sessions/gs-1").text)
    page = console.post(
        "/group-sessions/gs-1/participants/m-1/status",
        data={"status": "LEFT_EARLY", "csrf_token": csrf},
    )
    assert "Not a legal move (ILLEGAL_TRANSITION)" in page.text
    missing_reason = console.post(
        "/group-sessions/gs-1/participants/m-1/status",
        data={"status": "ABSENT", "force": "true", "reason": " ", "csrf_token": csrf},
    )
    assert "needs a reason" in missing_reason.text


def test_build_claim_posts_the_period_of_the_selected_days(
    console: TestClient, upstream: Upstream
) -> None:
    sign_in(console, OPERATOR)
    upstream.answers[("GET", "/v1/charges")] = {"items": [], "stays": []}
    claim = {
        "claim_id": "cl-9",
        "patient_control_number": "PCN9",
        "period_from": "2026-01-10",
        "period_to": "2026-01-31",
        "status": "READY",
    }
    upstream.answers[("POST", "/v1/stays/stay-1/claims/build")] = {
        "stay_id": "stay-1",
        "claims": [claim],
        "built": ["cl-9"],
        "blocked": [],
        "open_cycles": [],
    }
    csrf = csrf_of(console.get("/charges").text)
    page = console.post(
        "/charges/build",
        data={
            "stay_id": "stay-1",
            "day": ["2026-01-31", "2026-01-10", "2026-01-11"],
            "csrf_token": csrf,
        },
    )
    [call] = upstream.requests("POST", "/v1/stays/stay-1/claims/build")
    assert json.loads(call.content) == {"period": {"from": "2026-01-10", "to": "2026-01-31"}}
    assert "1 built now" in page.text and 'href="/claims/cl-9"' in page.text


def test_edi_download_serves_the_archived_file(console: TestClient, upstream: Upstream) -> None:
    sign_in(console, OPERATOR)
    upstream.answers[("GET", "/v1/claims/cl-9/transmissions")] = {
        "claim_id": "cl-9",
        "submissions": [],
        "items": [{"file_id": "f-1", "file_name": "x_837I_1.x12", "claim_version": 1}],
    }
    upstream.answers[("GET", "/v1/files/f-1")] = httpx.Response(
        200, content=b"ISA*00*~", headers={"content-type": "application/EDI-X12"}
    )
    answer = console.get("/claims/cl-9/edi")
    assert answer.content == b"ISA*00*~"
    assert 'filename="x_837I_1.x12"' in answer.headers["content-disposition"]


def test_signed_out_user_is_sent_to_sign_in(console: TestClient, upstream: Upstream) -> None:
    sign_in(console, SUPERVISOR)
    upstream.answers[("GET", "/v1/charges")] = {"items": [], "stays": []}
    csrf = csrf_of(console.get("/charges").text)
    answer = console.post("/signout", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.headers["location"] == "/signin"
    assert console.get("/charges", follow_redirects=False).status_code == 303


def claim_detail(**changes: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "claim_id": "cl-9",
        "claim_version": 1,
        "patient_control_number": "PCN9",
        "transaction_type": "837P",
        "status": "READY",
        "member_id": "m-1",
        "payer_id": "acme",
        "period_from": "2026-03-09",
        "period_to": "2026-03-09",
        "total_charge": "50.00",
        "line_count": 1,
        "stale_reason": None,
        "reversal_needed": False,
        "stay_id": None,
        "frequency_code": None,
        "superseded_by": None,
        "lines": [],
        "institutional_lines": [],
        "issues": [],
        "status_history": [],
        "held_for_rebuild": False,
        "institutional": None,
        "per_diem": None,
    }
    detail.update(changes)
    return detail


def test_the_institutional_tab_is_for_institutional_claims_only(
    console: TestClient, upstream: Upstream
) -> None:
    sign_in(console, OPERATOR)
    upstream.answers[("GET", "/v1/claims/cl-9")] = claim_detail()
    page = console.get("/claims/cl-9", params={"tab": "institutional"})
    assert page.status_code == 200
    assert "?tab=institutional" not in page.text and "837P professional" in page.text


def test_an_invalid_institutional_edit_never_reaches_the_api(
    console: TestClient, upstream: Upstream
) -> None:
    sign_in(console, OPERATOR)
    institutional: dict[str, Any] = {
        "clm05": "86:A:2",
        "statement_from": "2026-01-10",
        "statement_through": "2026-01-31",
        "admission": {
            "date": "2026-01-10",
            "hour": 14,
            "date_source": "STAY",
            "type": "3",
            "source": "1",
        },
        "patient_status": "30",
        "discharge_date": None,
        "discharge_hour": None,
        "drg": None,
        "principal_diagnosis": "F332",
        "admitting_diagnosis": None,
        "other_diagnoses": [],
        "procedures": [],
        "occurrence_spans": [],
        "occurrences": [],
        "value_codes": [],
        "edited_fields": [],
    }
    per_diem = {"days_in_period": 22, "covered_days": 19, "non_covered_days": 3}
    upstream.answers[("GET", "/v1/claims/cl-9")] = claim_detail(
        transaction_type="837I", institutional=institutional, per_diem=per_diem
    )
    page = console.get("/claims/cl-9", params={"tab": "institutional"})
    assert "86:A:2" in page.text and 'name="drg"' in page.text
    upstream.answers[("PUT", "/v1/claims/cl-9/institutional")] = claim_detail()
    answer = console.post(
        "/claims/cl-9/institutional",
        data={
            "drg": "12",
            "covered_days": "20",
            "non_covered_days": "3",
            "days_in_period": "22",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert "DRG must be three digits" in answer.text
    assert "must equal the days in the period (22)" in answer.text
    assert not upstream.requests("PUT", "/v1/claims/cl-9/institutional")
    console.post(
        "/claims/cl-9/institutional",
        data={"drg": "885", "days_in_period": "22", "csrf_token": csrf_of(page.text)},
    )
    [call] = upstream.requests("PUT", "/v1/claims/cl-9/institutional")
    assert json.loads(call.content) == {"drg": "885"}


def test_the_stay_page_shows_each_cycles_day_calculation(
    console: TestClient, upstream: Upstream
) -> None:
    sign_in(console, OPERATOR)
    upstream.answers[("GET", "/v1/stays/stay-1")] = {
        "stay_id": "stay-1",
        "stay_version": 3,
        "member_id": "m-1",
        "facility_id": "fac-1",
        "program_id": "residential",
        "status": "DISCHARGED",
        "admission": {
            "admit_date": "2026-01-10",
            "admit_hour": 14,
            "admission_type": "3",
            "admission_source": "1",
        },
        "leaves": [
            {
                "leave_id": "loa-1",
                "start_date": "2026-01-20",
                "return_date": "2026-01-23",
                "reason": "THERAPEUTIC",
                "open": False,
                "closed_by_discharge": False,
                "loa_nights": 3,
            }
        ],
        "discharge": {"discharge_date": "2026-02-03", "discharge_hour": 10, "patient_status": "01"},
        "as_of": "2026-11-23",
        "length_of_stay_days": 24,
        "loa_nights": 3,
        "covered_days": 21,
        "cancelled_leaves": [],
        "history": [],
    }
    upstream.answers[("GET", "/v1/claims")] = {"items": [{"claim_id": "cl-1"}]}
    upstream.answers[("GET", "/v1/claims/cl-1")] = claim_detail(
        claim_id="cl-1",
        period_from="2026-01-10",
        period_to="2026-01-31",
        per_diem={"days_in_period": 22, "covered_days": 19, "non_covered_days": 3},
    )
    page = console.get("/stays/stay-1")
    assert page.status_code == 200
    assert re.search(r"2026-01-10 to 2026-01-31</td><td>22</td><td>19</td><td>3", page.text)
    assert "24 day(s)" in page.text and "loa-1" in page.text
    assert "+ Add LOA" not in page.text  # no clinical.encounter.write: no stay edits
