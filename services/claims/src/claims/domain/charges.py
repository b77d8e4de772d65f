"""The charges as the claims service keeps them (SPEC 5, 6): the newest ``charge_version``
of each, whichever order the versions arrive in, and what a new version means for the
claim that holds the charge."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from claims.domain.claims import ClaimStatus

READY = "READY"
NEEDS_FIX = "NEEDS_FIX"
# A charge in one of these statuses is billed by the claim that holds it; ON_CLAIM and
# BILLED are the charges service's echo of our own claim (or its payment).
BILLABLE_STATUSES = frozenset({"READY", "ON_CLAIM", "BILLED"})
PROFESSIONAL = "PROFESSIONAL"
GROUP = "GROUP"
PER_DIEM = "PER_DIEM"


@dataclass(frozen=True)
class GroupContext:
    """What the scrubber needs to re-run the group rules on a group charge."""

    session_id: str
    close_sequence: int
    billable_count: int
    band_name: str | None
    supervisors_present: tuple[str, ...]
    facility_state: str | None = None
    acknowledged_warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReverseHold:
    """The claim that billed the charge was voided (reversed): until the charge changes
    (or, for a day charge, its stay does) or an operator rebuilds that claim, no
    automatic build bills it again; a void followed by the same claim is never what the
    void was for, and it would lock a forced attendance change out for good (SPEC 3)."""

    claim_id: str
    charge_version: int  # the version the claim billed when it was voided


@dataclass(frozen=True)
class ChargeOnFile:
    charge_id: str
    charge_version: int
    status: str
    kind: str  # GROUP or PER_DIEM
    filing_type: str  # PROFESSIONAL or INSTITUTIONAL
    member_id: str
    program_id: str
    facility_id: str
    date_of_service: date
    units: Decimal
    amount: Decimal
    rate: Decimal
    payer_id: str | None = None
    coverage_id: str | None = None
    procedure_code: str | None = None
    modifiers: tuple[str, ...] = ()
    revenue_code: str | None = None
    unit_basis: str = "UN"
    rendering_provider_id: str | None = None
    place_of_service: str | None = None
    session_id: str | None = None
    group: GroupContext | None = None
    covered: bool = True  # False for a leave-of-absence (non-covered) day
    stay_id: str | None = None  # the stay a PER_DIEM charge bills a day of
    stay_version: int | None = None  # the version of that stay the day was written from
    issue_codes: tuple[str, ...] = ()  # why a NEEDS_FIX charge needs a fix
    hold: ReverseHold | None = None  # kept by this service, never printed

    @property
    def joins_professional_claims(self) -> bool:
        """A READY professional charge goes on a claim (SPEC 6)."""
        return self.status == READY and self.filing_type == PROFESSIONAL and bool(self.payer_id)

    @property
    def bills_a_stay(self) -> bool:
        """A day of a stay: it goes on the stay's cycle claim, never a professional one."""
        return self.kind == PER_DIEM

    @property
    def billable(self) -> bool:
        return self.status in BILLABLE_STATUSES and self.filing_type == PROFESSIONAL

    def prints_like(self, other: ChargeOnFile) -> bool:
        """True when a claim line built from either is the same (the charges service's
        ON_CLAIM echo of a charge changes nothing a claim prints)."""
        return _printed(self) == _printed(other)


def hold_outlasts(charge: ChargeOnFile, previous: ChargeOnFile) -> bool:
    """Whether a charge held after its claim's void stays held through ``charge``, a newer
    version than ``previous``: yes while it bills just as before (the charges service's
    READY-again echo of the void, a late ON_CLAIM or BILLED echo); no once it bills
    differently (a corrected amount) or not at all (VOID, NEEDS_FIX)."""
    return charge.status in BILLABLE_STATUSES and charge.prints_like(previous)


def only_bookkeeping(charge: ChargeOnFile, previous: ChargeOnFile | None) -> bool:
    """Whether ``charge``, a newer version of a day charge than ``previous``, changes
    nothing a stay's cycles are decided on: billable before and after (READY, ON_CLAIM,
    BILLED: the charges service's echo of our own claim's status, or of its void) and
    printing the same. The cycles read a day charge's status only as billable or not
    (``blocked_days``), its printed fields, and the hold this service keeps itself, so
    such a version leaves every cycle claim of the stay as it was."""
    return (
        previous is not None
        and previous.status in BILLABLE_STATUSES
        and hold_outlasts(charge, previous)  # billable now, printing as before
    )


def _printed(charge: ChargeOnFile) -> tuple[object, ...]:
    return (
        charge.kind,
        charge.filing_type,
        charge.member_id,
        charge.program_id,
        charge.payer_id,
        charge.coverage_id,
        charge.date_of_service,
        charge.procedure_code,
        charge.modifiers,
        charge.revenue_code,
        charge.units,
        charge.unit_basis,
        charge.amount,
        charge.rate,
        charge.rendering_provider_id,
        charge.place_of_service,
        charge.group,
        charge.covered,
        charge.stay_id,
    )


class ChargeRouting(StrEnum):
    NOTHING = "NOTHING"
    JOIN = "JOIN"  # goes on a claim (an open one with room, or a new one)
    REBUILD_HOLDER = "REBUILD_HOLDER"  # the holding claim prints it differently now
    LEAVE_HOLDER = "LEAVE_HOLDER"  # leaves its unsubmitted claim
    MOVE = "MOVE"  # leaves its unsubmitted claim and joins the claim its new key names
    STALE_HOLDER = "STALE_HOLDER"  # its claim left our hands: needs a reverse (#5)


@dataclass(frozen=True)
class Holder:
    """The claim that holds a charge now."""

    claim_id: str
    status: ClaimStatus
    same_claim_key: bool  # the new version still belongs on this claim


def route_charge_change(
    charge: ChargeOnFile, previous: ChargeOnFile | None, holder: Holder | None
) -> ChargeRouting:
    """What a newer version of a charge does to the claims (SPEC 6): a READY one joins a
    claim; a voided (or no longer billable) one leaves its DRAFT/READY claim, which is
    rebuilt; a changed one rebuilds it; either marks a claim already submitted STALE."""
    if holder is None:
        return ChargeRouting.JOIN if charge.joins_professional_claims else ChargeRouting.NOTHING
    changed = previous is None or not charge.prints_like(previous)
    if holder.status.open_for_change:
        if not charge.billable:
            return ChargeRouting.LEAVE_HOLDER
        if not holder.same_claim_key:
            return (
                ChargeRouting.MOVE
                if charge.joins_professional_claims
                else ChargeRouting.LEAVE_HOLDER
            )
        return ChargeRouting.REBUILD_HOLDER if changed else ChargeRouting.NOTHING
    if holder.status.left_our_hands and (changed or not charge.billable):
        return ChargeRouting.STALE_HOLDER
    return ChargeRouting.NOTHING


@dataclass(frozen=True)
class AwaitedDay:
    """A day charge version the charges service wrote for a stay version, not yet held."""

    charge_id: str
    charge_version: int
    date_of_service: date


@dataclass(frozen=True)
class StayCharging:
    """How far the charges service has brought a stay's day charges, as it told this
    service (``charges.stay.charged.v1``): the newest stay version it applied, and the
    day charge versions those versions wrote that this service did not hold when it was
    told (their ``charges.charges.recorded.v1`` may come after, or be redelivered)."""

    stay_version: int
    awaited: tuple[AwaitedDay, ...] = ()

    def told(
        self, stay_version: int, changed: Sequence[AwaitedDay], held: Sequence[ChargeOnFile]
    ) -> StayCharging:
        """This record after one more message: the newer stay version, and every awaited
        day (earlier ones kept: a message may overtake another) that ``held``, this
        service's copy of the stay's day charges, does not yet have at that version."""
        newest: dict[str, AwaitedDay] = {}
        for day in (*self.awaited, *changed):
            kept = newest.get(day.charge_id)
            if kept is None or kept.charge_version < day.charge_version:
                newest[day.charge_id] = day
        return StayCharging(
            max(self.stay_version, stay_version),
            tuple(
                sorted(
                    missing_days(newest.values(), held),
                    key=lambda d: (d.date_of_service, d.charge_id),
                )
            ),
        )

    def missing(self, held: Sequence[ChargeOnFile], first: date, last: date) -> list[AwaitedDay]:
        """The awaited days from ``first`` through ``last`` that ``held`` lacks."""
        return missing_days((d for d in self.awaited if first <= d.date_of_service <= last), held)


def missing_days(awaited: Iterable[AwaitedDay], held: Sequence[ChargeOnFile]) -> list[AwaitedDay]:
    versions = {c.charge_id: c.charge_version for c in held}
    return [d for d in awaited if versions.get(d.charge_id, 0) < d.charge_version]
