"""Composition root of the claims service: the only place that picks implementations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx

from claims.adapters.code_sets import SimpleIcd10CmCodeSet
from claims.adapters.db.control_numbers import CountersApart
from claims.adapters.edi_gateway import HttpEdiPreview
from claims.adapters.reference_data import ReferenceCatalog
from claims.domain.code_sets import DiagnosisCodeSet, PatternDiagnosisCodeSet
from claims.entrypoints.background import cycle_close_check
from claims.entrypoints.claims_http import build_claims_router
from claims.entrypoints.http import DOMAIN_STATUSES, router
from claims.entrypoints.institutional_http import build_institutional_router
from claims.entrypoints.subscribers import build_handlers
from claims.service_layer.dependencies import ClaimsDependencies
from claims.settings import ClaimsSettings
from common.db import utcnow
from common.logging import get_logger
from common.runtime import ServiceRuntime
from contracts.tenant import TenantConfig

MIGRATIONS = Path(__file__).parent / "adapters" / "db" / "migrations"

log = get_logger(__name__)


def diagnosis_code_set() -> DiagnosisCodeSet:
    """ICD-10-CM validity from the maintained package when it is installed; the pattern
    check otherwise (it cannot tell a made-up or non-billable code)."""
    try:
        code_set: DiagnosisCodeSet = SimpleIcd10CmCodeSet.load()
    except ImportError:
        code_set = PatternDiagnosisCodeSet()
    log.info("diagnosis_code_set", code_set=code_set.name)
    return code_set


def build_runtime(
    settings: ClaimsSettings | None = None,
    *,
    diagnoses: DiagnosisCodeSet | None = None,
    clock: Callable[[], datetime] = utcnow,
    background: bool = True,
    edi_transport: httpx.AsyncBaseTransport | None = None,
) -> ServiceRuntime:
    """``clock`` and ``background`` let tests drive the time-driven cycle close;
    ``edi_transport`` answers the calls to the EDI gateway in tests."""
    settings = settings or ClaimsSettings()
    runtime: ServiceRuntime | None = None

    def tenant_config(tenant_id: str) -> TenantConfig:
        if runtime is None:
            raise RuntimeError("the claims runtime is not built yet")
        return runtime.tenants.get(tenant_id)

    reference = ReferenceCatalog.load_packaged()
    log.info(
        "reference_tables_loaded",
        revenue_codes=len(reference.packaged().revenue_codes),
        drgs=len(reference.packaged().drg_master),
    )
    control_numbers = CountersApart.connect(settings.database_url, settings.db_schema)
    deps = ClaimsDependencies(
        tenant_config=tenant_config,
        diagnoses=diagnoses or diagnosis_code_set(),
        edi_gateway_url=settings.edi_gateway_url,
        reference=reference,
        clock=clock,
        edi_preview=None
        if settings.edi_gateway_url is None
        else HttpEdiPreview(settings.edi_gateway_url, transport=edi_transport),
        control_numbers=control_numbers,
        stays_per_transaction=settings.stays_per_transaction,
    )
    runtime = ServiceRuntime(
        settings=settings,
        handlers=build_handlers(deps),
        routers=[router, build_claims_router(deps), build_institutional_router(deps)],
        background=[cycle_close_check(deps)] if background else [],
        domain_statuses=DOMAIN_STATUSES,
        title="rcm claims",
        closers=[control_numbers.close],
    )
    return runtime
