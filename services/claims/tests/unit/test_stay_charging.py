"""How far the charges service has brought a stay's day charges (#10): the record kept
from ``charges.stay.charged.v1`` and the days it says are still on their way."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from claims.domain.charges import AwaitedDay, ChargeOnFile, StayCharging

JAN_20, JAN_21, FEB_02 = date(2026, 1, 20), date(2026, 1, 21), date(2026, 2, 2)


def held(charge_id: str, version: int, day: date) -> ChargeOnFile:
    return ChargeOnFile(
        charge_id=charge_id,
        charge_version=version,
        status="READY",
        kind="PER_DIEM",
        filing_type="INSTITUTIONAL",
        member_id="m-1",
        program_id="residential",
        facility_id="fac-1",
        date_of_service=day,
        units=Decimal(1),
        amount=Decimal("300.00"),
        rate=Decimal("300.00"),
        stay_id="stay-1",
    )


def test_a_day_written_for_the_stay_version_is_awaited_until_held_at_that_version() -> None:
    charging = StayCharging(1).told(2, [AwaitedDay("c-20", 2, JAN_20)], [held("c-20", 1, JAN_20)])
    assert charging == StayCharging(2, (AwaitedDay("c-20", 2, JAN_20),))
    assert charging.missing([held("c-20", 1, JAN_20)], JAN_20, JAN_20) == [
        AwaitedDay("c-20", 2, JAN_20)
    ]
    assert charging.missing([held("c-20", 2, JAN_20)], JAN_20, JAN_20) == []
    assert charging.missing([held("c-20", 3, JAN_20)], JAN_20, JAN_20) == []  # newer: fine
    assert charging.missing([], JAN_20, JAN_20) == [AwaitedDay("c-20", 2, JAN_20)]  # not built


def test_only_the_days_of_the_period_asked_about_are_missing() -> None:
    charging = StayCharging(3, (AwaitedDay("c-20", 2, JAN_20), AwaitedDay("c-feb", 1, FEB_02)))
    assert charging.missing([], date(2026, 1, 1), date(2026, 1, 31)) == [
        AwaitedDay("c-20", 2, JAN_20)
    ]
    assert charging.missing([], date(2026, 2, 1), date(2026, 2, 28)) == [
        AwaitedDay("c-feb", 1, FEB_02)
    ]


def test_a_message_that_overtakes_another_keeps_what_the_earlier_one_awaits() -> None:
    """Version 3's word arrives while version 2's day is still on its way: both wait."""
    after_2 = StayCharging(1).told(2, [AwaitedDay("c-20", 2, JAN_20)], [])
    after_3 = after_2.told(3, [AwaitedDay("c-21", 2, JAN_21)], [])
    assert after_3 == StayCharging(
        3, (AwaitedDay("c-20", 2, JAN_20), AwaitedDay("c-21", 2, JAN_21))
    )
    # The same day rewritten again: the newer version is the one awaited.
    after_4 = after_3.told(4, [AwaitedDay("c-20", 3, JAN_20)], [])
    assert AwaitedDay("c-20", 3, JAN_20) in after_4.awaited
    assert AwaitedDay("c-20", 2, JAN_20) not in after_4.awaited


def test_days_already_held_are_dropped_and_an_older_word_changes_nothing() -> None:
    kept = StayCharging(3, (AwaitedDay("c-20", 2, JAN_20),))
    pruned = kept.told(3, [], [held("c-20", 2, JAN_20)])
    assert pruned == StayCharging(3, ())
    assert pruned.told(2, [], []) == pruned  # an older version's word, redelivered late
