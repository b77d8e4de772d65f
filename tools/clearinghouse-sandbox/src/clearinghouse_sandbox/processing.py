"""Answering one received 837: envelope check, pyx12, then TA1 / 999 / 277CA(s) written into
``outbound/`` under names that say what they are and carry no PHI."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from clearinghouse_sandbox import logs
from clearinghouse_sandbox.acknowledgments import (
    Addressing,
    ClaimDecision,
    ClaimStatus,
    InformationSource,
    payer_claim_control_number,
    render_277ca,
    render_999,
    render_ta1,
)
from clearinghouse_sandbox.claims import Claim, ClaimTransactionSet, read_claim_sets
from clearinghouse_sandbox.state import (
    AcknowledgmentFile,
    ClaimOutcome,
    ControlNumbers,
    ReceivedFile,
    Switches,
    write_atomically,
)
from clearinghouse_sandbox.validation import validate
from clearinghouse_sandbox.x12 import (
    ISA_LENGTH,
    Delimiters,
    EnvelopeError,
    Interchange,
    read_delimiters,
    read_interchange,
)

SANDBOX_NAME = "CLEARINGHOUSE SANDBOX"
REJECT_REASON = "Rejected by the sandbox: the patient control number matches the reject pattern"


@dataclass(frozen=True)
class PendingAcknowledgment:
    kind: str
    control_number: int
    text: str


def is_final_name(name: str) -> bool:
    """A name the gateway gives a finished upload (temporary names are ignored)."""
    return bool(name) and not (
        name.startswith(".") or name.endswith(".part") or name.endswith(".tmp")
    )


class Clearinghouse:
    """Decides the answer to an 837 and writes it. ``answer`` is synchronous (pyx12 is CPU
    bound); the sandbox runs it in a worker thread."""

    def __init__(
        self, outbound: Path, control_numbers: ControlNumbers, clock: Callable[[], datetime]
    ) -> None:
        self._outbound = outbound
        self._control_numbers = control_numbers
        self._clock = clock

    def answer(
        self, record: ReceivedFile, content: bytes, switches: Switches
    ) -> list[AcknowledgmentFile]:
        text = content.decode("utf-8", errors="replace").lstrip("\ufeff")
        pending: list[PendingAcknowledgment] = []
        now = self._clock()
        try:
            interchange = read_interchange(text)
        except EnvelopeError as error:
            record.outcome = "envelope_rejected"
            record.isa13 = _loose_isa13(text)
            pending.append(self._broken_envelope_ta1(text, error.note_code, now))
            return self._write_all(record, pending)
        record.isa13 = interchange.control_number
        record.gs06 = [s[6] for s in interchange.segments if s[0] == "GS" and len(s) > 6]
        addressing = _addressing(interchange)

        def ta1(accepted: bool, note_code: str) -> PendingAcknowledgment:
            number = self._control_numbers.next()
            return PendingAcknowledgment(
                "TA1",
                number,
                render_ta1(
                    delimiters=interchange.delimiters,
                    addressing=addressing,
                    control_number=number,
                    now=now,
                    acknowledged_control_number=interchange.control_number,
                    acknowledged_date=interchange.date,
                    acknowledged_time=interchange.time,
                    accepted=accepted,
                    note_code=note_code,
                ),
            )

        if not self._control_numbers.first_sighting(
            interchange.sender_id, interchange.control_number
        ):
            record.outcome = "envelope_rejected"
            pending.append(ta1(False, "025"))
            return self._write_all(record, pending)
        findings = validate(text)
        if findings.interchange_codes or not findings.groups:
            record.outcome = "envelope_rejected"
            pending.append(ta1(False, (findings.interchange_codes or ("024",))[0]))
            return self._write_all(record, pending)
        if interchange.acknowledgment_requested:
            pending.append(ta1(True, "000"))

        number = self._control_numbers.next()
        pending.append(
            PendingAcknowledgment(
                "999",
                number,
                render_999(
                    delimiters=interchange.delimiters,
                    addressing=addressing,
                    control_number=number,
                    now=now,
                    groups=list(findings.groups),
                ),
            )
        )
        accepted_sets = {
            (group.control_number, ts.control_number)
            for group in findings.groups
            if not group.codes
            for ts in group.transaction_sets
            if ts.accepted and ts.set_id == "837"
        }
        claim_sets = read_claim_sets(interchange.segments, interchange.delimiters)
        answered: list[tuple[ClaimTransactionSet, list[ClaimDecision]]] = []
        for claim_set in claim_sets:
            if (claim_set.group_control_number, claim_set.control_number) not in accepted_sets:
                record.claims += [
                    ClaimOutcome(c.patient_control_number, "999:R", claim_set.control_number)
                    for c in claim_set.claims
                ]
                continue
            decisions = [
                self._decide(interchange, claim_set, index, claim, switches)
                for index, claim in enumerate(claim_set.claims, start=1)
            ]
            answered.append((claim_set, decisions))
            record.claims += [
                ClaimOutcome(
                    d.claim.patient_control_number, str(d.status), claim_set.control_number
                )
                for d in decisions
            ]
        if answered:
            source = InformationSource("AY", SANDBOX_NAME, "46", interchange.receiver_id)
            pending.append(
                self._277ca(
                    "277CA",
                    interchange,
                    addressing,
                    now,
                    record.received_at,
                    [(claim_set, source, decisions) for claim_set, decisions in answered],
                )
            )
        if switches.payer_277ca:
            payer_sections = _payer_sections(answered)
            if payer_sections:
                pending.append(
                    self._277ca(
                        "277CA-PAYER",
                        interchange,
                        addressing,
                        now,
                        record.received_at,
                        payer_sections,
                    )
                )
                outcomes = {(o.transaction_set, o.patient_control_number): o for o in record.claims}
                for claim_set, _source, decisions in payer_sections:
                    for d in decisions:
                        key = (claim_set.control_number, d.claim.patient_control_number)
                        if key in outcomes:
                            outcomes[key].payer_status = str(d.status)
        record.outcome = "answered"
        return self._write_all(record, pending)

    def _decide(
        self,
        interchange: Interchange,
        claim_set: ClaimTransactionSet,
        index: int,
        claim: Claim,
        switches: Switches,
    ) -> ClaimDecision:
        trace = f"SBX{interchange.control_number}{claim_set.control_number}{index:05d}"
        if switches.rejects(claim.patient_control_number):
            return ClaimDecision(claim, ClaimStatus.REJECTED, REJECT_REASON, trace)
        # With a payer 277CA to follow, the sandbox only says "received, forwarded".
        status = ClaimStatus.RECEIVED if switches.payer_277ca else ClaimStatus.ACCEPTED
        return ClaimDecision(claim, status, None, trace)

    def _277ca(
        self,
        kind: str,
        interchange: Interchange,
        addressing: Addressing,
        now: datetime,
        received_at: datetime,
        sections: list[tuple[ClaimTransactionSet, InformationSource, list[ClaimDecision]]],
    ) -> PendingAcknowledgment:
        number = self._control_numbers.next()
        sender = interchange.sender_id
        return PendingAcknowledgment(
            kind,
            number,
            render_277ca(
                delimiters=interchange.delimiters,
                addressing=addressing,
                control_number=number,
                now=now,
                received_at=received_at,
                sections=sections,
                payer_claim_number=lambda claim: payer_claim_control_number(
                    sender, claim.patient_control_number
                ),
            ),
        )

    def _broken_envelope_ta1(
        self, text: str, note_code: str, now: datetime
    ) -> PendingAcknowledgment:
        try:
            delimiters = read_delimiters(text)
        except EnvelopeError:
            delimiters = Delimiters()
        isa = text[: ISA_LENGTH - 1].split(delimiters.element) if text.startswith("ISA") else []

        def field(index: int, default: str) -> str:
            value = isa[index].strip() if len(isa) > index else ""
            return value or default

        addressing = Addressing(
            sender_qualifier=_qualifier(field(7, "ZZ")),
            sender_id=field(8, "SANDBOX"),
            receiver_qualifier=_qualifier(field(5, "ZZ")),
            receiver_id=field(6, "UNKNOWN"),
            group_sender=field(8, "SANDBOX"),
            group_receiver=field(6, "UNKNOWN"),
            usage=field(15, "T") if field(15, "T") in ("T", "P") else "T",
        )
        date, time = field(9, ""), field(10, "")
        if not (len(date) == 6 and date.isdigit()):
            date = now.strftime("%y%m%d")
        if not (len(time) == 4 and time.isdigit()):
            time = now.strftime("%H%M")
        number = self._control_numbers.next()
        return PendingAcknowledgment(
            "TA1",
            number,
            render_ta1(
                delimiters=delimiters,
                addressing=addressing,
                control_number=number,
                now=now,
                acknowledged_control_number=_loose_isa13(text) or "000000000",
                acknowledged_date=date,
                acknowledged_time=time,
                accepted=False,
                note_code=note_code,
            ),
        )

    def _write_all(
        self, record: ReceivedFile, pending: list[PendingAcknowledgment]
    ) -> list[AcknowledgmentFile]:
        written: list[AcknowledgmentFile] = []
        self._outbound.mkdir(parents=True, exist_ok=True)
        for ack in pending:
            control = f"{ack.control_number:09d}"
            acknowledges = record.isa13 or "unknown"
            name = f"{ack.kind}_{acknowledges}_{control}.x12"
            content = ack.text.encode()
            write_atomically(self._outbound / name, content)
            written.append(
                AcknowledgmentFile(
                    name=name,
                    kind=ack.kind,
                    control_number=control,
                    acknowledges=acknowledges,
                    source_file=record.name,
                    sha256=hashlib.sha256(content).hexdigest(),
                    size=len(content),
                    written_at=datetime.now(UTC),
                )
            )
            record.acknowledgments.append(name)
            logs.event(
                "acknowledgment_written",
                file=name,
                kind=ack.kind,
                ack_isa13=control,
                acknowledges_isa13=acknowledges,
                source_file=record.name,
            )
        return written


def _payer_sections(
    answered: list[tuple[ClaimTransactionSet, list[ClaimDecision]]],
) -> list[tuple[ClaimTransactionSet, InformationSource, list[ClaimDecision]]]:
    """The payer's own 277CA: claims the sandbox passed on, grouped by payer, accepted."""
    sections: list[tuple[ClaimTransactionSet, InformationSource, list[ClaimDecision]]] = []
    for claim_set, decisions in answered:
        by_payer: dict[tuple[str, str], list[ClaimDecision]] = {}
        names: dict[tuple[str, str], str] = {}
        for decision in decisions:
            if decision.status.rejected:
                continue
            payer = decision.claim.payer
            key = (payer.id_qualifier or "PI", payer.identifier or "UNKNOWN")
            names.setdefault(key, payer.last_or_organization or "PAYER")
            by_payer.setdefault(key, []).append(
                ClaimDecision(decision.claim, ClaimStatus.ACCEPTED, None, decision.trace_number)
            )
        for (qualifier, identifier), payer_decisions in by_payer.items():
            source = InformationSource(
                "PR", names[(qualifier, identifier)], _payer_qualifier(qualifier), identifier
            )
            sections.append((claim_set, source, payer_decisions))
    return sections


def _payer_qualifier(qualifier: str) -> str:
    return qualifier if qualifier in ("46", "FI", "PI", "XV") else "PI"


def _qualifier(value: str) -> str:
    return value if len(value) == 2 else "ZZ"


def _addressing(interchange: Interchange) -> Addressing:
    gs = next((s for s in interchange.segments if s[0] == "GS"), [])
    return Addressing(
        sender_qualifier=interchange.receiver_qualifier,
        sender_id=interchange.receiver_id,
        receiver_qualifier=interchange.sender_qualifier,
        receiver_id=interchange.sender_id,
        group_sender=gs[3] if len(gs) > 3 else interchange.receiver_id,
        group_receiver=gs[2] if len(gs) > 2 else interchange.sender_id,
        usage=interchange.usage,
    )


def _loose_isa13(text: str) -> str | None:
    """ISA13 from a file whose envelope failed, if it can be found at its fixed place."""
    if not text.startswith("ISA") or len(text) < ISA_LENGTH:
        return None
    parts = text[: ISA_LENGTH - 1].split(text[3])
    if len(parts) > 13 and len(parts[13]) == 9 and parts[13].isdigit():
        return parts[13]
    return None
