"""The claims service's integration events, translated at the edge from claim versions
(STYLE: domain objects in, contract models out)."""

from __future__ import annotations

from collections.abc import Sequence

from claims.domain.claims import (
    Address,
    ClaimLine,
    ClaimStatus,
    PersonParty,
    ProfessionalClaim,
    ProfessionalClaimContent,
)
from claims.domain.institutional import CycleClaim, InstitutionalClaimContent, InstitutionalLine
from contracts import address as contract_address
from contracts.events import claims as contract
from contracts.events.claims import ClaimSource, ClaimStatusChanged, ClaimSubmitted


def _address(address: Address | None) -> contract_address.PostalAddress | None:
    if address is None:
        return None
    return contract_address.PostalAddress(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        state=address.state,
        postal_code=address.postal_code,
    )


def _person(person: PersonParty) -> dict[str, object]:
    return {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "middle_name": person.middle_name,
        "birth_date": person.birth_date,
        "sex": person.sex,
        "address": _address(person.address),
    }


def _line(line: ClaimLine) -> contract.ProfessionalLine:
    rendering = line.rendering_provider
    return contract.ProfessionalLine(
        line_number=line.line_number,
        line_control_number=line.line_control_number,
        procedure_code=line.procedure_code or "",
        modifiers=list(line.modifiers),
        amount=line.amount,
        units=line.units,
        unit_basis=line.unit_basis,
        date_of_service=line.date_of_service,
        place_of_service=line.place_of_service,
        diagnosis_pointers=list(line.diagnosis_pointers),
        rendering_provider=None
        if rendering is None
        else contract.ProviderParty(
            provider_id=rendering.provider_id,
            npi=rendering.npi,
            first_name=rendering.first_name,
            last_name=rendering.last_name,
            middle_name=rendering.middle_name,
            taxonomy_code=rendering.taxonomy_code,
        ),
        charge_ids=[line.charge_id],
    )


def claim_submitted(
    claim: ProfessionalClaim,
    content: ProfessionalClaimContent,
    clearinghouse_id: str,
    *,
    frequency_code: str | None = None,
    original_reference: str | None = None,
) -> ClaimSubmitted:
    """The claim version as the gateway renders it: an original (CLM05-3 1) unless
    ``frequency_code`` says 7 (replacement) or 8 (void) with the original's reference
    (REF*F8). Raises ``pydantic.ValidationError`` when the content cannot make a valid
    claim message (the build checks this first)."""
    billing = content.billing_provider
    if content.payer is None or content.subscriber is None:
        raise ValueError("a claim without a payer or a subscriber cannot be submitted")
    payer = content.payer
    subscriber = content.subscriber
    patient = content.patient
    billing_address = _address(billing.address)
    assert billing_address is not None
    return ClaimSubmitted(
        claim_id=claim.claim_id,
        claim_version=claim.version,
        transaction_type=contract.TransactionType.PROFESSIONAL,
        clearinghouse_id=clearinghouse_id,
        patient_control_number=claim.patient_control_number,
        frequency_code=contract.FrequencyCode(frequency_code or contract.FrequencyCode.ORIGINAL),
        original_reference=original_reference,
        billing_provider=contract.BillingProviderParty(
            name=billing.name,
            npi=billing.npi,
            tax_id=billing.tax_id,
            taxonomy_code=billing.taxonomy_code,
            address=billing_address,
            contact_name=billing.contact_name,
            contact_phone=billing.contact_phone,
        ),
        pay_to_address=_address(content.pay_to_address),
        payer=contract.PayerParty(
            payer_id=payer.payer_id,
            name=payer.name,
            edi_payer_id=payer.edi_payer_id,
            payer_id_qualifier=payer.payer_id_qualifier,
            claim_filing_indicator=payer.claim_filing_indicator,
        ),
        subscriber=contract.SubscriberParty.model_validate(
            {
                **_person(subscriber.person),
                "member_id": subscriber.member_id,
                "subscriber_id": subscriber.subscriber_id,
                "group_number": subscriber.group_number,
                "relationship_to_subscriber": subscriber.relationship_to_subscriber,
            }
        ),
        patient=None
        if patient is None
        else contract.PatientParty.model_validate(
            {**_person(patient.person), "member_id": patient.member_id}
        ),
        diagnoses=list(content.diagnoses),
        place_of_service=content.place_of_service,
        total_charge=content.total_charge,
        service_lines=[_line(line) for line in content.lines],
        source=ClaimSource(session_ids=content.session_ids),
    )


def claim_status_changed(
    claim: ProfessionalClaim,
    previous: ClaimStatus | None,
    lines: Sequence[ClaimLine],
    *,
    reason_codes: Sequence[str] = (),
    reason: str | None = None,
) -> ClaimStatusChanged:
    return ClaimStatusChanged(
        claim_id=claim.claim_id,
        claim_version=max(claim.version, 1),
        status=contract.ClaimStatus(claim.status.value),
        previous_status=None if previous is None else contract.ClaimStatus(previous.value),
        patient_control_number=claim.patient_control_number,
        member_id=claim.key.member_id,
        charge_ids=[line.charge_id for line in lines],
        source=ClaimSource(session_ids=sorted({ln.session_id for ln in lines if ln.session_id})),
        reason_codes=list(reason_codes),
        reason=None if reason is None else reason[:500],
    )


# --------------------------------------------------------------------------- institutional


def _institutional_line(line: InstitutionalLine) -> contract.InstitutionalLine:
    return contract.InstitutionalLine(
        line_number=line.line_number,
        line_control_number=line.line_control_number,
        revenue_code=line.revenue_code,
        procedure_code=line.procedure_code,
        modifiers=list(line.modifiers),
        amount=line.amount,
        unit_basis=line.unit_basis,
        units=line.units,
        service_from=line.service_from,
        service_to=line.service_to,
        charge_ids=list(line.charge_ids),
    )


def institutional_detail(content: InstitutionalClaimContent) -> contract.InstitutionalDetail:
    """SPEC 6's 837I part of the message. Raises ``pydantic.ValidationError`` (or
    ValueError) when the content cannot make one (the build checks this first)."""
    if content.type_of_bill is None or content.admission_date is None:
        raise ValueError("a cycle claim without a type of bill or an admit date")
    procedures = [
        contract.ProcedureOnClaim(code=p.code, performed_on=p.performed_on)
        for p in content.procedures
    ]
    return contract.InstitutionalDetail(
        type_of_bill=content.type_of_bill,
        statement_period=contract.DateSpan(
            start=content.statement_from, end=content.statement_through
        ),
        admission_date=content.admission_date,
        admission_hour=content.admission_hour,
        admission_type=content.admission_type or "",
        admission_source=content.admission_source or "",
        patient_status=content.patient_status,
        discharge_hour=content.discharge_hour,
        principal_diagnosis=content.principal_diagnosis or "",
        admitting_diagnosis=content.admitting_diagnosis,
        other_diagnoses=list(content.other_diagnoses),
        drg=content.drg,
        principal_procedure=procedures[0] if procedures else None,
        other_procedures=procedures[1:],
        occurrence_spans=[
            contract.OccurrenceSpan(code=s.code, start=s.start, end=s.end)
            for s in content.occurrence_spans
        ],
        occurrences=[contract.Occurrence(code=o.code, date=o.on) for o in content.occurrences],
        value_codes=[contract.ValueCode(code=v.code, amount=v.amount) for v in content.value_codes],
        service_lines=[_institutional_line(line) for line in content.lines],
    )


def cycle_claim_submitted(
    claim: CycleClaim,
    content: InstitutionalClaimContent,
    clearinghouse_id: str,
    *,
    frequency_code: str | None = None,
    original_reference: str | None = None,
) -> ClaimSubmitted:
    """The cycle claim version as the gateway renders it (837I): the type of bill's
    frequency digit is the cycle's (1, 2, 3, 4) unless ``frequency_code`` says 7
    (replacement) or 8 (void), with the original's reference (REF*F8). The billing provider is
    the tenant's; the stay's facility is kept on the claim as its service facility, which
    the message has no place for yet (a contract gap)."""
    if content.payer is None or content.subscriber is None:
        raise ValueError("a claim without a payer or a subscriber cannot be submitted")
    billing = content.billing_provider
    billing_address = _address(billing.address)
    assert billing_address is not None
    payer, subscriber, patient = content.payer, content.subscriber, content.patient
    return ClaimSubmitted(
        claim_id=claim.claim_id,
        claim_version=claim.version,
        transaction_type=contract.TransactionType.INSTITUTIONAL,
        clearinghouse_id=clearinghouse_id,
        patient_control_number=claim.patient_control_number,
        frequency_code=contract.FrequencyCode(frequency_code or content.frequency_code.value),
        original_reference=original_reference,
        billing_provider=contract.BillingProviderParty(
            name=billing.name,
            npi=billing.npi,
            tax_id=billing.tax_id,
            taxonomy_code=billing.taxonomy_code,
            address=billing_address,
            contact_name=billing.contact_name,
            contact_phone=billing.contact_phone,
        ),
        pay_to_address=_address(content.pay_to_address),
        payer=contract.PayerParty(
            payer_id=payer.payer_id,
            name=payer.name,
            edi_payer_id=payer.edi_payer_id,
            payer_id_qualifier=payer.payer_id_qualifier,
            claim_filing_indicator=payer.claim_filing_indicator,
        ),
        subscriber=contract.SubscriberParty.model_validate(
            {
                **_person(subscriber.person),
                "member_id": subscriber.member_id,
                "subscriber_id": subscriber.subscriber_id,
                "group_number": subscriber.group_number,
                "relationship_to_subscriber": subscriber.relationship_to_subscriber,
            }
        ),
        patient=None
        if patient is None
        else contract.PatientParty.model_validate(
            {**_person(patient.person), "member_id": patient.member_id}
        ),
        diagnoses=list(content.diagnoses),
        place_of_service=None,
        total_charge=content.total_charge,
        service_lines=[],
        institutional=institutional_detail(content),
        source=ClaimSource(stay_id=content.stay_id),
    )


def cycle_claim_status_changed(
    claim: CycleClaim,
    previous: ClaimStatus | None,
    charge_ids: Sequence[str],
    *,
    reason_codes: Sequence[str] = (),
    reason: str | None = None,
) -> ClaimStatusChanged:
    return ClaimStatusChanged(
        claim_id=claim.claim_id,
        claim_version=max(claim.version, 1),
        status=contract.ClaimStatus(claim.status.value),
        previous_status=None if previous is None else contract.ClaimStatus(previous.value),
        patient_control_number=claim.patient_control_number,
        member_id=claim.member_id,
        charge_ids=list(dict.fromkeys(charge_ids)),
        source=ClaimSource(stay_id=claim.stay_id),
        reason_codes=list(reason_codes),
        reason=None if reason is None else reason[:500],
    )
