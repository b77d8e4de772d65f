"""Inbound events of the claims service, translated into use-case commands."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from claims.domain.charges import AwaitedDay, ChargeOnFile, GroupContext
from claims.domain.claims import ClaimTransmission
from claims.domain.corrections import Acknowledgment, AcknowledgmentOutcome
from claims.domain.projections import (
    Admission,
    ClaimMember,
    Coverage,
    Discharge,
    Facility,
    Leave,
    Person,
    PostalAddress,
    Procedure,
    ProgramEnrollment,
    Provider,
    SourceStamp,
    StayContext,
    StayStamp,
    StayStatus,
)
from claims.service_layer.dependencies import ClaimsDependencies
from claims.service_layer.institutional_claims import (
    WithdrawalAnswer,
    apply_facility_upsert,
    apply_stay_charged,
    apply_stay_update,
    apply_withdrawal_answer,
)
from claims.service_layer.professional_claims import (
    apply_member_upsert,
    apply_provider_upsert,
    record_acknowledgment,
    record_charges,
    record_transmission,
)
from common.messaging import EventHandler, EventHandlers, HandlerContext
from contracts import address as contract_address
from contracts.events import (
    CHARGES_RECORDED_V1,
    EDI_CLAIM_ACCEPTED_V1,
    EDI_CLAIM_REJECTED_V1,
    EDI_CLAIM_TRANSMITTED_V1,
    EDI_CLAIM_WITHDRAWAL_ANSWERED_V1,
    FACILITY_UPSERTED_V1,
    MEMBER_UPSERTED_V1,
    PROVIDER_UPSERTED_V1,
    STAY_CHARGED_V1,
    STAYS_STAY_ADMITTED_V1,
    STAYS_STAY_CORRECTED_V1,
    STAYS_STAY_DISCHARGED_V1,
    STAYS_STAY_LEAVE_ENDED_V1,
    STAYS_STAY_LEAVE_STARTED_V1,
    Charge,
    ChargeKind,
    ChargeSourceKind,
    ChargesRecorded,
    CoverageSubscriber,
    EdiClaimAccepted,
    EdiClaimRejected,
    EdiClaimTransmitted,
    EdiClaimWithdrawalAnswered,
    FacilityUpserted,
    MemberUpserted,
    ProviderUpserted,
    StayCharged,
    StayState,
    WithdrawalOutcome,
    data_model_for,
)

M = TypeVar("M", bound=BaseModel)


def _data(ctx: HandlerContext, model: type[M]) -> M:
    if not isinstance(ctx.data, model):
        raise TypeError(f"{ctx.event.type} carries {type(ctx.data).__name__}")
    return ctx.data


def _stamp(ctx: HandlerContext) -> SourceStamp:
    return SourceStamp(time=ctx.event.time, event_id=ctx.event.id)


def _address(address: contract_address.PostalAddress) -> PostalAddress:
    return PostalAddress(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        state=address.state,
        postal_code=address.postal_code,
    )


def _subscriber(subscriber: CoverageSubscriber | None) -> Person | None:
    if subscriber is None:
        return None
    return Person(
        first_name=subscriber.first_name,
        last_name=subscriber.last_name,
        middle_name=subscriber.middle_name,
        birth_date=subscriber.birth_date,
        sex=subscriber.sex.value,
        address=None if subscriber.address is None else _address(subscriber.address),
    )


def _charge(charge: Charge) -> ChargeOnFile:
    group = charge.group
    return ChargeOnFile(
        charge_id=charge.charge_id,
        charge_version=charge.charge_version,
        status=charge.status.value,
        kind=charge.kind.value,
        filing_type=charge.filing_type.value,
        member_id=charge.member_id,
        program_id=charge.program_id,
        facility_id=charge.facility_id,
        date_of_service=charge.date_of_service,
        units=charge.units,
        amount=charge.amount,
        rate=charge.rate,
        payer_id=charge.payer_id,
        coverage_id=charge.coverage_id,
        procedure_code=charge.procedure_code,
        modifiers=tuple(charge.modifiers),
        revenue_code=charge.revenue_code,
        unit_basis=charge.unit_basis.value,
        rendering_provider_id=charge.rendering_provider_id,
        place_of_service=charge.place_of_service,
        session_id=group.session_id
        if group is not None
        else (charge.source.id if charge.source.kind is ChargeSourceKind.GROUP_SESSION else None),
        group=None
        if group is None
        else GroupContext(
            session_id=group.session_id,
            close_sequence=group.close_sequence,
            billable_count=group.billable_count,
            band_name=group.band_name,
            supervisors_present=tuple(group.supervisors_present),
            facility_state=group.facility_state,
            acknowledged_warnings=tuple(group.acknowledged_warnings),
        ),
        covered=charge.covered,
        # A day charge names its stay as its source (STAY; MANUAL ones name it too).
        stay_id=charge.source.id
        if charge.kind is ChargeKind.PER_DIEM
        and charge.source.kind is not ChargeSourceKind.GROUP_SESSION
        else None,
        stay_version=charge.source.sequence
        if charge.source.kind is ChargeSourceKind.STAY
        else None,
        issue_codes=tuple(issue.code for issue in charge.issues),
    )


def _member(data: MemberUpserted) -> ClaimMember:
    return ClaimMember(
        member_id=data.member_id,
        active=data.active,
        person=Person(
            first_name=data.first_name,
            last_name=data.last_name,
            middle_name=data.middle_name,
            birth_date=data.birth_date,
            sex=data.sex.value,
            address=None if data.address is None else _address(data.address),
        ),
        coverages=tuple(
            Coverage(
                coverage_id=c.coverage_id,
                payer_id=c.payer_id,
                subscriber_id=c.subscriber_id,
                relationship_to_subscriber=c.relationship_to_subscriber.value,
                is_primary=c.is_primary,
                effective_from=c.effective_from,
                effective_to=c.effective_to,
                group_number=c.group_number,
                subscriber=_subscriber(c.subscriber),
            )
            for c in data.coverages
        ),
        diagnoses=tuple(data.diagnoses),
        enrollments=tuple(
            ProgramEnrollment(e.program_id, e.enrolled_from, e.enrolled_to)
            for e in data.program_enrollments
        ),
    )


def _handlers(deps: ClaimsDependencies) -> dict[str, EventHandler]:
    """The handlers that need the tenant configuration or the code sets."""

    async def on_member_upserted(ctx: HandlerContext) -> None:
        member = _member(_data(ctx, MemberUpserted))
        await apply_member_upsert(ctx.uow, deps, ctx.tenant_id, member, _stamp(ctx))

    async def on_provider_upserted(ctx: HandlerContext) -> None:
        provider = _provider(_data(ctx, ProviderUpserted))
        await apply_provider_upsert(ctx.uow, deps, ctx.tenant_id, provider, _stamp(ctx))

    async def on_charges_recorded(ctx: HandlerContext) -> None:
        data = _data(ctx, ChargesRecorded)
        charges = [_charge(c) for c in data.charges]
        await record_charges(ctx.uow, deps, ctx.tenant_id, charges, ctx.event.id)

    async def on_stay_charged(ctx: HandlerContext) -> None:
        data = _data(ctx, StayCharged)
        changed = [
            AwaitedDay(d.charge_id, d.charge_version, d.date_of_service) for d in data.changed
        ]
        await apply_stay_charged(
            ctx.uow, deps, ctx.tenant_id, data.stay_id, data.stay_version, changed
        )

    async def on_stay_changed(ctx: HandlerContext) -> None:
        """Every stays.stay.* event carries the whole stay after the change; the newest
        ``stay_version`` is kept, whichever event type brought it, and its cycle claims
        are brought in line."""
        data = _data(ctx, StayState)
        stamp = StayStamp(data.stay_version, _stamp(ctx))
        await apply_stay_update(ctx.uow, deps, ctx.tenant_id, _stay(data), stamp)

    async def on_facility_upserted(ctx: HandlerContext) -> None:
        facility = _facility(_data(ctx, FacilityUpserted))
        await apply_facility_upsert(ctx.uow, deps, ctx.tenant_id, facility, _stamp(ctx))

    async def on_withdrawal_answered(ctx: HandlerContext) -> None:
        data = _data(ctx, EdiClaimWithdrawalAnswered)
        answer = WithdrawalAnswer(
            claim_id=data.claim_id,
            claim_version=data.claim_version,
            withdrawn=data.outcome is WithdrawalOutcome.WITHDRAWN,
            submission_status=data.submission_status,
        )
        await apply_withdrawal_answer(ctx.uow, deps, ctx.tenant_id, answer)

    return {
        MEMBER_UPSERTED_V1: on_member_upserted,
        PROVIDER_UPSERTED_V1: on_provider_upserted,
        CHARGES_RECORDED_V1: on_charges_recorded,
        STAY_CHARGED_V1: on_stay_charged,
        FACILITY_UPSERTED_V1: on_facility_upserted,
        EDI_CLAIM_WITHDRAWAL_ANSWERED_V1: on_withdrawal_answered,
        STAYS_STAY_ADMITTED_V1: on_stay_changed,
        STAYS_STAY_LEAVE_STARTED_V1: on_stay_changed,
        STAYS_STAY_LEAVE_ENDED_V1: on_stay_changed,
        STAYS_STAY_DISCHARGED_V1: on_stay_changed,
        STAYS_STAY_CORRECTED_V1: on_stay_changed,
    }


async def on_claim_transmitted(ctx: HandlerContext) -> None:
    data = _data(ctx, EdiClaimTransmitted)
    transmission = ClaimTransmission(
        claim_id=data.claim_id,
        claim_version=data.claim_version,
        patient_control_number=data.patient_control_number,
        clearinghouse_id=data.clearinghouse_id,
        interchange_control_number=data.interchange_control_number,
        group_control_number=data.group_control_number,
        transaction_set_control_number=data.transaction_set_control_number,
        file_name=data.file_name,
        file_sha256=data.file_sha256,
        transmitted_at=data.transmitted_at,
    )
    await record_transmission(ctx.uow, ctx.tenant_id, transmission)


def _acknowledgment(
    ctx: HandlerContext,
    data: EdiClaimAccepted | EdiClaimRejected,
    outcome: AcknowledgmentOutcome,
) -> Acknowledgment:
    return Acknowledgment(
        claim_id=data.claim_id,
        claim_version=data.claim_version,
        outcome=outcome,
        stage=data.stage.value,
        codes=tuple(data.codes),
        message=data.message,
        acknowledged_at=data.accepted_at
        if isinstance(data, EdiClaimAccepted)
        else data.rejected_at,
        event_id=ctx.event.id,
        party=None if data.party is None else data.party.value,
        payer_claim_control_number=data.payer_claim_control_number,
        clearinghouse_trace_number=data.clearinghouse_trace_number,
        status_date=data.status_date,
        acknowledgment_file_id=data.acknowledgment_file_id,
        lines=tuple(line.model_dump(mode="json") for line in data.lines),
    )


async def on_claim_accepted(ctx: HandlerContext) -> None:
    data = _data(ctx, EdiClaimAccepted)
    ack = _acknowledgment(ctx, data, AcknowledgmentOutcome.ACCEPTED)
    await record_acknowledgment(ctx.uow, ctx.tenant_id, ack)


async def on_claim_rejected(ctx: HandlerContext) -> None:
    data = _data(ctx, EdiClaimRejected)
    ack = _acknowledgment(ctx, data, AcknowledgmentOutcome.REJECTED)
    await record_acknowledgment(ctx.uow, ctx.tenant_id, ack)


def _provider(data: ProviderUpserted) -> Provider:
    return Provider(
        provider_id=data.provider_id,
        npi=data.npi,
        first_name=data.first_name,
        last_name=data.last_name,
        middle_name=data.middle_name,
        credential=data.credential,
        taxonomy_code=data.taxonomy_code,
        active=data.active,
    )


def _facility(data: FacilityUpserted) -> Facility:
    return Facility(
        facility_id=data.facility_id,
        name=data.name,
        npi=data.npi,
        tax_id=data.tax_id,
        address=_address(data.address),
        time_zone=data.time_zone,
        taxonomy_code=data.taxonomy_code,
        active=data.active,
    )


def _stay(data: StayState) -> StayContext:
    a = data.admission
    return StayContext(
        stay_id=data.stay_id,
        stay_version=data.stay_version,
        member_id=data.member_id,
        facility_id=data.facility_id,
        program_id=data.program_id,
        status=StayStatus(data.status.value),
        admission=Admission(
            admit_date=a.admit_date,
            admit_hour=a.admit_hour,
            admission_type=a.admission_type.value,
            admission_source=a.admission_source,
            principal_diagnosis=a.principal_diagnosis,
            admitting_diagnosis=a.admitting_diagnosis,
            other_diagnoses=tuple(a.other_diagnoses),
            drg=a.drg,
            procedures=tuple(Procedure(p.code, p.performed_on) for p in a.procedures),
        ),
        leaves=tuple(
            Leave(
                leave_id=leave.leave_id,
                start_date=leave.start_date,
                return_date=leave.return_date,
                reason=leave.reason.value,
            )
            for leave in data.leaves
        ),
        discharge=None
        if data.discharge is None
        else Discharge(
            discharge_date=data.discharge.discharge_date,
            discharge_hour=data.discharge.discharge_hour,
            patient_status=data.discharge.patient_status,
        ),
    )


SUBSCRIPTIONS: tuple[tuple[str, EventHandler], ...] = (
    (EDI_CLAIM_TRANSMITTED_V1, on_claim_transmitted),
    (EDI_CLAIM_ACCEPTED_V1, on_claim_accepted),
    (EDI_CLAIM_REJECTED_V1, on_claim_rejected),
)


def build_handlers(deps: ClaimsDependencies) -> EventHandlers:
    handlers = EventHandlers()
    for event_type, handler in (*SUBSCRIPTIONS, *_handlers(deps).items()):
        model = data_model_for(event_type)
        if model is None:
            raise LookupError(f"contracts has no data model for {event_type}")
        handlers.register(event_type, model, handler)
    return handlers
