"""The console's own logic, apart from HTTP: what a page shows from the APIs' answers and
how a form becomes an API body. Pure functions, unit-tested."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

# Attendance statuses in the order a row's summary names them.
STATUS_ORDER = ("ATTENDED", "LATE", "LEFT_EARLY", "ABSENT", "SCHEDULED")
STATUS_LABELS = {
    "ATTENDED": "attended",
    "LATE": "late",
    "LEFT_EARLY": "left early",
    "ABSENT": "absent",
    "SCHEDULED": "scheduled",
}
SESSION_STATUSES = ("SCHEDULED", "OPEN", "CLOSED", "CANCELLED")
CHARGE_STATUSES = ("READY", "NEEDS_FIX", "ON_CLAIM", "BILLED", "VOID")
LEAVE_REASONS = ("THERAPEUTIC", "HOSPITALIZATION", "PATIENT_CONVENIENCE", "OTHER")

# What each billing-preview finding means (seed 003 and the group billing rules).
ISSUE_MEANINGS = {
    "SUPERVISION_RATIO_BREACH": "Too many participants per supervisor for the payer's rule.",
    "GROUP_SIZE_BAND_MISMATCH": "The group size falls between billable bands; the claim "
    "will be coded to the next band down.",
    "GROUP_UNATTENDED_BILLED": "A scheduled-but-unmarked participant remains; clarify "
    "before billing.",
    "GROUP_SIZE_BELOW_MINIMUM": "Fewer billable participants than the smallest band: the "
    "session cannot bill as a group.",
    "NO_SUPERVISOR_PRESENT": "No supervisor is marked present; mark the supervisor's attendance.",
}


def attendance_summary(counts: Mapping[str, int]) -> str:
    """``3 attended, 1 absent, 1 scheduled``: the statuses held, in a fixed order."""
    parts = [f"{counts[s]} {STATUS_LABELS[s]}" for s in STATUS_ORDER if counts.get(s, 0) > 0]
    parts += [f"{n} {s.lower()}" for s, n in sorted(counts.items()) if s not in STATUS_LABELS and n]
    return ", ".join(parts) if parts else "no participants"


def issue_meaning(code: str, message: str | None = None) -> str:
    return ISSUE_MEANINGS.get(code) or message or code


def preview_state(preview: Mapping[str, Any] | None) -> str:
    """``clean``, ``warnings`` or ``blocked``: the preview's standing in one word."""
    if not preview:
        return "unavailable"
    if preview.get("blocks_billing"):
        return "blocked"
    return "warnings" if preview.get("issues") else "clean"


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.lower().replace("_", " ")).capitalize()


@dataclass(frozen=True)
class ForceConsequence:
    """What a forced attendance change will void, for the confirmation text."""

    charge_ids: list[str]
    claim_ids: list[str]
    submitted_claims: list[str]

    @property
    def text(self) -> str:
        if not self.charge_ids and not self.claim_ids:
            return (
                "This reopens the session; any charge built from it is voided and rebuilt "
                "when it closes again. The change is audit-logged with your reason."
            )
        words = [
            f"This voids {len(self.charge_ids)} charge(s) of this session "
            f"({', '.join(self.charge_ids) or 'none listed'})"
        ]
        if self.claim_ids:
            words.append(f"and takes them off claim(s) {', '.join(self.claim_ids)}")
        sentence = " ".join(words) + "; they are rebuilt when the session closes again."
        if self.submitted_claims:
            sentence += (
                f" Claim(s) {', '.join(self.submitted_claims)} already left for the payer: "
                "they will need a void/replace."
            )
        return sentence + " The change is audit-logged with your reason."


SUBMITTED_STATES = frozenset({"SUBMITTED", "ACCEPTED", "BILLED", "PAID", "DENIED"})


def force_consequence(
    member_id: str | None,
    charges: Iterable[Mapping[str, Any]],
    session_claims: Iterable[Mapping[str, Any]],
) -> ForceConsequence:
    """The live charges a forced change of ``member_id``'s row (None: a supervisor's row,
    which touches every charge of the session) will void, and their claims."""
    live = [
        c
        for c in charges
        if c.get("status") != "VOID" and (member_id is None or c.get("member_id") == member_id)
    ]
    claim_status = {str(c["claim_id"]): str(c.get("status", "")) for c in session_claims}
    claim_ids = sorted({str(c["claim_id"]) for c in live if c.get("claim_id")})
    if member_id is None:
        claim_ids = sorted(set(claim_ids) | set(claim_status))
    return ForceConsequence(
        charge_ids=sorted(str(c["charge_id"]) for c in live),
        claim_ids=claim_ids,
        submitted_claims=[c for c in claim_ids if claim_status.get(c) in SUBMITTED_STATES],
    )


def period_of(days: Sequence[str]) -> tuple[date, date]:
    """The period (first, last) of the selected days (ISO dates); ValueError if none."""
    parsed = sorted({date.fromisoformat(d) for d in days})
    if not parsed:
        raise ValueError("select at least one day")
    return parsed[0], parsed[-1]


def cycles_of(days: Iterable[date]) -> list[tuple[date, date]]:
    """Calendar-month cycles (first, last listed day) of a stay's listed days: the
    checkbox groups of the charge worklist's stay header."""
    by_month: dict[tuple[int, int], list[date]] = {}
    for day in sorted(set(days)):
        by_month.setdefault((day.year, day.month), []).append(day)
    return [(v[0], v[-1]) for _, v in sorted(by_month.items())]


@dataclass(frozen=True)
class PerDiemRow:
    claim_id: str
    statement_from: str
    statement_through: str
    days_in_period: int
    covered_days: int
    non_covered_days: int
    status: str

    @property
    def balanced(self) -> bool:
        return self.covered_days + self.non_covered_days == self.days_in_period


def per_diem_rows(claims: Iterable[Mapping[str, Any]]) -> list[PerDiemRow]:
    """One row per cycle claim detail that has a per-diem panel, in period order."""
    rows = []
    for claim in claims:
        per_diem = claim.get("per_diem")
        if not per_diem:
            continue
        rows.append(
            PerDiemRow(
                claim_id=str(claim["claim_id"]),
                statement_from=str(claim.get("period_from")),
                statement_through=str(claim.get("period_to")),
                days_in_period=int(per_diem["days_in_period"]),
                covered_days=int(per_diem["covered_days"]),
                non_covered_days=int(per_diem["non_covered_days"]),
                status=str(claim.get("status")),
            )
        )
    return sorted(rows, key=lambda r: r.statement_from)


def listed(charges: Iterable[Mapping[str, Any]], show_void: bool) -> list[Mapping[str, Any]]:
    """The worklist's rows: void charges (superseded days, voided charges) only on demand."""
    return [c for c in charges if show_void or c.get("status") != "VOID"]


_ID = re.compile(r"^[!-~]{1,64}$")


def clean_id(value: str | None) -> str | None:
    """An id from a filter form, or None: ids only (printable ASCII, no spaces)."""
    value = (value or "").strip()
    if not value:
        return None
    if not _ID.match(value):
        raise ValueError("an id has no spaces and at most 64 characters")
    return value


def clean_date(value: str | None) -> date | None:
    value = (value or "").strip()
    return date.fromisoformat(value) if value else None


# --------------------------------------------------------------------------- forms

DRG = re.compile(r"^[0-9]{3}$")
ICD10CM = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")


@dataclass(frozen=True)
class FormResult:
    body: dict[str, Any]
    errors: list[str]


def institutional_edit(form: Mapping[str, str], days_in_period: int | None) -> FormResult:
    """The Institutional tab's form as a ``PUT /institutional`` body: only fields filled
    in are sent. Checked here first (the API checks again, with the master tables)."""
    body: dict[str, Any] = {}
    errors: list[str] = []

    def text(name: str) -> str:
        return (form.get(name) or "").strip().upper()

    if value := (form.get("admission_date") or "").strip():
        try:
            body["admission_date"] = date.fromisoformat(value).isoformat()
        except ValueError:
            errors.append("Admit date must be a date (YYYY-MM-DD).")
    for name, label, low, high in (("admission_hour", "Admit hour", 0, 23),):
        if value := (form.get(name) or "").strip():
            if value.isdigit() and low <= int(value) <= high:
                body[name] = int(value)
            else:
                errors.append(f"{label} must be a whole hour from {low} to {high}.")
    if value := text("admission_type"):
        if re.fullmatch(r"[1-59]", value):
            body["admission_type"] = value
        else:
            errors.append("Admit type is one digit: 1-5 or 9.")
    if value := text("admission_source"):
        if re.fullmatch(r"[1-9A-Z]", value):
            body["admission_source"] = value
        else:
            errors.append("Admit source is one character (1-9 or A-Z).")
    for name, label in (
        ("principal_diagnosis", "Principal diagnosis"),
        ("admitting_diagnosis", "Admitting diagnosis"),
    ):
        if value := text(name).replace(".", ""):
            if ICD10CM.match(value):
                body[name] = value
            else:
                errors.append(f"{label} must be an ICD-10-CM code, e.g. F332.")
    if value := text("other_diagnoses"):
        codes = [c.replace(".", "") for c in re.split(r"[\s,]+", value) if c]
        bad = [c for c in codes if not ICD10CM.match(c)]
        if bad:
            errors.append("Other diagnoses must be ICD-10-CM codes: " + ", ".join(bad))
        elif len(codes) > 24:
            errors.append("At most 24 other diagnoses.")
        else:
            body["other_diagnoses"] = codes
    if value := text("drg"):
        if DRG.match(value):
            body["drg"] = value
        else:
            errors.append("DRG must be three digits (from the DRG master).")
    counts: dict[str, int] = {}
    for name, label in (("covered_days", "Covered days"), ("non_covered_days", "Non-covered")):
        if value := (form.get(name) or "").strip():
            if value.isdigit():
                counts[name] = int(value)
            else:
                errors.append(f"{label} must be a whole number of days.")
    if counts:
        if len(counts) == 1:
            errors.append("Give both covered and non-covered days.")
        elif days_in_period is not None and sum(counts.values()) != days_in_period:
            errors.append(
                f"Covered + non-covered days must equal the days in the period ({days_in_period})."
            )
        else:
            body.update(counts)
    if not body and not errors:
        errors.append("Change at least one field.")
    return FormResult(body, errors)


def leave_body(form: Mapping[str, str], *, with_id: bool) -> FormResult:
    """The add / correct leave form as the stays API's body."""
    errors: list[str] = []
    body: dict[str, Any] = {}
    try:
        start = date.fromisoformat((form.get("start_date") or "").strip())
        body["start_date"] = start.isoformat()
    except ValueError:
        errors.append("Start date is required (YYYY-MM-DD).")
        start = None
    if back := (form.get("return_date") or "").strip():
        try:
            returned = date.fromisoformat(back)
            body["return_date"] = returned.isoformat()
            if start is not None and returned <= start:
                errors.append("The return date must be after the start date.")
        except ValueError:
            errors.append("Return date must be a date (YYYY-MM-DD).")
    reason = (form.get("reason") or "OTHER").strip()
    if reason not in LEAVE_REASONS:
        errors.append("Pick a reason from the list.")
    body["reason"] = reason
    if note := (form.get("note") or "").strip():
        body["note"] = note[:500]
    if with_id and (leave_id := (form.get("leave_id") or "").strip()):
        try:
            body["leave_id"] = clean_id(leave_id)
        except ValueError as exc:
            errors.append(f"Leave id: {exc}.")
    return FormResult(body, errors)


def discharge_body(form: Mapping[str, str]) -> FormResult:
    errors: list[str] = []
    body: dict[str, Any] = {}
    try:
        body["discharge_date"] = date.fromisoformat(form.get("discharge_date") or "").isoformat()
    except ValueError:
        errors.append("Discharge date is required (YYYY-MM-DD).")
    hour = (form.get("discharge_hour") or "").strip()
    if hour.isdigit() and 0 <= int(hour) <= 23:
        body["discharge_hour"] = int(hour)
    else:
        errors.append("Discharge hour is required: a whole hour from 0 to 23.")
    status = (form.get("patient_status") or "").strip()
    if re.fullmatch(r"[0-9]{2}", status):
        body["patient_status"] = status
    else:
        errors.append("Patient status is the two-digit NUBC code, e.g. 01.")
    if note := (form.get("note") or "").strip():
        body["note"] = note[:500]
    return FormResult(body, errors)


# IK501 / AK901 and TA104: what the clearinghouse said of a set, a group or an envelope.
ACK_CODES = {
    "A": "accepted",
    "E": "accepted with errors",
    "P": "partially accepted",
    "R": "rejected",
    "M": "rejected (message authentication)",
    "W": "rejected (assurance failed)",
    "X": "rejected (content could not be analysed)",
}


def ack_code(code: str | None) -> str:
    """``A`` -> ``A (accepted)``; nothing heard yet -> an em dash."""
    if not code:
        return "\u2014"
    meaning = ACK_CODES.get(code)
    return f"{code} ({meaning})" if meaning else code


def short_time(value: str | None) -> str:
    """``09:00:00`` -> ``09:00``; a datetime -> ``2026-01-02 09:00 UTC``."""
    if not value:
        return ""
    if "T" in value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment.strftime("%Y-%m-%d %H:%M %Z").strip()
    return value[:5]


def landing_page(scopes: Iterable[str]) -> str:
    """Where a user lands after signing in: the first page their scopes can read."""
    held = set(scopes)
    if "clinical.group-session.read" in held:
        return "/group-sessions"
    if held & {"billing.claim.read", "claims.read"}:
        return "/charges"
    return "/group-sessions"
