from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from claims.domain.projections import (
    ClaimMember,
    Coverage,
    Person,
    ProjectionRuleViolation,
    SourceStamp,
    StayStamp,
)

JANE = Person("Jane", "Doe", date(1970, 3, 15), "F")
JOHN = Person("John", "Doe", date(1968, 7, 4), "M")


def coverage(relationship: str, subscriber: Person | None) -> Coverage:
    return Coverage(
        coverage_id="cov-1",
        payer_id="medicaid",
        subscriber_id="MCD000123456",
        relationship_to_subscriber=relationship,
        is_primary=True,
        effective_from=date(2026, 1, 1),
        subscriber=subscriber,
    )


def test_the_member_is_the_2010ba_subscriber_when_the_relationship_is_18() -> None:
    own = coverage("18", None)
    member = ClaimMember("m-1", True, JANE, (own,))
    assert own.patient_is_subscriber
    assert member.subscriber_under(own) == JANE


def test_a_spouse_coverage_names_the_policy_holder_as_subscriber() -> None:
    spouse = coverage("01", JOHN)
    member = ClaimMember("m-1", True, JANE, (spouse,))
    assert not spouse.patient_is_subscriber
    assert member.subscriber_under(spouse) == JOHN


def test_a_dependent_coverage_without_its_subscriber_is_refused() -> None:
    with pytest.raises(ProjectionRuleViolation) as refused:
        coverage("19", None)
    assert refused.value.code == "SUBSCRIBER_MISMATCH"


def test_an_own_coverage_naming_another_subscriber_is_refused() -> None:
    with pytest.raises(ProjectionRuleViolation) as refused:
        coverage("18", JOHN)
    assert refused.value.code == "SUBSCRIBER_MISMATCH"


def test_a_coverage_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ProjectionRuleViolation) as refused:
        Coverage("cov-1", "medicaid", "X1", "18", True, date(2026, 2, 1), date(2026, 1, 31))
    assert refused.value.code == "COVERAGE_DATES_OUT_OF_ORDER"


def test_a_higher_stay_version_is_newer_whatever_the_event_times() -> None:
    early = SourceStamp(datetime(2026, 1, 10, 9, 0, tzinfo=UTC), "evt-b")
    late = SourceStamp(datetime(2026, 1, 10, 18, 0, tzinfo=UTC), "evt-a")
    assert StayStamp(1, late) < StayStamp(2, early)


def test_equal_event_times_are_ordered_by_event_id() -> None:
    at = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
    assert SourceStamp(at, "evt-1") < SourceStamp(at, "evt-2")
