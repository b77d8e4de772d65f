"""A charge and its life (SPEC 5): a group charge (one participant of a closed session) or
a day charge (one day of a stay). Built, re-priced when its source changes (a session closes
again, a stay changes), voided, fixed or re-checked by an operator, put on and taken off
claims. Every change makes a new ``version``; nothing else changes a charge.

Which claim statuses hold a charge (decided here, once):

- DRAFT, READY, STALE, SUBMITTED, REJECTED: the claim holds it -> ON_CLAIM. A rejected claim
  still holds its charges: the claims service fixes and rebuilds it (a new claim version)
  or an operator reverses it; releasing them would let a second claim bill them meanwhile.
- ACCEPTED -> BILLED.
- REVERSED, REPLACED -> back to READY (the claim no longer bills them; a replacement claim
  that does names them in its own event). Only the claim that holds a charge releases it.

A charge is *locked* against a forced reopen when its claim went out to the payer
(SUBMITTED or ACCEPTED, i.e. also BILLED), the very rule attendance applies before it
reopens. Operators' fixes and voids are stricter: any charge on a claim is left to the
claims side (reverse first), a void charge stays void.

A day charge follows its stay instead (``rewritten_from_stay``, ``voided_by_stay``): the
stay is what happened, so a day whose content the stay changes gets a new version even on
a claim, even one sent to the payer. It keeps its claim (ON_CLAIM or BILLED): the claims
service sees a version that prints differently, and the stay event that caused it marks
that claim STALE (rebuilt when not yet submitted, reversed or replaced by an operator when
it was). A day the stay no longer has is VOID and leaves its claim. A day an operator voided
stays void whatever the stay says later."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from common.errors import DomainError
from contracts.events.charges import ChargeKind, ChargeStatus, FilingType, UnitBasis
from contracts.events.claims import ClaimStatus

CENT = Decimal("0.01")

# Fixed forever: charge ids computed today must be the ones computed after any upgrade.
_CHARGE_ID_NAMESPACE = uuid.UUID("6f1c2a9e-3b7d-5e48-9a0c-5d2e7f8b1c34")
_DAY_CHARGE_ID_NAMESPACE = uuid.UUID("0b6e3d52-7c1a-5f49-8e2d-94a3c6f1d7b8")


def charge_id_for(tenant_id: str, session_id: str, member_id: str) -> str:
    """The one charge id of a member in a session: rebuilds, redeliveries and re-closes of
    the session always land on the same charge (a new version of it, never a second one).
    Hashed because a session id and a member id together may exceed an identifier's 64
    characters and ``a-b`` + ``c`` must not collide with ``a`` + ``b-c``."""
    key = "\x1f".join((tenant_id, session_id, member_id))
    return f"ch-{uuid.uuid5(_CHARGE_ID_NAMESPACE, key).hex}"


def day_charge_id_for(tenant_id: str, stay_id: str, day: date) -> str:
    """The one charge id of a stay's day: every rewrite of the day (a late leave, a
    corrected admission, a replayed feed) lands on it as a new version, never a second
    charge. A namespace of its own: no session and member can name a stay's day."""
    key = "\x1f".join((tenant_id, stay_id, day.isoformat()))
    return f"ch-{uuid.uuid5(_DAY_CHARGE_ID_NAMESPACE, key).hex}"


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class ChargeRuleViolation(DomainError):
    """A change the charge's state does not allow; ``code`` is stable."""


class ChargeNotFound(DomainError):
    def __init__(self, charge_id: str) -> None:
        super().__init__("CHARGE_NOT_FOUND", "no charge with this id", charge_id=charge_id)


class IssueCode(StrEnum):
    """Why a charge needs a fix, besides the blocking group rules of ``group_billing``
    (GROUP_SIZE_BELOW_MINIMUM, NO_SUPERVISOR_PRESENT, GROUP_UNATTENDED_BILLED)."""

    NO_ACTIVE_COVERAGE = "NO_ACTIVE_COVERAGE"
    MISSING_RATE = "MISSING_RATE"
    PAYER_NOT_CONFIGURED = "PAYER_NOT_CONFIGURED"
    CODE_NOT_ASSIGNED_TO_MEMBER = "CODE_NOT_ASSIGNED_TO_MEMBER"
    CODE_NOT_ASSIGNED_TO_STAFF = "CODE_NOT_ASSIGNED_TO_STAFF"


class VoidCause(StrEnum):
    """Who voided a charge: its source (a reopened session, a day the stay no longer has)
    or an operator. A stay brings back a day it voided, never one an operator voided."""

    SOURCE = "SOURCE"
    OPERATOR = "OPERATOR"


@dataclass(frozen=True)
class Issue:
    code: str
    message: str


@dataclass(frozen=True)
class PricingOverride:
    """An operator's decision that pricing would not make by itself, kept with its reason
    and applied on every later re-pricing of the charge (a re-check, a re-close)."""

    payer_id: str | None = None
    coverage_id: str | None = None
    rate: Decimal | None = None
    reason: str | None = None

    @property
    def empty(self) -> bool:
        return self.payer_id is None and self.coverage_id is None and self.rate is None

    def then(self, newer: PricingOverride) -> PricingOverride:
        """This override with ``newer``'s settings on top (a later fix adds to an earlier)."""
        if newer.empty:
            return self
        payer_changed = newer.payer_id is not None or newer.coverage_id is not None
        return PricingOverride(
            payer_id=newer.payer_id if payer_changed else self.payer_id,
            coverage_id=newer.coverage_id if payer_changed else self.coverage_id,
            rate=newer.rate if newer.rate is not None else self.rate,
            reason=newer.reason,
        )


@dataclass(frozen=True)
class GroupContext:
    """What the claim scrubber needs to re-run the group rules (``Charge.group``)."""

    session_id: str
    close_sequence: int
    facility_state: str | None
    billable_count: int
    band_name: str | None
    supervisors_present: tuple[str, ...]
    acknowledged_warnings: tuple[str, ...]


@dataclass(frozen=True)
class StayDayContext:
    """Where a day charge comes from: its stay, and the stay version its content was last
    written from. The version is left out of comparisons (``compare=False``): a newer stay
    version that bills the day alike is no change to the day."""

    stay_id: str
    stay_version: int = field(compare=False)


@dataclass(frozen=True)
class ChargeTerms:
    """Everything pricing decides about one charge: a group participant's (``group``) or a
    stay day's (``stay``)."""

    member_id: str
    program_id: str
    facility_id: str
    date_of_service: date
    procedure_code: str | None
    modifiers: tuple[str, ...]
    units: Decimal
    rate: Decimal
    amount: Decimal
    payer_id: str | None
    coverage_id: str | None
    rendering_provider_id: str | None
    place_of_service: str | None
    issues: tuple[Issue, ...]
    group: GroupContext | None = None
    stay: StayDayContext | None = None
    revenue_code: str | None = None
    unit_basis: UnitBasis = UnitBasis.UNITS
    covered: bool = True

    def __post_init__(self) -> None:
        if (self.group is None) == (self.stay is None):
            raise ValueError("a charge comes from a group session or a stay, one of them")

    @property
    def kind(self) -> ChargeKind:
        return ChargeKind.PER_DIEM if self.stay is not None else ChargeKind.GROUP

    @property
    def filing_type(self) -> FilingType:
        if self.kind is ChargeKind.PER_DIEM:
            return FilingType.INSTITUTIONAL
        return FilingType.PROFESSIONAL

    @property
    def source_id(self) -> str:
        """The session id or the stay id."""
        if self.stay is not None:
            return self.stay.stay_id
        assert self.group is not None
        return self.group.session_id

    @property
    def status(self) -> ChargeStatus:
        return ChargeStatus.NEEDS_FIX if self.issues else ChargeStatus.READY

    def has_issue(self, code: str) -> bool:
        return any(issue.code == code for issue in self.issues)


HOLDING = frozenset(
    {
        ClaimStatus.DRAFT,
        ClaimStatus.READY,
        ClaimStatus.STALE,
        ClaimStatus.SUBMITTED,
        ClaimStatus.REJECTED,
    }
)
RELEASING = frozenset({ClaimStatus.REVERSED, ClaimStatus.REPLACED})
SENT_TO_PAYER = frozenset({ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED})

# Where a status stands in a claim version's life; with the claim version, the order in
# which news about one claim is applied (an older one arriving late changes nothing).
_CLAIM_STATUS_RANK: dict[ClaimStatus, int] = {
    ClaimStatus.DRAFT: 0,
    ClaimStatus.READY: 1,
    ClaimStatus.STALE: 1,
    ClaimStatus.SUBMITTED: 2,
    ClaimStatus.REJECTED: 3,
    ClaimStatus.ACCEPTED: 3,
    ClaimStatus.REVERSED: 4,
    ClaimStatus.REPLACED: 4,
}

ClaimMark = tuple[int, int]  # (claim version, status rank)


def claim_mark(claim_version: int, status: ClaimStatus) -> ClaimMark:
    return (claim_version, _CLAIM_STATUS_RANK[status])


@dataclass(frozen=True)
class ClaimHold:
    claim_id: str
    claim_status: ClaimStatus


@dataclass(frozen=True)
class Charge:
    tenant_id: str
    charge_id: str
    version: int
    status: ChargeStatus
    terms: ChargeTerms
    override: PricingOverride = PricingOverride()
    claim: ClaimHold | None = None
    #: The newest news applied per claim that ever named the charge (order safety).
    claim_marks: Mapping[str, ClaimMark] = field(default_factory=dict)
    void_reason: str | None = None
    void_cause: VoidCause | None = None

    @classmethod
    def build(cls, tenant_id: str, charge_id: str, terms: ChargeTerms) -> Charge:
        return cls(tenant_id, charge_id, 1, terms.status, terms)

    # ------------------------------------------------------------------ state

    @property
    def on_claim_sent_to_payer(self) -> bool:
        return self.status is ChargeStatus.BILLED or (
            self.status is ChargeStatus.ON_CLAIM
            and self.claim is not None
            and self.claim.claim_status in SENT_TO_PAYER
        )

    def _next(self, **changes: object) -> Charge:
        return replace(self, version=self.version + 1, **changes)  # type: ignore[arg-type]

    def _refuse_if_sent(self) -> None:
        if self.on_claim_sent_to_payer:
            assert self.claim is not None
            raise ChargeRuleViolation(
                "CLAIM_SUBMITTED",
                f"charge {self.charge_id} is on claim {self.claim.claim_id}, already "
                f"{self.claim.claim_status.value}; reverse the claim first",
                charge_id=self.charge_id,
                claim_ids=[self.claim.claim_id],
            )

    def require_editable(self) -> None:
        if self.status is ChargeStatus.VOID:
            raise ChargeRuleViolation(
                "CHARGE_VOID", "a void charge is not changed", charge_id=self.charge_id
            )
        if self.status in (ChargeStatus.ON_CLAIM, ChargeStatus.BILLED):
            assert self.claim is not None
            raise ChargeRuleViolation(
                "CHARGE_LOCKED",
                f"the charge is {self.status.value} on claim {self.claim.claim_id}; "
                "reverse the claim first",
                charge_id=self.charge_id,
                claim_id=self.claim.claim_id,
            )

    def _priced(self, terms: ChargeTerms, override: PricingOverride) -> Charge | None:
        status = terms.status
        if (self.status, self.terms, self.override, self.claim) == (status, terms, override, None):
            return None
        return self._next(
            status=status,
            terms=terms,
            override=override,
            claim=None,
            void_reason=None,
            void_cause=None,
        )

    # ------------------------------------------------------------------ changes

    def rebuilt(self, terms: ChargeTerms) -> Charge | None:
        """The charge priced from a new close of its session (READY or NEEDS_FIX again,
        whatever it was, unless a claim already went out with it). None: no change."""
        self._refuse_if_sent()
        return self._priced(terms, self.override)

    def rechecked(self, terms: ChargeTerms) -> Charge | None:
        """The charge priced again from what is known now (coverage arrived, generate)."""
        self.require_editable()
        return self._priced(terms, self.override)

    def fixed(self, override: PricingOverride, terms: ChargeTerms) -> Charge | None:
        """The operator's override applied; ``terms`` were priced with it."""
        self.require_editable()
        if not override.empty and not (override.reason and override.reason.strip()):
            raise ChargeRuleViolation(
                "REASON_REQUIRED", "an override states its reason", charge_id=self.charge_id
            )
        return self._priced(terms, self.override.then(override))

    def voided_by_operator(self, reason: str) -> Charge | None:
        if self.status is ChargeStatus.VOID:
            return None
        self.require_editable()
        return self._next(
            status=ChargeStatus.VOID,
            claim=None,
            void_reason=reason,
            void_cause=VoidCause.OPERATOR,
        )

    def voided_by_reopen(self, reason: str) -> Charge | None:
        """Void because attendance reopened the session; a charge on a claim not yet sent
        is voided too (its claim is rebuilt by the claims service), one sent is not."""
        if self.status is ChargeStatus.VOID:
            return None
        self._refuse_if_sent()
        return self._next(
            status=ChargeStatus.VOID, claim=None, void_reason=reason, void_cause=VoidCause.SOURCE
        )

    def rewritten_from_stay(self, terms: ChargeTerms, override: PricingOverride) -> Charge | None:
        """The day as a newer stay version bills it (see the module's note). None when it
        bills alike (the stay version alone moved) or an operator voided the day."""
        if self.status is ChargeStatus.VOID:
            if self.void_cause is VoidCause.OPERATOR:
                return None
            # The stay has the day again (an undone discharge, a corrected admission).
            return self._next(
                status=terms.status,
                terms=terms,
                override=override,
                claim=None,
                void_reason=None,
                void_cause=None,
            )
        if (self.terms, self.override) == (terms, override):
            return None
        if self.claim is None or terms.issues:
            # Not on a claim, or no longer billable as it is: the claims service lets go
            # of a NEEDS_FIX version (with_claim_status), so this one does too.
            return self._next(status=terms.status, terms=terms, override=override, claim=None)
        return self._next(terms=terms, override=override)

    def voided_by_stay(self, reason: str) -> Charge | None:
        """Void: the stay no longer has this day (entered in error, admitted later,
        discharged earlier). Also on a claim already sent: the stay is what happened."""
        if self.status is ChargeStatus.VOID:
            return None
        return self._next(
            status=ChargeStatus.VOID, claim=None, void_reason=reason, void_cause=VoidCause.SOURCE
        )

    def with_claim_status(
        self, claim_id: str, claim_version: int, status: ClaimStatus, *, named: bool
    ) -> Charge | None:
        """Apply where a claim stands. ``named``: the claim lists this charge; a charge the
        claim held and no longer lists is released. Returns None for news older than what
        was applied about that claim; a charge with only its claim marks moved keeps its
        version (nothing a consumer sees changed)."""
        mark = claim_mark(claim_version, status)
        seen = self.claim_marks.get(claim_id)
        if seen is not None and mark < seen:
            return None
        marked = replace(self, claim_marks={**self.claim_marks, claim_id: mark})
        if named and status not in RELEASING:
            if self.status in (ChargeStatus.VOID, ChargeStatus.NEEDS_FIX):
                # Voided or re-priced since the claim was built: the claims service rebuilds
                # from the newer version it has been sent; this claim cannot hold it.
                return marked
            new_status = (
                ChargeStatus.BILLED if status is ClaimStatus.ACCEPTED else ChargeStatus.ON_CLAIM
            )
            hold = ClaimHold(claim_id, status)
            if (self.status, self.claim) == (new_status, hold):
                return marked
            return marked._next(status=new_status, claim=hold)
        if self.claim is None or self.claim.claim_id != claim_id:
            return marked  # another claim holds it (a replacement) or none does
        return marked._next(status=self.terms.status, claim=None)


def blocking_claim_ids(charges: Iterable[Charge]) -> list[str]:
    """The claims, already sent to the payer, that hold any of ``charges``."""
    return sorted(
        {c.claim.claim_id for c in charges if c.on_claim_sent_to_payer and c.claim is not None}
    )


def refuse_reopen_over_sent_claims(session_id: str, charges: Iterable[Charge]) -> None:
    """SPEC 3: a session whose charges sit on a claim already submitted or billed is not
    reopened (nor re-priced) until those claims are reversed."""
    claim_ids = blocking_claim_ids(charges)
    if claim_ids:
        raise ChargeRuleViolation(
            "CLAIM_SUBMITTED",
            f"session {session_id} has charges on claims already sent: {', '.join(claim_ids)}",
            session_id=session_id,
            claim_ids=claim_ids,
        )


def age_in_days(date_of_service: date, today: date) -> int:
    """Days since the date of service (0 on the day; negative for a future date)."""
    return (today - date_of_service).days
