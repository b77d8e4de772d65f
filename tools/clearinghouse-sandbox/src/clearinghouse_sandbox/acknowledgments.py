"""Rendering the acknowledgments: TA1 (interchange), 999 (005010X231A1, per functional group)
and 277CA (005010X214, per accepted claim transaction set, a status for every claim).

All of them answer in the delimiters of the 837 they acknowledge, with the sandbox as
sender and the 837's sender as receiver."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from clearinghouse_sandbox.claims import Claim, ClaimTransactionSet, Party
from clearinghouse_sandbox.validation import GroupFindings
from clearinghouse_sandbox.x12 import Delimiters, InterchangeWriter, clean_text

ACK_VERSION_999 = "005010X231A1"
ACK_VERSION_277CA = "005010X214"


@dataclass(frozen=True)
class Addressing:
    """Who an acknowledgment goes from and to (ISA05-08, GS02-03)."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    group_sender: str
    group_receiver: str
    usage: str


class ClaimStatus(StrEnum):
    RECEIVED = "A1:19"  # acknowledged, forwarded on; the payer's 277CA follows
    ACCEPTED = "A2:20"  # accepted into adjudication
    REJECTED = "A7:21"  # invalid information; correct and resubmit as a new claim

    @property
    def rejected(self) -> bool:
        return self is ClaimStatus.REJECTED


@dataclass(frozen=True)
class ClaimDecision:
    claim: Claim
    status: ClaimStatus
    reason: str | None  # free text for STC12 on a rejection
    trace_number: str  # REF*D9


def payer_claim_control_number(sender_id: str, patient_control_number: str) -> str:
    """A made-up payer claim number (REF*1K), the same every time for the same claim."""
    digest = hashlib.sha256(f"{sender_id}|{patient_control_number}".encode()).hexdigest()
    return f"PCCN{int(digest[:15], 16) % 10**14:014d}"


def _writer(
    delimiters: Delimiters, addressing: Addressing, control_number: int, now: datetime
) -> InterchangeWriter:
    return InterchangeWriter(
        delimiters,
        sender_qualifier=addressing.sender_qualifier,
        sender_id=addressing.sender_id,
        receiver_qualifier=addressing.receiver_qualifier,
        receiver_id=addressing.receiver_id,
        control_number=control_number,
        usage=addressing.usage,
        now=now,
    )


def render_ta1(
    *,
    delimiters: Delimiters,
    addressing: Addressing,
    control_number: int,
    now: datetime,
    acknowledged_control_number: str,
    acknowledged_date: str,
    acknowledged_time: str,
    accepted: bool,
    note_code: str,
) -> str:
    """An interchange holding only a TA1 (IEA01 = 0 groups)."""
    writer = _writer(delimiters, addressing, control_number, now)
    writer.segment(
        "TA1",
        acknowledged_control_number,
        acknowledged_date,
        acknowledged_time,
        "A" if accepted else "R",
        note_code,
    )
    return writer.render()


def render_999(
    *,
    delimiters: Delimiters,
    addressing: Addressing,
    control_number: int,
    now: datetime,
    groups: list[GroupFindings],
) -> str:
    """One 999 transaction set per functional group of the 837."""
    writer = _writer(delimiters, addressing, control_number, now)
    writer.begin_group(
        "FA", addressing.group_sender, addressing.group_receiver, control_number, ACK_VERSION_999
    )
    for number, group in enumerate(groups, start=1):
        writer.begin_set("999", number, ACK_VERSION_999)
        writer.segment("AK1", group.functional_id, group.control_number, group.version)
        for ts in group.transaction_sets:
            writer.segment("AK2", ts.set_id, ts.control_number, ts.version or "")
            for segment in ts.segments:
                for code in segment.codes:
                    writer.segment(
                        "IK3",
                        segment.segment_id,
                        str(segment.position_in_set),
                        segment.loop_id or "",
                        code,
                    )
                for element in segment.elements:
                    position = writer.components(*(str(p) if p else "" for p in element.position))
                    value = element.bad_value or ""
                    if any(d in value for d in delimiters.all()) or len(value) > 99:
                        value = ""  # a copy that would break the ack is left out
                    writer.segment("IK4", position, element.reference or "", element.code, value)
            writer.segment("IK5", ts.ack_code, *ts.codes)
        writer.segment(
            "AK9",
            group.ack_code,
            str(group.sets_declared),
            str(group.sets_received),
            str(group.accepted_count),
            *group.codes,
        )
        writer.end_set()
    writer.end_group()
    return writer.render()


def _amount(values: list[str]) -> str:
    total = Decimal(0)
    for value in values:
        try:
            total += Decimal(value)
        except InvalidOperation:
            continue
    text = f"{total:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


@dataclass(frozen=True)
class InformationSource:
    """2100A: the clearinghouse (AY, qualifier 46) or a payer (PR, qualifier PI)."""

    entity: str
    name: str
    qualifier: str
    identifier: str


def render_277ca(
    *,
    delimiters: Delimiters,
    addressing: Addressing,
    control_number: int,
    now: datetime,
    received_at: datetime,
    sections: list[tuple[ClaimTransactionSet, InformationSource, list[ClaimDecision]]],
    payer_claim_number: Callable[[Claim], str],
) -> str:
    """One 277CA transaction set per (837 transaction set, information source)."""
    writer = _writer(delimiters, addressing, control_number, now)
    writer.begin_group(
        "HN", addressing.group_sender, addressing.group_receiver, control_number, ACK_VERSION_277CA
    )
    today = now.strftime("%Y%m%d")
    for number, (claim_set, source, decisions) in enumerate(sections, start=1):
        writer.begin_set("277", number, ACK_VERSION_277CA)
        trace = f"{control_number:09d}{number:04d}"
        writer.segment("BHT", "0085", "08", trace, today, now.strftime("%H%M%S"), "TH")
        writer.segment("HL", "1", "", "20", "1")
        writer.segment(
            "NM1",
            source.entity,
            "2",
            clean_text(source.name, delimiters, limit=60) or "CLEARINGHOUSE SANDBOX",
            "",
            "",
            "",
            "",
            source.qualifier,
            source.identifier,
        )
        writer.segment("TRN", "1", trace)
        writer.segment("DTP", "050", "D8", received_at.strftime("%Y%m%d"))
        writer.segment("DTP", "009", "D8", today)
        _receiver_level(writer, claim_set, decisions, today)
        hl = 2
        providers: dict[tuple[str, str], list[ClaimDecision]] = {}
        for decision in decisions:
            provider = decision.claim.billing_provider
            providers.setdefault((provider.id_qualifier, provider.identifier), []).append(decision)
        for index, provider_decisions in enumerate(providers.values(), start=1):
            hl += 1
            provider_hl = hl
            provider = provider_decisions[0].claim.billing_provider
            writer.segment("HL", str(provider_hl), "2", "19", "1")
            writer.segment(
                "NM1",
                "85",
                provider.entity_type if provider.entity_type in ("1", "2") else "2",
                clean_text(provider.last_or_organization, delimiters, limit=60) or "PROVIDER",
                clean_text(provider.first, delimiters, limit=35)
                if provider.entity_type == "1"
                else "",
                "",
                "",
                "",
                provider.id_qualifier if provider.id_qualifier in ("FI", "SV", "XX") else "XX",
                provider.identifier or "UNKNOWN",
            )
            writer.segment("TRN", "1", f"{trace}{index:04d}")
            accepted = [d for d in provider_decisions if not d.status.rejected]
            rejected = [d for d in provider_decisions if d.status.rejected]
            writer.segment(
                "STC",
                _group_status(writer, provider_decisions),
                "",
                "WQ" if accepted else "U",
                _amount([d.claim.charge for d in provider_decisions]),
            )
            _totals(writer, "QA", "QC", accepted, rejected)
            for decision in provider_decisions:
                hl += 1
                _patient_level(
                    writer, delimiters, hl, provider_hl, decision, today, payer_claim_number
                )
        writer.end_set()
    writer.end_group()
    return writer.render()


def _group_status(writer: InterchangeWriter, decisions: list[ClaimDecision]) -> str:
    accepted = [d for d in decisions if not d.status.rejected]
    return _status(writer, accepted[0].status if accepted else ClaimStatus.REJECTED)


def _status(writer: InterchangeWriter, status: ClaimStatus) -> str:
    """STC01 in the answer's own component separator."""
    return writer.components(*status.value.split(":"))


def _totals(
    writer: InterchangeWriter,
    accepted_qualifier: str,
    rejected_qualifier: str,
    accepted: list[ClaimDecision],
    rejected: list[ClaimDecision],
) -> None:
    if accepted:
        writer.segment("QTY", accepted_qualifier, str(len(accepted)))
    if rejected:
        writer.segment("QTY", rejected_qualifier, str(len(rejected)))
    if accepted:
        writer.segment("AMT", "YU", _amount([d.claim.charge for d in accepted]))
    if rejected:
        writer.segment("AMT", "YY", _amount([d.claim.charge for d in rejected]))


def _receiver_level(
    writer: InterchangeWriter,
    claim_set: ClaimTransactionSet,
    decisions: list[ClaimDecision],
    today: str,
) -> None:
    submitter = claim_set.submitter
    writer.segment("HL", "2", "1", "21", "1")
    person = submitter.entity_type == "1"
    writer.segment(
        "NM1",
        "41",
        "1" if person else "2",
        submitter.last_or_organization or "SUBMITTER",
        submitter.first if person else "",
        "",
        "",
        "",
        "46",
        submitter.identifier or "UNKNOWN",
    )
    writer.segment("TRN", "2", claim_set.originator_reference or claim_set.control_number)
    accepted = [d for d in decisions if not d.status.rejected]
    rejected = [d for d in decisions if d.status.rejected]
    writer.segment(
        "STC",
        _group_status(writer, decisions),
        today,
        "WQ" if accepted else "U",
        _amount([d.claim.charge for d in decisions]),
    )
    if accepted:
        writer.segment("QTY", "90", str(len(accepted)))
    if rejected:
        writer.segment("QTY", "AA", str(len(rejected)))
    if accepted:
        writer.segment("AMT", "YU", _amount([d.claim.charge for d in accepted]))
    if rejected:
        writer.segment("AMT", "YY", _amount([d.claim.charge for d in rejected]))


def _patient_level(
    writer: InterchangeWriter,
    delimiters: Delimiters,
    hl: int,
    parent_hl: int,
    decision: ClaimDecision,
    today: str,
    payer_claim_number: Callable[[Claim], str],
) -> None:
    claim = decision.claim
    patient: Party = claim.patient
    member_id = claim.subscriber.identifier or patient.identifier
    writer.segment("HL", str(hl), str(parent_hl), "PT")
    writer.segment(
        "NM1",
        "QC",
        "1",
        clean_text(patient.last_or_organization, delimiters, limit=60) or "UNKNOWN",
        clean_text(patient.first, delimiters, limit=35),
        "",
        "",
        "",
        "MI",
        member_id or "UNKNOWN",
    )
    writer.segment("TRN", "2", claim.patient_control_number)
    status = _status(writer, decision.status)
    if decision.status.rejected:
        text = clean_text(decision.reason or "rejected", delimiters, limit=264)
        writer.segment("STC", status, today, "U", claim.charge, *([""] * 7), text)
    else:
        writer.segment("STC", status, today, "WQ", claim.charge)
        writer.segment("REF", "1K", payer_claim_number(claim))
    writer.segment("REF", "D9", decision.trace_number)
    if claim.bill_type:
        writer.segment("REF", "BLT", claim.bill_type)
    qualifier, dates = claim.service_dates()
    writer.segment("DTP", "472", qualifier, dates or today)
    for line in claim.lines:
        procedure = line.procedure
        if not procedure or len(procedure) < 2:
            procedure = ["NU", line.revenue_code or "0000"]
        writer.segment(
            "SVC",
            writer.components(*procedure[:6]),
            line.charge,
            "",
            line.revenue_code,
            "",
            "",
            line.units,
        )
        writer.segment("STC", status, today, "U")
        if line.line_control_number:
            writer.segment("REF", "FJ", line.line_control_number)
        if line.service_date and line.service_date[1]:
            writer.segment("DTP", "472", line.service_date[0], line.service_date[1])
