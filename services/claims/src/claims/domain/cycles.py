"""Billing cycles of a stay (SPEC 6, docs/design/per-diem.md): the program's billing period
cuts the stay's days into cycles, one claim each.

Day conventions (the midnight rule): a *stay day* is a day the member is a patient at the
midnight ending it. The admission day counts; the discharge day does not, unless the
admission and discharge fall on one date or the program bills the discharge day. Leave
days are stay days too (non-covered ones).

Cycles are cut over stay days only, so a discharge day that is not billed never makes a
cycle of its own: the cycle holding the last stay day is the final one and its statement
runs through the discharge date. That is SPEC 6's fold ("a cycle that would hold nothing
but an unbillable discharge day is folded into the cycle before it").

Cycles already billed outside our hands (submitted claims) keep their days as they were
billed; the remaining days are cut around them, each cycle by the billing period in force
on its first day (a change applies from the next unbilled day). An operator may ask for an
explicit cycle (from..to), which is cut as asked."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from contracts.tenant import BillingPeriod

ONE_DAY = timedelta(days=1)
STILL_A_PATIENT = "30"


class FrequencyCode(StrEnum):
    """CLM05-3 of a cycle claim (NUBC type-of-bill frequency)."""

    ADMIT_THROUGH_DISCHARGE = "1"
    INTERIM_FIRST = "2"
    INTERIM_CONTINUING = "3"
    INTERIM_LAST = "4"


def period_containing(day: date, period: BillingPeriod) -> tuple[date, date | None]:
    """The billing period holding ``day``: (first day, last day); SPAN has no last day
    (it runs until the discharge)."""
    if period is BillingPeriod.DAILY:
        return day, day
    if period is BillingPeriod.WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if period is BillingPeriod.MONTHLY:
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)
    return day, None


@dataclass(frozen=True)
class StayDays:
    """Which days of a stay are stay days: ``admit_date`` through ``last_day`` (None while
    the member is still a patient)."""

    admit_date: date
    discharge_date: date | None = None
    discharge_day_billable: bool = False

    def __post_init__(self) -> None:
        if self.discharge_date is not None and self.discharge_date < self.admit_date:
            raise ValueError("a discharge before the admission")

    @property
    def last_day(self) -> date | None:
        discharge = self.discharge_date
        if discharge is None:
            return None
        if discharge == self.admit_date or self.discharge_day_billable:
            return discharge
        return discharge - ONE_DAY

    def is_stay_day(self, day: date) -> bool:
        last = self.last_day
        return self.admit_date <= day and (last is None or day <= last)


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("a range that ends before it starts")

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last

    def overlaps(self, other: DateRange) -> bool:
        return self.first <= other.last and other.first <= self.last

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class BilledRange:
    """Days a claim that left our hands bills (it keeps them until reversed, #5)."""

    claim_id: str
    days: DateRange


@dataclass(frozen=True)
class Cycle:
    """One cycle: the stay days ``first_day``..``last_day`` it bills.

    ``period_end`` is when it closes by time (None: only at discharge, as SPAN does);
    ``final`` marks the cycle holding the last stay day of a discharged stay."""

    first_day: date
    last_day: date
    period_end: date | None
    final: bool
    billing_period: BillingPeriod | None  # None for an explicit (operator's) cycle
    billed_by: str | None = None  # the claim that left our hands with these days

    @property
    def days(self) -> DateRange:
        return DateRange(self.first_day, self.last_day)

    def closed(self, today: date) -> bool:
        """Closed at discharge, or once its whole period is past (``today`` is the
        facility's date)."""
        return (
            self.final
            or self.billed_by is not None
            or (self.period_end is not None and self.period_end < today)
        )


def statement_through(cycle: Cycle, stay: StayDays) -> date:
    """DTP*434's through date: the cycle's last day, or the discharge date on the final."""
    if cycle.final and stay.discharge_date is not None:
        return stay.discharge_date
    return cycle.last_day


def frequency_code(cycle: Cycle, admit_date: date | None) -> FrequencyCode:
    """1 admission through discharge in one claim; 2 the first of a longer stay; 3 a middle
    one; 4 the one holding the discharge."""
    first = admit_date is not None and cycle.first_day <= admit_date <= cycle.last_day
    if cycle.final:
        return FrequencyCode.ADMIT_THROUGH_DISCHARGE if first else FrequencyCode.INTERIM_LAST
    return FrequencyCode.INTERIM_FIRST if first else FrequencyCode.INTERIM_CONTINUING


def days_in_statement(first: date, through: date, *, through_is_a_stay_day: bool) -> int:
    """Through - from, plus one when the through date itself counts (still a patient at its
    midnight: status 30; or a billed discharge day), and at least one (SPEC 6)."""
    return max(1, (through - first).days + (1 if through_is_a_stay_day else 0))


def plan_cycles(
    stay: StayDays,
    period_on: Callable[[date], BillingPeriod],
    *,
    billed: Sequence[BilledRange] = (),
    explicit: Sequence[DateRange] = (),
    today: date,
) -> list[Cycle]:
    """Cut the stay into cycles, in date order, tiling its stay days without gap or
    overlap. An open stay is cut through the period holding ``today`` (its last cycle is
    then still open). Billed ranges keep their days (clipped to the stay); explicit ranges
    are cut as asked where they do not overlap a billed one."""
    end = stay.last_day
    horizon = end if end is not None else max(today, stay.admit_date)
    fixed = sorted(
        (
            (DateRange(max(b.days.first, stay.admit_date), min(b.days.last, horizon)), b.claim_id)
            for b in billed
            if b.days.last >= stay.admit_date and b.days.first <= horizon
        ),
        key=lambda item: item[0].first,
    )
    asked = sorted(
        (
            DateRange(max(e.first, stay.admit_date), min(e.last, horizon))
            for e in explicit
            if e.last >= stay.admit_date and e.first <= horizon
        ),
        key=lambda r: r.first,
    )
    asked = [r for r in asked if not any(r.overlaps(f) for f, _ in fixed)]

    cycles: list[Cycle] = []
    day = stay.admit_date
    while day <= horizon:
        holder = next(((r, c) for r, c in fixed if r.holds(day)), None)
        if holder is not None:
            days, claim_id = holder
            cycles.append(Cycle(day, days.last, days.last, False, None, claim_id))
            day = days.last + ONE_DAY
            continue
        boundaries = [r.first - ONE_DAY for r, _ in fixed if r.first > day]
        chosen = next((r for r in asked if r.holds(day)), None)
        if chosen is not None:
            last = min([chosen.last, *boundaries])
            cycles.append(Cycle(day, last, chosen.last, False, None))
            day = last + ONE_DAY
            continue
        boundaries += [r.first - ONE_DAY for r in asked if r.first > day]
        period = period_on(day)
        _, period_end = period_containing(day, period)
        stops = [d for d in (period_end, end, *boundaries) if d is not None]
        if not stops:  # an open SPAN: runs until the discharge
            cycles.append(Cycle(day, horizon, None, False, period))
            break
        last = min(stops)
        cycles.append(Cycle(day, last, period_end, False, period))
        if end is None and last >= horizon:
            break
        day = last + ONE_DAY
    if end is not None and cycles and cycles[-1].last_day == end:
        cycles[-1] = _final(cycles[-1])
    return cycles


def _final(cycle: Cycle) -> Cycle:
    return Cycle(
        cycle.first_day,
        cycle.last_day,
        cycle.period_end,
        True,
        cycle.billing_period,
        cycle.billed_by,
    )
