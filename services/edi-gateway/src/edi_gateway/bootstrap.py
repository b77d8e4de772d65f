"""Composition root of the edi-gateway: the only place that picks implementations.

Tests swap parts through ``build_runtime``'s keywords (a renderer that misbehaves, a
validator, a transport that fails)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from common.runtime import ServiceRuntime
from common.tenants import TenantDirectory
from edi_gateway.adapters.transport import LocalFolderDelivery
from edi_gateway.adapters.x12_validator import Pyx12Validator
from edi_gateway.domain.envelope import TransactionSetRenderer
from edi_gateway.domain.institutional import InstitutionalClaimRenderer
from edi_gateway.domain.model import TransactionType
from edi_gateway.domain.professional import ProfessionalClaimRenderer
from edi_gateway.domain.x12 import Delimiters
from edi_gateway.entrypoints.http import DOMAIN_STATUSES, router
from edi_gateway.entrypoints.subscribers import build_handlers
from edi_gateway.service_layer.batching import (
    ClaimBatcher,
    ClaimValidator,
    ClearinghouseTransport,
)
from edi_gateway.settings import GatewaySettings

MIGRATIONS = Path(__file__).parent / "adapters" / "db" / "migrations"


def default_renderers() -> dict[TransactionType, TransactionSetRenderer]:
    return {
        TransactionType.PROFESSIONAL: ProfessionalClaimRenderer(),
        TransactionType.INSTITUTIONAL: InstitutionalClaimRenderer(),
    }


def build_batcher(
    runtime: ServiceRuntime,
    settings: GatewaySettings,
    *,
    renderers: Mapping[TransactionType, TransactionSetRenderer] | None = None,
    validator: ClaimValidator | None = None,
    transports: Mapping[str, ClearinghouseTransport] | None = None,
    delimiters: Delimiters | None = None,
) -> ClaimBatcher:
    local = LocalFolderDelivery(settings.edi_local_root)
    return ClaimBatcher(
        unit_of_work=runtime.unit_of_work,
        tenants=runtime.tenants,
        renderers=renderers if renderers is not None else default_renderers(),
        validator=validator or Pyx12Validator(),
        # SFTP arrives with #5; until then an SFTP clearinghouse's files wait as PENDING.
        transports=transports if transports is not None else {local.kind: local},
        delimiters=delimiters,
        retry_max_seconds=settings.edi_retry_max_seconds,
    )


def build_runtime(
    settings: GatewaySettings | None = None,
    *,
    renderers: Mapping[TransactionType, TransactionSetRenderer] | None = None,
    validator: ClaimValidator | None = None,
    transports: Mapping[str, ClearinghouseTransport] | None = None,
    delimiters: Delimiters | None = None,
) -> ServiceRuntime:
    gateway_settings = settings or GatewaySettings()

    def tenants() -> TenantDirectory:
        return runtime.tenants

    async def batcher(running: ServiceRuntime) -> None:
        await build_batcher(
            running,
            gateway_settings,
            renderers=renderers,
            validator=validator,
            transports=transports,
            delimiters=delimiters,
        ).run(gateway_settings.edi_batch_poll_seconds)

    runtime = ServiceRuntime(
        settings=gateway_settings,
        handlers=build_handlers(tenants),
        routers=[router],
        background=[batcher],
        domain_statuses=DOMAIN_STATUSES,
        title="rcm edi-gateway",
    )
    return runtime
