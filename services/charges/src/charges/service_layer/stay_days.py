"""Use cases of a stay's day charges (SPEC 5 per-diem; the rules in ``domain.per_diem``):

- ``record_stay``: a ``stays.stay.*`` event. The newest stay version is kept (an older or
  repeated one changes nothing); every day already complete (every remaining day of a
  discharged stay) is written at once, and every day written before is checked against
  the new version: rewritten when it bills otherwise (a late leave, a corrected
  admission), voided when the stay no longer has it, left alone when it bills alike.
- ``write_completed_days``: the sweep. Days complete as midnights pass where the facility
  is; one replica at a time (a transaction-scoped advisory lock) writes them for the stays
  whose next day has completed, each stay under its row lock, so an event and a sweep, or
  two sweeps, never write a day twice.

Each write tells the changed days in ``charges.charges.recorded.v1`` (through the outbox,
in the write's transaction): one message per stay and kind of change (BUILT new days,
FIXED rewritten ones, VOIDED the days gone), at most 5000 charges a message. A stay event
also tells, after those, ``charges.stay.charged.v1``: the stay version the days are now in
line with, and the changed days' versions, even when no day changed; the claims service
builds no cycle from days it cannot yet know are the newest stay's (#10)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from charges.adapters.db.charges_repository import ChargeRepository, ConcurrentChargeChange
from charges.adapters.db.repository import ProjectionRepository
from charges.adapters.db.stays_repository import StayRepository
from charges.domain.charges import (
    Charge,
    ChargeRuleViolation,
    ChargeTerms,
    PricingOverride,
    day_charge_id_for,
)
from charges.domain.per_diem import (
    Stay,
    StayDayPlan,
    StayLedger,
    complete_through,
    completes_at,
    reprice_day,
)
from charges.domain.pricing import CoverageOnDate
from charges.service_layer.recording import (
    ChargeUpdate,
    Provenance,
    publish_recorded,
    save_updates,
)
from common.db import UnitOfWork
from common.errors import DomainError
from common.leases import try_lock
from common.logging import get_logger
from common.tenants import TenantDirectory
from contracts.events import STAY_CHARGED_V1
from contracts.events.charges import ChargeChange, DayChargeVersion, StayCharged
from contracts.tenant import TenantConfig

log = get_logger(__name__)

TenantLookup = Callable[[str], TenantConfig]
Clock = Callable[[], datetime]

DAY_CHARGES_LOCK = "charges:day-charges"
#: A stay the sweep could not price (its program bills no stays per diem: a configuration
#: matter) is looked at again this much later, not on every sweep.
RETRY_REFUSED_STAY_AFTER = timedelta(hours=1)


@dataclass
class DayChargesWritten:
    """What one write did to a stay's day charges: the changed days by kind of change
    (BUILT, FIXED, VOIDED), each with the version it replaced (None: new)."""

    stay_id: str
    updates: dict[ChargeChange, list[ChargeUpdate]] = field(default_factory=dict)

    def add(self, change: ChargeChange, before: Charge | None, after: Charge) -> None:
        self.updates.setdefault(change, []).append(ChargeUpdate(before, after))

    def of(self, change: ChargeChange) -> list[Charge]:
        return [u.after for u in self.updates.get(change, [])]

    @property
    def changed(self) -> list[Charge]:
        return [u.after for updates in self.updates.values() for u in updates]


async def _zone(uow: UnitOfWork, tenant: TenantConfig, facility_id: str) -> ZoneInfo:
    """The facility's time zone (its projection), else the tenant's."""
    facility = await ProjectionRepository(uow.session).get_facility(tenant.tenant_id, facility_id)
    return ZoneInfo(facility.time_zone if facility is not None else tenant.time_zone)


async def _coverage_of(
    uow: UnitOfWork, tenant_id: str, member_id: str
) -> Callable[[date], CoverageOnDate]:
    """The member's primary coverage by date, read once for all the days."""
    member = await ProjectionRepository(uow.session).get_member(tenant_id, member_id)

    def on(day: date) -> CoverageOnDate:
        if member is None:
            return CoverageOnDate(False, None)
        return CoverageOnDate(True, member.primary_coverage_on(day))

    return on


async def _day_changes(
    uow: UnitOfWork,
    tenant: TenantConfig,
    plan: StayDayPlan,
    days: Iterable[date],
    existing: dict[date, Charge],
) -> DayChargesWritten:
    """Each of ``days`` as ``plan`` bills it, against its charge written before."""
    stay = plan.stay
    coverage_on = await _coverage_of(uow, tenant.tenant_id, stay.member_id)
    written = DayChargesWritten(stay.stay_id)
    gone = f"not a day of stay version {stay.stay_version} ({stay.status.value.lower()})"
    for day in sorted(set(days)):
        before = existing.get(day)
        if not plan.has(day):
            voided = before.voided_by_stay(gone) if before is not None else None
            if voided is not None:
                written.add(ChargeChange.VOIDED, before, voided)
            continue
        if before is None:
            terms, _ = reprice_day(plan, tenant, day, coverage_on(day), PricingOverride(), None)
            charge = Charge.build(
                tenant.tenant_id, day_charge_id_for(tenant.tenant_id, stay.stay_id, day), terms
            )
            written.add(ChargeChange.BUILT, None, charge)
            continue
        terms, override = reprice_day(
            plan, tenant, day, coverage_on(day), before.override, before.terms.revenue_code
        )
        after = before.rewritten_from_stay(terms, override)
        if after is not None:
            written.add(ChargeChange.FIXED, before, after)
    return written


async def _save(uow: UnitOfWork, written: DayChargesWritten, provenance: Provenance) -> None:
    for change, updates in written.updates.items():
        await save_updates(uow, updates, change, provenance)


def _publish(
    uow: UnitOfWork, tenant_id: str, written: DayChargesWritten, reason: str | None
) -> None:
    for change in (ChargeChange.BUILT, ChargeChange.FIXED, ChargeChange.VOIDED):
        charges = written.of(change)
        if charges:
            publish_recorded(
                uow, tenant_id, change, charges, subject=written.stay_id, reason=reason
            )


def _publish_charged(
    uow: UnitOfWork, tenant_id: str, stay: Stay, written: DayChargesWritten
) -> None:
    uow.publish(
        type=STAY_CHARGED_V1,
        tenant_id=tenant_id,
        subject=stay.stay_id,
        data=StayCharged(
            stay_id=stay.stay_id,
            stay_version=stay.stay_version,
            changed=[
                DayChargeVersion(
                    charge_id=c.charge_id,
                    charge_version=c.version,
                    date_of_service=c.terms.date_of_service,
                )
                for c in sorted(written.changed, key=lambda c: c.terms.date_of_service)
            ],
        ),
    )


def _next_due_at(
    plan: StayDayPlan, written_through: date | None, zone: ZoneInfo
) -> datetime | None:
    next_day = plan.next_day_to_write(written_through)
    return completes_at(next_day, zone) if next_day is not None else None


def _reason(stay: Stay) -> str:
    return f"stay {stay.stay_id} version {stay.stay_version}"


# --------------------------------------------------------------------------- events


async def record_stay(
    uow: UnitOfWork,
    tenants: TenantLookup,
    tenant_id: str,
    stay: Stay,
    event_id: str,
    *,
    now: datetime,
) -> DayChargesWritten | None:
    """Keep the stay version and write its days as it now says (see the module). None
    when an equal or newer version is already kept: nothing changes."""
    ledger = await StayRepository(uow.session).keep_if_newer(tenant_id, stay, event_id)
    if ledger is None:
        log.info("stay_version_already_seen", stay_id=stay.stay_id, stay_version=stay.stay_version)
        return None
    tenant = tenants(tenant_id)
    plan = StayDayPlan.of(stay, tenant)
    zone = await _zone(uow, tenant, stay.facility_id)
    through = plan.write_through(complete_through(now, zone))
    existing = {
        c.terms.date_of_service: c
        for c in await ChargeRepository(uow.session).of_stay(
            tenant_id, stay.stay_id, for_update=True
        )
    }
    days = [*plan.days(None, through), *existing]
    written = await _day_changes(uow, tenant, plan, days, existing)
    provenance = Provenance(reason=_reason(stay), event_id=event_id)
    await _save(uow, written, provenance)
    _publish(uow, tenant_id, written, provenance.reason)
    _publish_charged(uow, tenant_id, stay, written)
    await StayRepository(uow.session).mark_written(
        tenant_id,
        stay.stay_id,
        written_through=through,
        next_due_at=_next_due_at(plan, through, zone),
    )
    log.info(
        "stay_day_charges_written",
        stay_id=stay.stay_id,
        stay_version=stay.stay_version,
        built=len(written.of(ChargeChange.BUILT)),
        fixed=len(written.of(ChargeChange.FIXED)),
        voided=len(written.of(ChargeChange.VOIDED)),
    )
    return written


# --------------------------------------------------------------------------- the sweep


async def _write_completed(
    uow: UnitOfWork, tenant: TenantConfig, ledger: StayLedger, now: datetime
) -> DayChargesWritten:
    """The days of ``ledger``'s stay completed since it was last written."""
    stay = ledger.stay
    plan = StayDayPlan.of(stay, tenant)
    zone = await _zone(uow, tenant, stay.facility_id)
    through = plan.write_through(complete_through(now, zone))
    days = list(plan.days(ledger.written_through, through))
    existing: dict[date, Charge] = {}
    if days:
        existing = {
            c.terms.date_of_service: c
            for c in await ChargeRepository(uow.session).of_stay(
                tenant.tenant_id,
                stay.stay_id,
                days_from=days[0],
                days_through=days[-1],
                for_update=True,
            )
        }
    written = await _day_changes(uow, tenant, plan, days, existing)
    await _save(uow, written, Provenance(reason="days completed"))
    kept_through = ledger.written_through
    if through is not None and (kept_through is None or through > kept_through):
        kept_through = through
    await StayRepository(uow.session).mark_written(
        tenant.tenant_id,
        stay.stay_id,
        written_through=kept_through,
        next_due_at=_next_due_at(plan, kept_through, zone),
    )
    return written


async def write_completed_days(
    uow: UnitOfWork, tenants: TenantDirectory, *, now: datetime, batch_size: int = 200
) -> list[DayChargesWritten]:
    """One sweep: write the days completed by ``now`` of up to ``batch_size`` stays (the
    longest waiting first). Runs only if no other replica is sweeping (the lock is
    released at commit); commits. Answers what it wrote, stay by stay."""
    if not await try_lock(uow.session, DAY_CHARGES_LOCK):
        await uow.rollback()
        return []
    stays = StayRepository(uow.session)
    results: list[DayChargesWritten] = []
    for ledger in await stays.due(tenant_ids=tenants.tenant_ids, now=now, limit=batch_size):
        stay_id = ledger.stay.stay_id
        try:
            async with uow.session.begin_nested():
                written = await _write_completed(uow, tenants.get(ledger.tenant_id), ledger, now)
        except ConcurrentChargeChange:
            continue  # an operator's change got in first: the next sweep looks again
        except DomainError as refusal:
            log.warning("stay_days_not_written", stay_id=stay_id, code=refusal.code)
            await stays.postpone(ledger.tenant_id, stay_id, now + RETRY_REFUSED_STAY_AFTER)
            continue
        # Told only once the stay's savepoint holds: a rolled-back stay tells nothing.
        _publish(uow, ledger.tenant_id, written, "days completed")
        if written.changed:
            results.append(written)
    await uow.commit()
    if results:
        log.info(
            "day_charges_sweep_wrote",
            stays=len(results),
            charges=sum(len(w.changed) for w in results),
        )
    return results


# --------------------------------------------------------------------------- re-pricing


async def price_written_day(
    uow: UnitOfWork, tenant: TenantConfig, charge: Charge, override: PricingOverride
) -> ChargeTerms:
    """A day charge priced again from the stay as kept now, with ``override`` (a fix, a
    re-check, coverage that arrived)."""
    assert charge.terms.stay is not None, "a day charge comes from a stay"
    ledger = await StayRepository(uow.session).get(tenant.tenant_id, charge.terms.stay.stay_id)
    day = charge.terms.date_of_service
    plan = StayDayPlan.of(ledger.stay, tenant) if ledger is not None else None
    if plan is None or not plan.has(day):
        raise ChargeRuleViolation(
            "NOT_A_STAY_DAY",
            f"the stay no longer has {day.isoformat()}",
            charge_id=charge.charge_id,
        )
    coverage_on = await _coverage_of(uow, tenant.tenant_id, plan.stay.member_id)
    return plan.price(tenant, day, coverage_on(day), override)
