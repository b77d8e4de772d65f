"""What the charges service keeps of other systems' records (SPEC 5): enough to price a
charge and pick its payer, and nothing more. No names, birth dates, subscriber ids or
addresses live here: a charge needs ids, coverage periods and payers.

Projections are replaced whole by each ``*.upserted`` event (state transfer) and only by a
newer one: events can arrive late or out of order, so each projection keeps the
:class:`SourceStamp` of the event it came from, and an older event never overwrites it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from common.errors import DomainError


class ProjectionRuleViolation(DomainError):
    """A record that cannot describe the real thing; ``code`` is stable."""


class ProjectionOutcome(StrEnum):
    APPLIED = "APPLIED"
    STALE = "STALE"  # an equal or newer version was already kept; nothing changed


@dataclass(frozen=True, order=True)
class SourceStamp:
    """When the source system said it (the CloudEvent ``time``). Two events with the same
    time are ordered by event id, an arbitrary but fixed order, so every replica and every
    replay keeps the same version."""

    time: datetime
    event_id: str

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("a source time carries its UTC offset")


@dataclass(frozen=True)
class CoveragePeriod:
    """One coverage of a member with one payer, in force ``effective_from`` through
    ``effective_to`` (both inclusive; ``None`` = open-ended)."""

    coverage_id: str
    payer_id: str
    relationship_to_subscriber: str  # X12 individual relationship code; 18 = self
    is_primary: bool
    effective_from: date
    effective_to: date | None = None

    def __post_init__(self) -> None:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ProjectionRuleViolation(
                "COVERAGE_DATES_OUT_OF_ORDER",
                "a coverage's effective_to is before its effective_from",
                coverage_id=self.coverage_id,
            )


@dataclass(frozen=True)
class MemberCoverage:
    """A member as charges sees one: active or not, and every coverage period."""

    member_id: str
    active: bool
    coverages: tuple[CoveragePeriod, ...] = ()

    def __post_init__(self) -> None:
        ids = [c.coverage_id for c in self.coverages]
        if len(ids) != len(set(ids)):
            raise ProjectionRuleViolation(
                "DUPLICATE_COVERAGE",
                "a member lists one coverage id twice",
                member_id=self.member_id,
            )

    def primary_coverage_on(self, on: date) -> CoveragePeriod | None:
        """The primary coverage in force on ``on`` (both ends inclusive), or None.

        In force whatever the member's current ``active`` flag says: a member made inactive
        today was still covered for last month's days. Should two primary periods both be
        in force (the EHR feed refuses that, but a feed is not a guarantee), the one that
        started last wins, then the lower coverage id: a later policy supersedes one left
        open by mistake."""
        in_force = [
            c
            for c in self.coverages
            if c.is_primary
            and c.effective_from <= on
            and (c.effective_to is None or on <= c.effective_to)
        ]
        if not in_force:
            return None
        latest = max(c.effective_from for c in in_force)
        return min((c for c in in_force if c.effective_from == latest), key=lambda c: c.coverage_id)


@dataclass(frozen=True)
class Provider:
    """A rendering or supervising provider."""

    provider_id: str
    npi: str
    active: bool


@dataclass(frozen=True)
class Facility:
    """A facility: its state scopes supervision-ratio rules, its time zone makes business
    dates local."""

    facility_id: str
    state: str
    time_zone: str


class UnknownMember(DomainError):
    """No ``ehr.member.upserted`` event has told this tenant about the member (yet)."""

    def __init__(self, member_id: str) -> None:
        super().__init__("MEMBER_NOT_FOUND", "no member with this id", member_id=member_id)
