"""rcm claims dry-run against a mocked claims API (httpx.MockTransport): what it asks for,
what it prints (claims, scrub issues, the 837, pyx12's verdict) and its exit code."""

from __future__ import annotations

import json
from typing import Any

import httpx
from typer.testing import CliRunner

from rcm_cli.app import CliContext, app

runner = CliRunner()
TEXT = "ISA*00*...*999999999*0*T*:~GS*HC*...~CLM*P0000042*50***11:B:1*Y*A*Y*Y~IEA*1*999999999~"


def claim(**changes: Any) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "claim_id": "clm-1",
        "claim_version": 1,
        "patient_control_number": "P0000042",
        "transaction_type": "837P",
        "member_id": "m-1",
        "payer_id": "acme-commercial",
        "status": "READY",
        "status_before": "READY",
        "sent_before": False,
        "would_send": True,
        "issues": [],
        "document": {"claim_id": "clm-1"},
        "note": None,
    }
    shown.update(changes)
    return shown


def edi_file(errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "clearinghouse_id": "local-dev",
        "transaction_type": "837P",
        "usage_indicator": "T",
        "claim_ids": ["clm-1"],
        "interchange_control_number": "999999999",
        "text": TEXT,
        "valid": not errors,
        "errors": errors or [],
    }


CLEAN = {
    "dry_run": True,
    "claims": [claim()],
    "edi": {"valid": True, "files": [edi_file()], "refused": [], "note": None},
}


class ClaimsApi:
    """Answers the dry-run routes with ``answer`` and keeps what was asked."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer tok"
        assert request.method == "POST" and request.url.host == "claims"
        self.requests.append((request.url.path, json.loads(request.content)))
        return httpx.Response(200, json=self.answer)


def dry_run(api: ClaimsApi, *args: str) -> Any:
    return runner.invoke(
        app,
        ["claims", "dry-run", *args, "--claims-url", "http://claims", "--token", "tok"],
        obj=CliContext(transport=httpx.MockTransport(api)),
    )


def test_a_session_dry_run_prints_the_claims_the_837_and_a_clean_pyx12_verdict() -> None:
    api = ClaimsApi(CLEAN)

    result = dry_run(api, "--session", "gs-1")

    assert result.exit_code == 0, result.output
    assert api.requests == [("/v1/claims/build/preview", {"session_id": "gs-1"})]
    assert "dry run: 1 claim(s); nothing stored" in result.output
    assert "claim clm-1 v1 837P PCN P0000042 READY (would be sent)" in result.output
    assert "scrub issues: none" in result.output
    assert "--- 837 837P to local-dev (ISA15 T, preview ISA13 999999999)" in result.output
    assert TEXT in result.output
    assert "pyx12: OK, no errors" in result.output


def test_scrub_and_pyx12_errors_are_printed_and_exit_1() -> None:
    blocked = claim(
        claim_id="clm-2",
        status="DRAFT",
        would_send=False,
        document=None,
        issues=[
            {
                "code": "INVALID_DIAGNOSIS",
                "severity": "error",
                "message": "not an ICD-10-CM code",
                "line_number": None,
                "charge_id": None,
            }
        ],
        note={"code": "SCRUB_ERRORS", "detail": "its scrub issues keep it from being sent"},
    )
    finding = {
        "code": "2010BA/NM104:5",
        "description": "NM104 (Subscriber First Name): too long",
        "claim_id": "clm-1",
    }
    api = ClaimsApi(
        {
            "dry_run": True,
            "claims": [claim(), blocked],
            "edi": {"valid": False, "files": [edi_file([finding])], "refused": [], "note": None},
        }
    )

    result = dry_run(api, "--member", "m-1", "--from", "2026-03-01", "--to", "2026-03-31")

    assert result.exit_code == 1, result.output
    assert api.requests == [
        (
            "/v1/claims/build/preview",
            {"member_id": "m-1", "period_from": "2026-03-01", "period_to": "2026-03-31"},
        )
    ]
    assert "claim clm-2 v1 837P PCN P0000042 DRAFT (would not be sent)" in result.output
    assert "error INVALID_DIAGNOSIS: not an ICD-10-CM code" in result.output
    assert "note: SCRUB_ERRORS" in result.output
    assert "pyx12: 1 error(s)" in result.output
    assert "2010BA/NM104:5 NM104 (Subscriber First Name): too long [claim clm-1]" in result.output


def test_a_stay_dry_run_posts_the_cycle_and_json_prints_the_answer_as_is() -> None:
    api = ClaimsApi({**CLEAN, "stay_id": "stay-1", "blocked": []})

    result = dry_run(
        api, "--stay", "stay-1", "--from", "2026-01-10", "--to", "2026-01-31", "--json"
    )

    assert result.exit_code == 0, result.output
    assert api.requests == [
        (
            "/v1/stays/stay-1/claims/build/preview",
            {"period": {"from": "2026-01-10", "to": "2026-01-31"}},
        )
    ]
    assert json.loads(result.output) == {**CLEAN, "stay_id": "stay-1", "blocked": []}


def test_an_unreachable_gateway_still_shows_the_claims_and_exits_1() -> None:
    note = {"code": "EDI_GATEWAY_UNREACHABLE", "detail": "the EDI gateway did not answer"}
    api = ClaimsApi(
        {
            "dry_run": True,
            "claims": [claim()],
            "edi": {"valid": None, "files": [], "refused": [], "note": note},
        }
    )

    result = dry_run(api, "--session", "gs-1")

    assert result.exit_code == 1, result.output
    assert "claim clm-1" in result.output
    assert "837: none (EDI_GATEWAY_UNREACHABLE: the EDI gateway did not answer)" in result.output


def test_one_subject_is_required() -> None:
    api = ClaimsApi(CLEAN)

    result = dry_run(api, "--session", "gs-1", "--member", "m-1")

    assert result.exit_code == 2
    assert api.requests == []
