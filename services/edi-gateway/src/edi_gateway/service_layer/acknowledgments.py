"""Acknowledgments in (SPEC 7, 9): every inbound file is archived, read, mapped back to
what we sent and applied, in one transaction with the events it causes.

- TA1 -> our interchange by ISA13; R rejects every claim in it (stage TA1).
- 999 -> our interchange by GS06 (AK102), the transaction set by ST02 (AK202); a set whose
  IK501 is R (or M/W/X) rejects its claims (stage 999); a group refused as a whole with
  no AK2 rejects all of the interchange's claims.
- 277CA -> the transmission by patient control number (several share one when a void or a
  replacement reuses it: the one whose total charge and service dates match, else the
  newest sent before the file arrived); lines by line control number. A1/A2 accept,
  A3/A6/A7/A8 reject (stage 277CA); others are recorded and change nothing.

A file is applied once per tenant and SHA-256. Per claim version a rejection wins over an
acceptance whatever the order (``settled_outcome``); every status is kept as an item, in
arrival order. An item that maps to nothing is kept UNMATCHED, listed, and tried again
on later polls (the transmission may show up)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from common.db import UnitOfWork, utcnow
from common.errors import DomainError
from common.leases import try_lock
from common.logging import get_logger
from common.telemetry import continuing
from common.tenants import TenantDirectory, TenantNotConfigured
from contracts.events import EDI_CLAIM_ACCEPTED_V1, EDI_CLAIM_REJECTED_V1
from contracts.events.edi import (
    AcknowledgingParty as EventParty,
)
from contracts.events.edi import (
    AcknowledgmentStage,
    EdiClaimAccepted,
    EdiClaimRejected,
    LineAcknowledgment,
)
from contracts.tenant import Clearinghouse, ConfigLookupError
from edi_gateway.adapters.db.acknowledgment_repository import (
    AcknowledgmentItemRecord,
    AcknowledgmentRecord,
    AcknowledgmentRepository,
    ClaimCandidate,
    TransmittedClaim,
)
from edi_gateway.adapters.db.repository import ArchivedFileRepository, ClaimSubmissionRepository
from edi_gateway.domain.acknowledgments import (
    TA1_NOTES,
    AcknowledgmentKind,
    AcknowledgmentStatus,
    AcknowledgmentUnreadable,
    ClaimOutcome,
    ClaimStatus,
    GroupAcknowledgment,
    InterchangeAcknowledgment,
    ItemEffect,
    ItemKind,
    MatchStatus,
    ParsedAcknowledgment,
    TransactionSetAcknowledgment,
    addressed_to,
    claim_status_effect,
    settled_outcome,
    status_from_counts,
)
from edi_gateway.service_layer.metrics import ACKNOWLEDGMENT_ITEMS, ACKNOWLEDGMENTS
from edi_gateway.service_layer.ports import AcknowledgmentSource
from edi_gateway.service_layer.retry import RetrySchedule, coded_error
from edi_gateway.service_layer.submissions import EVENT_NAMESPACE

log = get_logger(__name__)

ACKNOWLEDGMENT_LOCK: Final = "edi:acknowledgments"
INBOUND: Final = "INBOUND"
POLLED: Final = "POLLED"
MANUAL: Final = "MANUAL"


class AcknowledgmentReader(Protocol):
    def read(self, content: bytes) -> ParsedAcknowledgment: ...


class ClearinghouseNotConfigured(DomainError):
    """A hand upload names a clearinghouse the tenant does not have."""


@dataclass(frozen=True)
class ReceiveAcknowledgment:
    tenant_id: str
    clearinghouse_id: str
    file_name: str
    content: bytes
    source: str = POLLED


@dataclass(frozen=True)
class AcknowledgmentReceipt:
    acknowledgment: AcknowledgmentRecord
    items: list[AcknowledgmentItemRecord]
    duplicate: bool


def acknowledgment_id_of(tenant_id: str, sha256: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"acknowledgment/{tenant_id}/{sha256}"))


async def receive_acknowledgment(
    uow: UnitOfWork,
    reader: AcknowledgmentReader,
    command: ReceiveAcknowledgment,
    received_at: datetime | None = None,
) -> AcknowledgmentReceipt:
    """Archive, read and apply one inbound file in the caller's transaction (the caller
    commits). The same file again (tenant, SHA-256) answers the first one's result."""
    now = received_at or utcnow()
    repository = AcknowledgmentRepository(uow.session)
    sha256 = hashlib.sha256(command.content).hexdigest()
    acknowledgment_id = acknowledgment_id_of(command.tenant_id, sha256)
    file_id = str(uuid.uuid5(EVENT_NAMESPACE, f"inbound-file/{command.tenant_id}/{sha256}"))
    claimed = await repository.claim_file(
        tenant_id=command.tenant_id,
        acknowledgment_id=acknowledgment_id,
        clearinghouse_id=command.clearinghouse_id,
        file_id=file_id,
        file_name=command.file_name[:200],
        sha256=sha256,
        size_bytes=len(command.content),
        kind=AcknowledgmentKind.UNKNOWN.value,
        status=AcknowledgmentStatus.RECEIVED.value,
        source=command.source,
        received_at=now,
    )
    if not claimed:
        return await _receipt(repository, command.tenant_id, acknowledgment_id, duplicate=True)
    await ArchivedFileRepository(uow.session).add(
        tenant_id=command.tenant_id,
        file_id=file_id,
        direction=INBOUND,
        clearinghouse_id=command.clearinghouse_id,
        interchange_id=None,
        file_name=command.file_name[:200],
        sha256=sha256,
        content=command.content,
    )
    try:
        parsed = await asyncio.to_thread(reader.read, command.content)
    except AcknowledgmentUnreadable as exc:
        await repository.finish(
            command.tenant_id,
            acknowledgment_id,
            status=AcknowledgmentStatus.UNREADABLE.value,
            error_code=exc.code,
            error_detail=exc.message[:500],
        )
        ACKNOWLEDGMENTS.labels(
            AcknowledgmentKind.UNKNOWN.value, AcknowledgmentStatus.UNREADABLE.value
        ).inc()
        log.warning(
            "acknowledgment_unreadable",
            tenant_id=command.tenant_id,
            clearinghouse_id=command.clearinghouse_id,
            acknowledgment_id=acknowledgment_id,
            code=exc.code,
        )
        return await _receipt(repository, command.tenant_id, acknowledgment_id, duplicate=False)
    application = _Application(
        uow, command.tenant_id, command.clearinghouse_id, acknowledgment_id, file_id, sha256, now
    )
    await application.apply(parsed, sent_before=now)
    await _finish(repository, command.tenant_id, acknowledgment_id, parsed, application)
    receipt = await _receipt(repository, command.tenant_id, acknowledgment_id, duplicate=False)
    _count(receipt)
    log.info(
        "acknowledgment_applied",
        tenant_id=command.tenant_id,
        clearinghouse_id=command.clearinghouse_id,
        acknowledgment_id=acknowledgment_id,
        kind=receipt.acknowledgment.kind,
        status=receipt.acknowledgment.status,
        items=receipt.acknowledgment.item_count,
        unmatched=receipt.acknowledgment.unmatched_count,
    )
    return receipt


def _count(receipt: AcknowledgmentReceipt) -> None:
    ACKNOWLEDGMENTS.labels(receipt.acknowledgment.kind, receipt.acknowledgment.status).inc()
    for item in receipt.items:
        ACKNOWLEDGMENT_ITEMS.labels(item.item_kind, item.outcome).inc()


async def retry_unmatched(
    uow: UnitOfWork, reader: AcknowledgmentReader, tenant_id: str, acknowledgment_id: str
) -> AcknowledgmentReceipt | None:
    """Map the acknowledgment's UNMATCHED items again (what they name may exist now)."""
    repository = AcknowledgmentRepository(uow.session)
    record = await repository.get(tenant_id, acknowledgment_id)
    if record is None or record.status == AcknowledgmentStatus.UNREADABLE:
        return None
    archived = await ArchivedFileRepository(uow.session).get(tenant_id, record.file_id)
    if archived is None or archived.content is None:
        return None
    parsed = await asyncio.to_thread(reader.read, archived.content)
    unmatched = {
        item.position
        for item in await repository.items(tenant_id, acknowledgment_id)
        if item.match_status == MatchStatus.UNMATCHED
    }
    application = _Application(
        uow,
        tenant_id,
        record.clearinghouse_id,
        acknowledgment_id,
        record.file_id,
        record.sha256,
        utcnow(),
        only=unmatched,
    )
    await application.apply(parsed, sent_before=None)
    await _finish(repository, tenant_id, acknowledgment_id, parsed, application)
    return await _receipt(repository, tenant_id, acknowledgment_id, duplicate=False)


async def _finish(
    repository: AcknowledgmentRepository,
    tenant_id: str,
    acknowledgment_id: str,
    parsed: ParsedAcknowledgment,
    application: _Application,
) -> None:
    items, unmatched = await repository.recount(tenant_id, acknowledgment_id)
    await repository.finish(
        tenant_id,
        acknowledgment_id,
        kind=parsed.kind.value,
        status=status_from_counts(items, unmatched).value,
        sender_id=parsed.envelope.sender_id[:15],
        control_number=parsed.envelope.control_number[:9],
        validation_issues=list(parsed.validation_issues),
        item_count=items,
        unmatched_count=unmatched,
    )
    if len(application.interchanges) == 1:
        (interchange_id,) = application.interchanges
        await repository.link_file_to_interchange(tenant_id, application.file_id, interchange_id)


async def _receipt(
    repository: AcknowledgmentRepository, tenant_id: str, acknowledgment_id: str, *, duplicate: bool
) -> AcknowledgmentReceipt:
    record = await repository.get(tenant_id, acknowledgment_id)
    assert record is not None
    items = await repository.items(tenant_id, acknowledgment_id)
    return AcknowledgmentReceipt(acknowledgment=record, items=items, duplicate=duplicate)


def choose_transmission(
    candidates: Sequence[ClaimCandidate], claim: ClaimStatus, sent_before: datetime | None
) -> ClaimCandidate | None:
    """The transmission a 277CA claim means: among those sent (before the file arrived),
    the ones whose total charge and service dates match, else all; the newest of them."""
    sent = [
        c
        for c in candidates
        if c.sent_at is not None and (sent_before is None or c.sent_at <= sent_before)
    ]
    if not sent:
        return None

    def fits(candidate: ClaimCandidate) -> bool:
        charge, first = claim.total_charge, claim.service_date_from
        last = claim.service_date_to or first
        charge_fits = charge is None or candidate.total_charge == charge
        dates_fit = first is None or (candidate.service_from, candidate.service_to) == (first, last)
        return charge_fits and dates_fit

    pool = [c for c in sent if fits(c)] or sent
    return max(pool, key=lambda c: (c.sent_at or c.created_at, c.created_at))


_PARTY = {
    "PAYER": EventParty.PAYER,
    "CLEARINGHOUSE": EventParty.CLEARINGHOUSE,
    "OTHER": EventParty.OTHER,
}


class _Application:
    """Applies one parsed acknowledgment's items, numbering them in file order."""

    def __init__(
        self,
        uow: UnitOfWork,
        tenant_id: str,
        clearinghouse_id: str,
        acknowledgment_id: str,
        file_id: str,
        sha256: str,
        now: datetime,
        only: set[int] | None = None,
    ) -> None:
        self.uow = uow
        self.repository = AcknowledgmentRepository(uow.session)
        self.tenant_id = tenant_id
        self.clearinghouse_id = clearinghouse_id
        self.acknowledgment_id = acknowledgment_id
        self.file_id = file_id
        self.sha256 = sha256
        self.now = now
        self.only = only
        self.interchanges: set[str] = set()
        # A 277CA's claims, read for all of them at once (#10): their transmissions by
        # patient control number, and the trace each chosen one continues.
        self._candidates: dict[str, list[ClaimCandidate]] = {}
        self._traceparents: dict[tuple[str, int], str] = {}
        self._traced: set[tuple[str, int]] = set()

    async def apply(self, parsed: ParsedAcknowledgment, sent_before: datetime | None) -> None:
        position = 0
        for ta1 in parsed.interchange_acknowledgments:
            position += 1
            if self._wanted(position):
                await self._ta1(position, ta1)
        for group in parsed.group_acknowledgments:
            position += 1
            group_position = position
            sets = []
            for transaction_set in group.transaction_sets:
                position += 1
                sets.append((position, transaction_set))
            interchange_id = await self.repository.interchange_by(
                self.tenant_id, self.clearinghouse_id, gs06=group.gs06
            )
            if self._wanted(group_position):
                await self._group(group_position, group, interchange_id)
            for set_position, transaction_set in sets:
                if self._wanted(set_position):
                    await self._set(set_position, group, transaction_set, interchange_id)
        claims = []
        for claim in parsed.claim_statuses:
            position += 1
            if self._wanted(position):
                claims.append((position, claim))
        await self._read_claims([claim for _, claim in claims], sent_before)
        for claim_position, claim in claims:
            await self._claim(claim_position, claim, parsed, sent_before)

    async def _read_claims(
        self, claims: Sequence[ClaimStatus], sent_before: datetime | None
    ) -> None:
        """What the claims of a 277CA are matched with, in two statements for the file:
        their candidate transmissions (which applying the file does not change) and the
        traces of the ones they mean."""
        if not claims:
            return
        self._candidates = await self.repository.claim_candidates_of(
            self.tenant_id, self.clearinghouse_id, [c.patient_control_number for c in claims]
        )
        chosen = [
            choose_transmission(self._candidates.get(c.patient_control_number, []), c, sent_before)
            for c in claims
        ]
        self._traced = {(c.claim_id, c.claim_version) for c in chosen if c}
        self._traceparents = await ClaimSubmissionRepository(self.uow.session).traceparents(
            self.tenant_id, sorted(self._traced)
        )

    def _wanted(self, position: int) -> bool:
        return self.only is None or position in self.only

    # ------------------------------------------------------------------ TA1

    async def _ta1(self, position: int, ta1: InterchangeAcknowledgment) -> None:
        interchange_id = await self.repository.interchange_by(
            self.tenant_id, self.clearinghouse_id, isa13=ta1.isa13
        )
        claims: list[TransmittedClaim] = []
        note = TA1_NOTES.get(ta1.note_code, f"note {ta1.note_code}")
        message = f"interchange {ta1.isa13:09d}: TA1 {ta1.code or '?'} ({note})"
        codes = [f"TA104:{ta1.code}", f"TA105:{ta1.note_code}"]
        if interchange_id is not None:
            self.interchanges.add(interchange_id)
            await self.repository.record_interchange(
                self.tenant_id,
                interchange_id,
                ta1_status=ta1.code[:1] or None,
                ta1_note_code=ta1.note_code[:3] or None,
            )
            claims = await self.repository.transmitted_claims(self.tenant_id, interchange_id)
            for claim in claims:
                state = await self._lock(claim.interchange_id, claim.claim_id, claim.claim_version)
                values: dict[str, Any] = {"ta1_status": ta1.code[:1] or None}
                if ta1.outcome is ClaimOutcome.REJECTED:
                    values["ack_status"] = settled_outcome(state.ack_status, ClaimOutcome.REJECTED)
                await self.repository.update_transmission(self.tenant_id, state, **values)
                if ta1.outcome is ClaimOutcome.REJECTED:
                    await self._publish_rejected(
                        position,
                        claim,
                        AcknowledgmentStage.TA1,
                        codes,
                        f"rejected with its {message}",
                        party=EventParty.CLEARINGHOUSE,
                    )
        await self._save(
            position,
            ItemKind.TA1,
            matched=interchange_id is not None,
            effect=_told(ta1.outcome is ClaimOutcome.REJECTED and bool(claims)),
            outcome=ta1.outcome,
            code=ta1.code,
            codes=codes,
            message=message,
            isa13=ta1.isa13,
            interchange_id=interchange_id,
            claims=claims,
        )

    # ------------------------------------------------------------------ 999

    async def _group(
        self, position: int, group: GroupAcknowledgment, interchange_id: str | None
    ) -> None:
        claims: list[TransmittedClaim] = []
        refused_whole = group.code in ("R", "M", "W", "X") and not group.transaction_sets
        outcome = ClaimOutcome.REJECTED if refused_whole else ClaimOutcome.INFORMATIONAL
        message = f"functional group {group.gs06}: 999 AK9 {group.code or '?'}"
        if interchange_id is not None:
            self.interchanges.add(interchange_id)
            await self.repository.record_interchange(
                self.tenant_id,
                interchange_id,
                ack_999_status=group.code[:1] or None,
                ack_999_codes=group.codes(),
            )
            if refused_whole:
                claims = await self.repository.transmitted_claims(self.tenant_id, interchange_id)
                for claim in claims:
                    await self._reject_by_999(position, claim, group.code, group.codes(), message)
        await self._save(
            position,
            ItemKind.GROUP_999,
            matched=interchange_id is not None,
            effect=_told(refused_whole and bool(claims)),
            outcome=outcome,
            code=group.code,
            codes=group.codes(),
            message=message,
            gs06=group.gs06,
            interchange_id=interchange_id,
            claims=claims,
        )

    async def _set(
        self,
        position: int,
        group: GroupAcknowledgment,
        transaction_set: TransactionSetAcknowledgment,
        interchange_id: str | None,
    ) -> None:
        claims: list[TransmittedClaim] = []
        if interchange_id is not None:
            claims = await self.repository.transmitted_claims(
                self.tenant_id, interchange_id, transaction_set.st02
            )
        codes = transaction_set.codes()
        message = transaction_set.message()
        for claim in claims:
            if transaction_set.outcome is ClaimOutcome.REJECTED:
                await self._reject_by_999(position, claim, transaction_set.code, codes, message)
            else:
                state = await self._lock(claim.interchange_id, claim.claim_id, claim.claim_version)
                await self.repository.update_transmission(
                    self.tenant_id,
                    state,
                    ack_999_status=transaction_set.code[:1] or None,
                    ack_999_codes=codes,
                )
        await self._save(
            position,
            ItemKind.SET_999,
            matched=bool(claims),
            effect=_told(transaction_set.outcome is ClaimOutcome.REJECTED and bool(claims)),
            outcome=transaction_set.outcome,
            code=transaction_set.code,
            codes=codes,
            message=message,
            gs06=group.gs06,
            st02=transaction_set.st02,
            interchange_id=interchange_id if claims else None,
            claims=claims,
        )

    async def _reject_by_999(
        self, position: int, claim: TransmittedClaim, code: str, codes: list[str], message: str
    ) -> None:
        state = await self._lock(claim.interchange_id, claim.claim_id, claim.claim_version)
        await self.repository.update_transmission(
            self.tenant_id,
            state,
            ack_999_status=code[:1] or None,
            ack_999_codes=codes,
            ack_status=settled_outcome(state.ack_status, ClaimOutcome.REJECTED),
        )
        await self._publish_rejected(
            position,
            claim,
            AcknowledgmentStage.ACK_999,
            codes,
            message,
            party=EventParty.CLEARINGHOUSE,
        )

    # ------------------------------------------------------------------ 277CA

    async def _claim(
        self,
        position: int,
        claim: ClaimStatus,
        parsed: ParsedAcknowledgment,
        sent_before: datetime | None,
    ) -> None:
        candidates = self._candidates.get(claim.patient_control_number, [])
        chosen = choose_transmission(candidates, claim, sent_before)
        outcome = claim.outcome
        known_lines = set(chosen.line_control_numbers) if chosen else set()
        lines = [
            {
                "line_control_number": line.line_control_number,
                "outcome": line.outcome.value,
                "codes": [str(s) for s in line.statuses],
                "message": line.message,
                "matched": line.line_control_number in known_lines,
            }
            for line in claim.lines
        ]
        codes = claim.codes()
        message = claim.message
        claims: list[TransmittedClaim] = []
        effect = ItemEffect.RECORDED
        if chosen is not None:
            self.interchanges.add(chosen.interchange_id)
            transmitted = TransmittedClaim(
                interchange_id=chosen.interchange_id,
                claim_id=chosen.claim_id,
                claim_version=chosen.claim_version,
                patient_control_number=chosen.patient_control_number,
                st02=0,
            )
            claims = [transmitted]
            state = await self._lock(chosen.interchange_id, chosen.claim_id, chosen.claim_version)
            effect = claim_status_effect(state.ack_status, outcome)
            values: dict[str, Any] = {
                "claim_ack_status": settled_outcome(state.claim_ack_status, outcome),
                "claim_ack_codes": codes,
            }
            if outcome is not ClaimOutcome.INFORMATIONAL:
                values["ack_status"] = settled_outcome(state.ack_status, outcome)
            if claim.payer_claim_control_number:
                values["payer_claim_control_number"] = claim.payer_claim_control_number[:50]
            if claim.clearinghouse_trace_number:
                values["clearinghouse_trace_number"] = claim.clearinghouse_trace_number[:50]
            await self.repository.update_transmission(self.tenant_id, state, **values)
            event_lines = [
                LineAcknowledgment(
                    line_control_number=line.line_control_number[:50],
                    accepted=line.outcome is not ClaimOutcome.REJECTED,
                    codes=[str(s) for s in line.statuses],
                    message=(line.message or None) and (line.message or "")[:500],
                )
                for line in claim.lines
                if line.line_control_number
            ]
            common: dict[str, Any] = {
                "claim_id": chosen.claim_id,
                "claim_version": chosen.claim_version,
                "patient_control_number": chosen.patient_control_number,
                "stage": AcknowledgmentStage.ACK_277CA,
                "codes": codes,
                "party": _PARTY[claim.party.value],
                "payer_claim_control_number": (claim.payer_claim_control_number or None)
                and claim.payer_claim_control_number[:50],
                "clearinghouse_trace_number": (claim.clearinghouse_trace_number or None)
                and claim.clearinghouse_trace_number[:50],
                "status_date": claim.status_date,
                "acknowledgment_file_id": self.file_id,
                "lines": event_lines,
            }
            if effect is ItemEffect.ANNOUNCED and outcome is ClaimOutcome.REJECTED:
                await self._announce(
                    chosen.claim_id,
                    chosen.claim_version,
                    type=EDI_CLAIM_REJECTED_V1,
                    subject=chosen.claim_id,
                    event_id=self._event_id(position, transmitted),
                    data=EdiClaimRejected(
                        **common,
                        message=(message or f"rejected by the 277CA ({', '.join(codes)})")[:2000],
                        rejected_at=self.now,
                    ),
                )
            elif effect is ItemEffect.ANNOUNCED:
                # Not after a rejection: that one wins, the acceptance is recorded, not told.
                await self._announce(
                    chosen.claim_id,
                    chosen.claim_version,
                    type=EDI_CLAIM_ACCEPTED_V1,
                    subject=chosen.claim_id,
                    event_id=self._event_id(position, transmitted),
                    data=EdiClaimAccepted(
                        **common,
                        message=message[:2000] if message else None,
                        accepted_at=self.now,
                    ),
                )
        await self._save(
            position,
            ItemKind.CLAIM_277CA,
            matched=chosen is not None,
            effect=effect,
            outcome=outcome,
            code=claim.statuses[0].category if claim.statuses else None,
            codes=codes,
            message=message,
            party=claim.party.value,
            patient_control_number=claim.patient_control_number[:50],
            payer_claim_control_number=(claim.payer_claim_control_number or None)
            and claim.payer_claim_control_number[:50],
            clearinghouse_trace_number=(claim.clearinghouse_trace_number or None)
            and claim.clearinghouse_trace_number[:50],
            status_date=claim.status_date,
            interchange_id=chosen.interchange_id if chosen else None,
            claims=claims,
            lines=lines,
        )

    # ------------------------------------------------------------------ common

    async def _lock(self, interchange_id: str, claim_id: str, claim_version: int) -> Any:
        return await self.repository.lock_transmission(
            self.tenant_id, interchange_id, claim_id, claim_version
        )

    def _event_id(self, position: int, claim: TransmittedClaim) -> str:
        return str(
            uuid.uuid5(
                EVENT_NAMESPACE,
                f"acknowledged/{self.tenant_id}/{self.sha256}/{position}"
                f"/{claim.claim_id}/{claim.claim_version}/{claim.interchange_id}",
            )
        )

    async def _announce(self, claim_id: str, claim_version: int, **event: Any) -> None:
        """Publish an event about the claim in a span continuing the claim's own trace
        (stored with its submission): the poller runs outside any consumer span."""
        traceparents = self._traceparents
        if (claim_id, claim_version) not in self._traced:
            traceparents = await ClaimSubmissionRepository(self.uow.session).traceparents(
                self.tenant_id, [(claim_id, claim_version)]
            )
        with continuing(
            traceparents.get((claim_id, claim_version)),
            "edi.acknowledgment.apply",
            tenant_id=self.tenant_id,
            claim_id=claim_id,
            acknowledgment_file_id=self.file_id,
        ):
            self.uow.publish(tenant_id=self.tenant_id, **event)

    async def _publish_rejected(
        self,
        position: int,
        claim: TransmittedClaim,
        stage: AcknowledgmentStage,
        codes: list[str],
        message: str,
        *,
        party: EventParty,
    ) -> None:
        await self._announce(
            claim.claim_id,
            claim.claim_version,
            type=EDI_CLAIM_REJECTED_V1,
            subject=claim.claim_id,
            event_id=self._event_id(position, claim),
            data=EdiClaimRejected(
                claim_id=claim.claim_id,
                claim_version=claim.claim_version,
                patient_control_number=claim.patient_control_number,
                stage=stage,
                codes=codes,
                party=party,
                acknowledgment_file_id=self.file_id,
                message=message[:2000],
                rejected_at=self.now,
            ),
        )

    async def _save(
        self,
        position: int,
        kind: ItemKind,
        *,
        matched: bool,
        effect: ItemEffect,
        outcome: ClaimOutcome,
        code: str | None,
        codes: list[str],
        message: str | None,
        claims: Sequence[TransmittedClaim],
        lines: list[dict[str, Any]] | None = None,
        **references: Any,
    ) -> None:
        await self.repository.save_item(
            self.tenant_id,
            acknowledgment_id=self.acknowledgment_id,
            clearinghouse_id=self.clearinghouse_id,
            position=position,
            item_kind=kind.value,
            match_status=(MatchStatus.MATCHED if matched else MatchStatus.UNMATCHED).value,
            effect=effect.value,
            outcome=outcome.value,
            code=(code or None) and code[:16],
            codes=codes,
            message=message,
            claims=[
                {
                    "claim_id": c.claim_id,
                    "claim_version": c.claim_version,
                    "interchange_id": c.interchange_id,
                }
                for c in claims
            ],
            lines=lines or [],
            matched_at=self.now if matched else None,
            **{
                "isa13": None,
                "gs06": None,
                "st02": None,
                "party": None,
                "patient_control_number": None,
                "payer_claim_control_number": None,
                "clearinghouse_trace_number": None,
                "status_date": None,
                "interchange_id": None,
                **references,
            },
        )


def _told(announced: bool) -> ItemEffect:
    return ItemEffect.ANNOUNCED if announced else ItemEffect.RECORDED


# --------------------------------------------------------------------------- hand uploads


@dataclass(frozen=True)
class UploadAcknowledgment:
    tenant_id: str
    subject: str
    clearinghouse_id: str
    reason: str
    content: bytes


async def upload_acknowledgment(
    uow: UnitOfWork,
    reader: AcknowledgmentReader,
    tenants: TenantDirectory,
    command: UploadAcknowledgment,
) -> AcknowledgmentReceipt:
    """An operator's upload: applied like a polled file, audited (who, when, which
    clearinghouse and file, why) in the same transaction; the caller commits."""
    try:
        tenants.get(command.tenant_id).clearinghouse(command.clearinghouse_id)
    except (ConfigLookupError, TenantNotConfigured) as exc:
        raise ClearinghouseNotConfigured(
            "CLEARINGHOUSE_NOT_CONFIGURED", "the tenant has no such clearinghouse"
        ) from exc
    sha256 = hashlib.sha256(command.content).hexdigest()
    receipt = await receive_acknowledgment(
        uow,
        reader,
        ReceiveAcknowledgment(
            tenant_id=command.tenant_id,
            clearinghouse_id=command.clearinghouse_id,
            file_name=f"manual_{command.clearinghouse_id}_{sha256[:16]}.x12",
            content=command.content,
            source=MANUAL,
        ),
    )
    await AcknowledgmentRepository(uow.session).audit_manual_upload(
        tenant_id=command.tenant_id,
        subject=command.subject[:200],
        clearinghouse_id=command.clearinghouse_id,
        acknowledgment_id=receipt.acknowledgment.acknowledgment_id,
        file_id=receipt.acknowledgment.file_id,
        sha256=sha256,
        reason=command.reason,
        duplicate=receipt.duplicate,
    )
    log.info(
        "acknowledgment_uploaded_by_hand",
        tenant_id=command.tenant_id,
        subject=command.subject,
        clearinghouse_id=command.clearinghouse_id,
        acknowledgment_id=receipt.acknowledgment.acknowledgment_id,
        file_id=receipt.acknowledgment.file_id,
        duplicate=receipt.duplicate,
    )
    return receipt


# --------------------------------------------------------------------------- polling


class AcknowledgmentPoller:
    """Per tenant and clearinghouse, reads new files from the source of its transport
    kind, applies each in its own transaction, then marks it processed. One replica at a
    time (``try_lock(ACKNOWLEDGMENT_LOCK)`` in each transaction).

    A clearinghouse whose folder cannot be read (``SFTP_UNREACHABLE``,
    ``SFTP_HOST_KEY_MISMATCH`` ...) is asked again with back-off, as the batcher retries
    a delivery. Items that matched nothing are mapped again only when an interchange was
    recorded or sent since the last try: nothing else can make them match."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        tenants: TenantDirectory,
        sources: Mapping[str, AcknowledgmentSource],
        reader: AcknowledgmentReader,
        clock: Callable[[], datetime] = utcnow,
        retry_batch: int = 20,
        retries: RetrySchedule | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._tenants = tenants
        self._sources = dict(sources)
        self._reader = reader
        self._clock = clock
        self._retry_batch = retry_batch
        self._retries = retries or RetrySchedule(60.0)
        self._rematched_at: tuple[int, int] | None = None

    async def run(self, poll_seconds: float) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # No traceback: its text may quote an acknowledgment (patient names).
                log.error("acknowledgment_poll_failed", error_type=type(exc).__name__)
            await asyncio.sleep(poll_seconds)

    async def tick(self) -> list[AcknowledgmentReceipt]:
        # Read before the files are applied: an interchange sent while they are moves it
        # again, and the next tick maps their unmatched items once more.
        async with self._uow() as uow:
            watermark = await AcknowledgmentRepository(uow.session).matching_watermark()
        receipts: list[AcknowledgmentReceipt] = []
        for tenant_id in self._tenants.tenant_ids:
            for clearinghouse in self._tenants.get(tenant_id).clearinghouses:
                found = await self.poll(tenant_id, clearinghouse)
                if found is None:
                    return receipts  # another replica is at it
                receipts.extend(found)
        if watermark != self._rematched_at and await self.retry_unmatched():
            self._rematched_at = watermark
        return receipts

    async def poll(
        self, tenant_id: str, clearinghouse: Clearinghouse
    ) -> list[AcknowledgmentReceipt] | None:
        source = self._sources.get(clearinghouse.transport.kind)
        key = (tenant_id, clearinghouse.id)
        if source is None or not self._retries.due(key):
            return []
        try:
            files = await source.list_new(clearinghouse)
        except Exception as exc:
            self._failed(key, "acknowledgment_listing_failed", exc)
            return []
        receipts = []
        others = self._senders_of_others(tenant_id, clearinghouse)
        for inbound in files:
            addressee = addressed_to(inbound.content)
            if addressee is not None and addressee in others:
                # Tenants sharing one clearinghouse account share its outbound folder: an
                # answer to another tenant's interchanges is that tenant's to apply.
                # No file name: the clearinghouse names its files, not us (PHI-safe ids only).
                log.debug(
                    "acknowledgment_left_for_its_tenant",
                    tenant_id=tenant_id,
                    clearinghouse_id=clearinghouse.id,
                )
                continue
            async with self._uow() as uow:
                if not await try_lock(uow.session, ACKNOWLEDGMENT_LOCK):
                    return None
                receipt = await receive_acknowledgment(
                    uow,
                    self._reader,
                    ReceiveAcknowledgment(
                        tenant_id=tenant_id,
                        clearinghouse_id=clearinghouse.id,
                        file_name=inbound.name,
                        content=inbound.content,
                    ),
                    received_at=self._clock(),
                )
                await uow.commit()
            receipts.append(receipt)
            try:
                await source.mark_processed(clearinghouse, inbound.name)
            except Exception as exc:
                # Applied and committed: read again later, it is a duplicate then.
                self._failed(key, "acknowledgment_marking_failed", exc)
                return receipts
        self._retries.succeeded(key)
        return receipts

    def _senders_of_others(self, tenant_id: str, clearinghouse: Clearinghouse) -> set[str]:
        """Interchange sender ids (ISA06) other tenants send as and this tenant does not
        send as to this clearinghouse: files addressed to them are not ours. A file
        addressed to an id nobody configures is applied here, so it is kept (unmatched)
        and listed, never left unread."""
        others = {
            other.sender.id
            for other_tenant in self._tenants.tenant_ids
            if other_tenant != tenant_id
            for other in self._tenants.get(other_tenant).clearinghouses
        }
        return others - {clearinghouse.sender.id}

    def _failed(self, key: tuple[str, str], event: str, exc: Exception) -> None:
        delay = self._retries.failed(key)
        code, message = coded_error(exc, "ACKNOWLEDGMENT_SOURCE_FAILED")
        log.error(
            event,
            tenant_id=key[0],
            clearinghouse_id=key[1],
            error_type=type(exc).__name__,
            error_code=code,
            error_message=message,
            retry_in_seconds=delay,
        )

    async def retry_unmatched(self) -> bool:
        """Map every acknowledgment's unmatched items again, ``retry_batch`` files at a
        time; False when another replica holds the lock (the rest waits for a later try)."""
        after: tuple[str, str] | None = None
        while True:
            async with self._uow() as uow:
                pending = await AcknowledgmentRepository(
                    uow.session
                ).acknowledgments_with_unmatched_items(self._retry_batch, after)
            for tenant_id, acknowledgment_id in pending:
                async with self._uow() as uow:
                    if not await try_lock(uow.session, ACKNOWLEDGMENT_LOCK):
                        return False
                    await retry_unmatched(uow, self._reader, tenant_id, acknowledgment_id)
                    await uow.commit()
            if len(pending) < self._retry_batch:
                return True
            after = pending[-1]


# --------------------------------------------------------------------------- reading


async def list_acknowledgments(
    uow_session: Any, tenant_id: str, **filters: Any
) -> list[AcknowledgmentRecord]:
    return await AcknowledgmentRepository(uow_session).search(tenant_id, **filters)


async def acknowledgment_detail(
    session: Any, tenant_id: str, acknowledgment_id: str
) -> AcknowledgmentReceipt | None:
    repository = AcknowledgmentRepository(session)
    record = await repository.get(tenant_id, acknowledgment_id)
    if record is None:
        return None
    items = await repository.items(tenant_id, acknowledgment_id)
    return AcknowledgmentReceipt(acknowledgment=record, items=items, duplicate=False)
