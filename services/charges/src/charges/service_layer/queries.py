"""Reading charges for the API: filtered lists and single charges, each with its age in
days (date of service to today in the tenant's time zone)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from charges.adapters.db.charges_repository import ChargeFilter, ChargeRepository
from charges.domain.charges import ChargeNotFound, GroupCharge, age_in_days
from charges.service_layer.group_sessions import TenantLookup


@dataclass(frozen=True)
class AgedCharge:
    charge: GroupCharge
    age_days: int


def tenant_today(tenants: TenantLookup, tenant_id: str, now: datetime | None = None) -> date:
    """Today's calendar date where the tenant's facilities are."""
    zone = ZoneInfo(tenants(tenant_id).time_zone)
    return (now or datetime.now(UTC)).astimezone(zone).date()


def _aged(charges: list[GroupCharge], today: Callable[[], date]) -> list[AgedCharge]:
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


def aged(charges: list[GroupCharge], tenants: TenantLookup, tenant_id: str) -> list[AgedCharge]:
    return _aged(charges, lambda: tenant_today(tenants, tenant_id))
