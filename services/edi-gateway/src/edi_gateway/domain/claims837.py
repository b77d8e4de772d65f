"""What the 837 professional and institutional transaction sets share: the header (BHT,
1000A submitter, 1000B receiver) and the hierarchy of billing provider (2000A, HL 20),
subscriber (2000B, HL 22) and patient (2000C, HL 23) above each claim.

Each claim gets a subscriber level of its own (a group session's five members are five
claims under five subscriber levels), so the limit of 100 claims per subscriber level
holds by construction. Claims of one billing provider share one billing provider level.
Loop by loop details follow pyx12's maps (``837.5010.X222.A1.xml``, ``837Q3.I...``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from contracts.address import PostalAddress
from contracts.codes import RelationshipToSubscriber
from contracts.events.claims import (
    BillingProviderParty,
    ClaimSubmitted,
    PersonParty,
)
from edi_gateway.domain.envelope import HEADER_LOOP, KeyedClaim, TransactionSetHeader
from edi_gateway.domain.model import TransactionType
from edi_gateway.domain.x12 import X12Writer, x12_date, x12_time

BillingProviderKey = tuple[BillingProviderParty, PostalAddress | None]


class HierarchicalClaimRenderer(ABC):
    """The 837 skeleton; a subclass writes the claim itself (2300 and below)."""

    transaction_type: ClassVar[TransactionType]
    implementation: ClassVar[str]

    def render_body(
        self, writer: X12Writer, header: TransactionSetHeader, claims: Sequence[KeyedClaim]
    ) -> None:
        self.render_header(writer, header)
        hl = 0
        for (provider, pay_to), group in by_billing_provider(claims):
            hl += 1
            provider_hl = hl
            self.render_billing_provider(writer, provider_hl, provider, pay_to)
            for keyed in group:
                with writer.claim(keyed.key):
                    hl = self.render_subscriber(writer, hl, provider_hl, keyed.claim)
                    self.render_claim(writer, keyed.claim)

    def render_header(self, w: X12Writer, header: TransactionSetHeader) -> None:
        moment = header.created_at
        w.segment(
            HEADER_LOOP,
            "BHT",
            "0019",
            "00",
            header.reference,
            x12_date(moment.date()),
            x12_time(moment),
            "CH",
        )
        submitter = header.submitter
        w.segment("1000A", "NM1", "41", "2", submitter.name, *_skip(4), "46", submitter.identifier)
        contact: list[str | None] = ["IC", submitter.contact_name, "TE", submitter.contact_phone]
        if submitter.contact_email:
            contact += ["EM", submitter.contact_email]
        w.segment("1000A", "PER", *contact)
        receiver = header.receiver
        w.segment("1000B", "NM1", "40", "2", receiver.name, *_skip(4), "46", receiver.identifier)

    def render_billing_provider(
        self,
        w: X12Writer,
        hl: int,
        provider: BillingProviderParty,
        pay_to: PostalAddress | None,
    ) -> None:
        w.segment("2000A", "HL", str(hl), None, "20", "1")
        w.segment("2000A", "PRV", "BI", "PXC", provider.taxonomy_code)
        w.segment("2010AA", "NM1", "85", "2", provider.name, *_skip(4), "XX", provider.npi)
        self.render_address(w, "2010AA", provider.address)
        w.segment("2010AA", "REF", "EI", provider.tax_id)
        if pay_to is not None and pay_to != provider.address:
            w.segment("2010AB", "NM1", "87", "2")
            self.render_address(w, "2010AB", pay_to)

    def render_subscriber(
        self, w: X12Writer, hl: int, provider_hl: int, claim: ClaimSubmitted
    ) -> int:
        """The subscriber level (and the patient level when the patient is someone else);
        returns the last HL number used."""
        subscriber = claim.subscriber
        patient = claim.patient
        subscriber_hl = hl + 1
        w.segment(
            "2000B",
            "HL",
            str(subscriber_hl),
            str(provider_hl),
            "22",
            "0" if patient is None else "1",
        )
        w.segment(
            "2000B",
            "SBR",
            # The claim message names one payer, the one billed first.
            "P",
            RelationshipToSubscriber.SELF.value if patient is None else None,
            subscriber.group_number,
            *_skip(5),
            claim.payer.claim_filing_indicator.value,
        )
        self.render_person(w, "2010BA", "IL", subscriber)
        w.segment(
            "2010BB",
            "NM1",
            "PR",
            "2",
            claim.payer.name,
            *_skip(4),
            claim.payer.payer_id_qualifier,
            claim.payer.edi_payer_id,
        )
        if patient is None:
            return subscriber_hl
        patient_hl = subscriber_hl + 1
        w.segment("2000C", "HL", str(patient_hl), str(subscriber_hl), "23", "0")
        w.segment("2000C", "PAT", subscriber.relationship_to_subscriber.value)
        self.render_person(w, "2010CA", "QC", patient)
        return patient_hl

    def render_person(self, w: X12Writer, loop: str, entity: str, person: PersonParty) -> None:
        identifier: tuple[str | None, ...] = ()
        subscriber_id = getattr(person, "subscriber_id", None)
        if entity == "IL":
            identifier = ("MI", subscriber_id)
        w.segment(
            loop,
            "NM1",
            entity,
            "1",
            person.last_name,
            person.first_name,
            person.middle_name,
            None,
            None,
            *identifier,
        )
        if person.address is not None:
            self.render_address(w, loop, person.address)
        w.segment(loop, "DMG", "D8", x12_date(person.birth_date), person.sex.value)

    def render_address(self, w: X12Writer, loop: str, address: PostalAddress) -> None:
        w.segment(loop, "N3", address.line1, address.line2)
        w.segment(loop, "N4", address.city, address.state, address.postal_code)

    @abstractmethod
    def render_claim(self, w: X12Writer, claim: ClaimSubmitted) -> None:
        """Loop 2300 and everything under it."""


def by_billing_provider(
    claims: Sequence[KeyedClaim],
) -> list[tuple[BillingProviderKey, list[KeyedClaim]]]:
    """The claims grouped under their billing provider (and pay-to address), in the order
    each provider first appears."""
    groups: dict[BillingProviderKey, list[KeyedClaim]] = {}
    for keyed in claims:
        key = (keyed.claim.billing_provider, keyed.claim.pay_to_address)
        groups.setdefault(key, []).append(keyed)
    return list(groups.items())


def _skip(count: int) -> tuple[None, ...]:
    return (None,) * count
