"""Reading charges for the API: filtered lists (or stay charges grouped by stay, a header
with totals per stay) and single charges, each with its age in days (date of service to
today in the tenant's time zone)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from charges.adapters.db.charges_repository import ChargeFilter, ChargeRepository
from charges.adapters.db.stays_repository import StayRepository
from charges.domain.charges import Charge, ChargeNotFound, age_in_days
from charges.domain.per_diem import Stay
from charges.service_layer.group_sessions import TenantLookup
from contracts.events.charges import ChargeStatus


@dataclass(frozen=True)
class AgedCharge:
    charge: Charge
    age_days: int


def tenant_today(tenants: TenantLookup, tenant_id: str, now: datetime | None = None) -> date:
    """Today's calendar date where the tenant's facilities are."""
    zone = ZoneInfo(tenants(tenant_id).time_zone)
    return (now or datetime.now(UTC)).astimezone(zone).date()


def _aged(charges: list[Charge], today: Callable[[], date]) -> list[AgedCharge]:
    if not charges:
        return []
    day = today()
    return [AgedCharge(c, age_in_days(c.terms.date_of_service, day)) for c in charges]


async def list_charges(
    session: AsyncSession,
    tenants: TenantLookup,
    tenant_id: str,
    where: ChargeFilter,
    *,
    limit: int,
    offset: int,
) -> list[AgedCharge]:
    charges = await ChargeRepository(session).list(tenant_id, where, limit=limit, offset=offset)
    return _aged(charges, lambda: tenant_today(tenants, tenant_id))


async def get_charge(
    session: AsyncSession, tenants: TenantLookup, tenant_id: str, charge_id: str
) -> AgedCharge:
    charge = await ChargeRepository(session).get(tenant_id, charge_id)
    if charge is None:
        raise ChargeNotFound(charge_id)
    return _aged([charge], lambda: tenant_today(tenants, tenant_id))[0]


def aged(charges: list[Charge], tenants: TenantLookup, tenant_id: str) -> list[AgedCharge]:
    return _aged(charges, lambda: tenant_today(tenants, tenant_id))


@dataclass(frozen=True)
class StayCharges:
    """One stay's charges (those the filters keep) under its header: the stay as kept
    now, and totals over its charges that are not void."""

    stay_id: str
    stay: Stay | None
    charges: list[AgedCharge]

    @property
    def billable(self) -> list[Charge]:
        return [a.charge for a in self.charges if a.charge.status is not ChargeStatus.VOID]

    @property
    def covered_days(self) -> int:
        return sum(1 for c in self.billable if c.terms.covered)

    @property
    def leave_days(self) -> int:
        return sum(1 for c in self.billable if not c.terms.covered)

    @property
    def total_amount(self) -> Decimal:
        return sum((c.terms.amount for c in self.billable), Decimal("0.00"))

    def count(self, status: ChargeStatus) -> int:
        return sum(1 for a in self.charges if a.charge.status is status)


async def list_charges_by_stay(
    session: AsyncSession,
    tenants: TenantLookup,
    tenant_id: str,
    where: ChargeFilter,
    *,
    limit: int,
    offset: int,
) -> list[StayCharges]:
    """The filtered stay charges of ``limit`` stays from ``offset`` (the stay with the
    latest day first), grouped by stay, each stay's days in date order."""
    grouped = await ChargeRepository(session).list_by_stay(
        tenant_id, where, limit=limit, offset=offset
    )
    if not grouped:
        return []
    stays = await StayRepository(session).get_many(tenant_id, grouped)
    day = tenant_today(tenants, tenant_id)
    return [
        StayCharges(
            stay_id,
            stays[stay_id].stay if stay_id in stays else None,
            [AgedCharge(c, age_in_days(c.terms.date_of_service, day)) for c in charges],
        )
        for stay_id, charges in grouped.items()
    ]
