"""Building professional claims from charges (SPEC 6): which claim a READY charge joins,
and what a claim version prints, decided here once so the gateway only renders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from claims.domain.charges import ChargeOnFile
from claims.domain.claims import (
    MAX_DIAGNOSES,
    MAX_POINTERS,
    MAX_PROFESSIONAL_LINES,
    Address,
    BillingProviderParty,
    ClaimKey,
    ClaimLine,
    PatientParty,
    PayerParty,
    PersonParty,
    ProfessionalClaimContent,
    RenderingProviderParty,
    SubscriberParty,
    claim_period_for,
    line_control_number,
)
from claims.domain.projections import ClaimMember, Person, PostalAddress, Provider
from contracts.address import PostalAddress as ConfiguredAddress
from contracts.tenant import TenantConfig
from contracts.tenant.effective_dating import ConfigLookupError

# --------------------------------------------------------------------------- which claim


def claim_key_for(charge: ChargeOnFile, billing_provider_npi: str) -> ClaimKey:
    if charge.payer_id is None:
        raise ValueError("a charge without a payer joins no claim")
    period_from, period_to = claim_period_for(charge.date_of_service)
    return ClaimKey(charge.member_id, charge.payer_id, billing_provider_npi, period_from, period_to)


def line_order(charge: ChargeOnFile) -> tuple[object, ...]:
    return (charge.date_of_service, charge.session_id or "", charge.charge_id)


@dataclass(frozen=True)
class OpenClaim:
    """An unsubmitted claim a charge may still join, with how many lines it holds."""

    claim_id: str
    key: ClaimKey
    line_count: int


@dataclass(frozen=True)
class NewClaim:
    key: ClaimKey
    charge_ids: tuple[str, ...]


@dataclass(frozen=True)
class AssignmentPlan:
    to_existing: Mapping[str, tuple[str, ...]]  # claim id -> charges joining it
    new_claims: tuple[NewClaim, ...]


def plan_claim_assignment(
    charges: Sequence[ChargeOnFile],
    open_claims: Sequence[OpenClaim],
    billing_provider_npi: str,
) -> AssignmentPlan:
    """Put each charge on the first open claim of its key with room (oldest first), and
    the rest on new claims of at most 50 lines: a member's 51 sessions on one day are two
    claims, a group of N members is N claims."""
    room = {c.claim_id: MAX_PROFESSIONAL_LINES - c.line_count for c in open_claims}
    by_key: dict[ClaimKey, list[ChargeOnFile]] = {}
    for charge in sorted(charges, key=line_order):
        by_key.setdefault(claim_key_for(charge, billing_provider_npi), []).append(charge)
    to_existing: dict[str, list[str]] = {}
    new_claims: list[NewClaim] = []
    for key in sorted(by_key):
        waiting = [c.charge_id for c in by_key[key]]
        for claim in open_claims:
            if claim.key != key or not waiting:
                continue
            take = max(0, room[claim.claim_id])
            if take:
                to_existing.setdefault(claim.claim_id, []).extend(waiting[:take])
                room[claim.claim_id] -= len(waiting[:take])
                waiting = waiting[take:]
        for start in range(0, len(waiting), MAX_PROFESSIONAL_LINES):
            new_claims.append(NewClaim(key, tuple(waiting[start : start + MAX_PROFESSIONAL_LINES])))
    return AssignmentPlan(
        to_existing={k: tuple(v) for k, v in to_existing.items()}, new_claims=tuple(new_claims)
    )


# --------------------------------------------------------------------------- what it prints


@dataclass(frozen=True)
class ClaimInputs:
    """Everything one build reads: the claim's charges and the records it prints from."""

    patient_control_number: str
    version: int  # the version being built
    key: ClaimKey
    charges: tuple[ChargeOnFile, ...]
    member: ClaimMember | None
    providers: Mapping[str, Provider]
    tenant: TenantConfig

    @property
    def ordered_charges(self) -> list[ChargeOnFile]:
        return sorted(self.charges, key=line_order)


def _address(address: PostalAddress | ConfiguredAddress | None) -> Address | None:
    if address is None:
        return None
    return Address(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        state=address.state,
        postal_code=address.postal_code,
    )


def _person(person: Person) -> PersonParty:
    return PersonParty(
        first_name=person.first_name,
        last_name=person.last_name,
        middle_name=person.middle_name,
        birth_date=person.birth_date,
        sex=person.sex,
        address=_address(person.address),
    )


def billing_provider_party(tenant: TenantConfig) -> BillingProviderParty:
    provider = tenant.billing_provider
    address = _address(provider.address)
    assert address is not None
    return BillingProviderParty(
        name=provider.name,
        npi=provider.npi,
        tax_id=provider.tax_id,
        taxonomy_code=provider.taxonomy_code,
        address=address,
        contact_name=provider.contact.name,
        contact_phone=provider.contact.phone,
    )


def payer_party(tenant: TenantConfig, payer_id: str) -> tuple[PayerParty, str] | None:
    """The payer as the 837 names it and the clearinghouse its claims go through; None
    when the tenant configuration has no such payer."""
    try:
        payer = tenant.payer(payer_id)
    except ConfigLookupError:
        return None
    party = PayerParty(
        payer_id=payer.id,
        name=payer.name,
        edi_payer_id=payer.edi_payer_id,
        payer_id_qualifier=payer.payer_id_qualifier,
        claim_filing_indicator=payer.claim_filing_indicator.value,
    )
    return party, payer.clearinghouse_id


def subscriber_and_patient(
    member: ClaimMember, payer_id: str, day: date, coverage_id: str | None = None
) -> tuple[SubscriberParty | None, PatientParty | None]:
    """The 2010BA subscriber (and the 2010CA patient when not the subscriber) a claim to
    ``payer_id`` for a service on ``day`` names; (None, None) without such a coverage."""
    coverage = member.coverage_for_claim(payer_id, day, coverage_id)
    if coverage is None:
        return None, None
    if coverage.patient_is_subscriber:
        subscriber = SubscriberParty(
            person=_person(member.person),
            subscriber_id=coverage.subscriber_id,
            relationship_to_subscriber=coverage.relationship_to_subscriber,
            member_id=member.member_id,
            group_number=coverage.group_number,
        )
        return subscriber, None
    subscriber = SubscriberParty(
        person=_person(member.subscriber_under(coverage)),
        subscriber_id=coverage.subscriber_id,
        relationship_to_subscriber=coverage.relationship_to_subscriber,
        group_number=coverage.group_number,
    )
    return subscriber, PatientParty(person=_person(member.person), member_id=member.member_id)


def _subscriber_and_patient(
    inputs: ClaimInputs,
) -> tuple[SubscriberParty | None, PatientParty | None]:
    member = inputs.member
    if member is None:
        return None, None
    named = next((c.coverage_id for c in inputs.ordered_charges if c.coverage_id), None)
    return subscriber_and_patient(member, inputs.key.payer_id, inputs.key.period_from, named)


def rendering_party(
    provider: Provider | None, billing: BillingProviderParty
) -> RenderingProviderParty | None:
    """2310B/2420A: only when the rendering provider is not the billing provider."""
    if provider is None or provider.npi == billing.npi:
        return None
    return RenderingProviderParty(
        provider_id=provider.provider_id,
        npi=provider.npi,
        first_name=provider.first_name,
        last_name=provider.last_name,
        middle_name=provider.middle_name,
        taxonomy_code=provider.taxonomy_code,
    )


def build_professional_claim(inputs: ClaimInputs) -> ProfessionalClaimContent:
    """The claim version the inputs make. Pure and deterministic: the same inputs make the
    same content, so an unchanged rebuild is recognised and makes no new version."""
    billing = billing_provider_party(inputs.tenant)
    payer = payer_party(inputs.tenant, inputs.key.payer_id)
    subscriber, patient = _subscriber_and_patient(inputs)
    diagnoses = inputs.member.diagnoses[:MAX_DIAGNOSES] if inputs.member else ()
    pointers = tuple(range(1, min(MAX_POINTERS, len(diagnoses)) + 1))
    charges = inputs.ordered_charges
    claim_pos = next((c.place_of_service for c in charges if c.place_of_service), None)
    lines = tuple(
        ClaimLine(
            line_number=number,
            line_control_number=line_control_number(
                inputs.patient_control_number, inputs.version, number
            ),
            charge_id=charge.charge_id,
            charge_version=charge.charge_version,
            procedure_code=charge.procedure_code,
            modifiers=charge.modifiers,
            units=charge.units,
            unit_basis=charge.unit_basis,
            amount=charge.amount,
            date_of_service=charge.date_of_service,
            place_of_service=(
                charge.place_of_service if charge.place_of_service != claim_pos else None
            ),
            diagnosis_pointers=pointers,
            rendering_provider=rendering_party(
                inputs.providers.get(charge.rendering_provider_id or ""), billing
            ),
            session_id=charge.session_id,
        )
        for number, charge in enumerate(charges, start=1)
    )
    return ProfessionalClaimContent(
        billing_provider=billing,
        pay_to_address=_address(inputs.tenant.pay_to_address),
        payer=payer[0] if payer else None,
        clearinghouse_id=payer[1] if payer else None,
        subscriber=subscriber,
        patient=patient,
        diagnoses=diagnoses,
        place_of_service=claim_pos,
        lines=lines,
    )
