"""Composition root of the edi-gateway: the only place that picks implementations.

Tests swap parts through ``build_runtime``'s keywords (a renderer that misbehaves, a
validator, a transport that fails)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from common.runtime import ServiceRuntime
from common.tenants import TenantDirectory
from edi_gateway.adapters.acknowledgment_reader import Pyx12AcknowledgmentReader
from edi_gateway.adapters.local_acknowledgments import LocalFolderAcknowledgments
from edi_gateway.adapters.sftp import SftpClearinghouse
from edi_gateway.adapters.transport import LocalFolderDelivery
from edi_gateway.adapters.x12_validator import Pyx12Validator
from edi_gateway.domain.envelope import TransactionSetRenderer
from edi_gateway.domain.institutional import InstitutionalClaimRenderer
from edi_gateway.domain.model import TransactionType
from edi_gateway.domain.professional import ProfessionalClaimRenderer
from edi_gateway.domain.x12 import Delimiters
from edi_gateway.entrypoints import acknowledgments_http
from edi_gateway.entrypoints.http import DOMAIN_STATUSES, router
from edi_gateway.entrypoints.runtime import GatewayRuntime
from edi_gateway.entrypoints.subscribers import build_handlers
from edi_gateway.service_layer.acknowledgments import AcknowledgmentPoller, AcknowledgmentReader
from edi_gateway.service_layer.batching import (
    ClaimBatcher,
    ClaimValidator,
    ClearinghouseTransport,
)
from edi_gateway.service_layer.ports import AcknowledgmentSource
from edi_gateway.service_layer.preview import InterchangePreviewer
from edi_gateway.service_layer.retry import RetrySchedule
from edi_gateway.settings import GatewaySettings

MIGRATIONS = Path(__file__).parent / "adapters" / "db" / "migrations"


def default_renderers() -> dict[TransactionType, TransactionSetRenderer]:
    return {
        TransactionType.PROFESSIONAL: ProfessionalClaimRenderer(),
        TransactionType.INSTITUTIONAL: InstitutionalClaimRenderer(),
    }


def default_transports(settings: GatewaySettings) -> dict[str, ClearinghouseTransport]:
    """One delivery per transport kind (the tenant's clearinghouse names the kind)."""
    local = LocalFolderDelivery(settings.edi_local_root)
    sftp = SftpClearinghouse(operation_timeout_seconds=settings.edi_sftp_operation_timeout_seconds)
    return {local.kind: local, sftp.kind: sftp}


def sftp_acknowledgments(settings: GatewaySettings) -> AcknowledgmentSource:
    """The SFTP clearinghouses' acknowledgment folders (``default_acknowledgment_sources``
    adds it next to LOCAL_FOLDER)."""
    return SftpClearinghouse(operation_timeout_seconds=settings.edi_sftp_operation_timeout_seconds)


def default_acknowledgment_sources(settings: GatewaySettings) -> dict[str, AcknowledgmentSource]:
    """One acknowledgment reader per transport kind."""
    local = LocalFolderAcknowledgments(settings.edi_local_root)
    sftp = sftp_acknowledgments(settings)
    return {local.kind: local, sftp.kind: sftp}


def build_acknowledgment_poller(
    runtime: GatewayRuntime,
    settings: GatewaySettings,
    *,
    sources: Mapping[str, AcknowledgmentSource] | None = None,
) -> AcknowledgmentPoller:
    return AcknowledgmentPoller(
        unit_of_work=runtime.unit_of_work,
        tenants=runtime.tenants,
        sources=sources if sources is not None else default_acknowledgment_sources(settings),
        reader=runtime.acknowledgment_reader,
        retries=RetrySchedule(settings.edi_retry_max_seconds),
    )


def build_batcher(
    runtime: ServiceRuntime,
    settings: GatewaySettings,
    *,
    renderers: Mapping[TransactionType, TransactionSetRenderer] | None = None,
    validator: ClaimValidator | None = None,
    transports: Mapping[str, ClearinghouseTransport] | None = None,
    delimiters: Delimiters | None = None,
) -> ClaimBatcher:
    return ClaimBatcher(
        unit_of_work=runtime.unit_of_work,
        tenants=runtime.tenants,
        renderers=renderers if renderers is not None else default_renderers(),
        validator=validator or Pyx12Validator(),
        transports=transports if transports is not None else default_transports(settings),
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
    acknowledgment_sources: Mapping[str, AcknowledgmentSource] | None = None,
    acknowledgment_reader: AcknowledgmentReader | None = None,
) -> GatewayRuntime:
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

    async def acknowledgments(running: ServiceRuntime) -> None:
        await build_acknowledgment_poller(
            runtime, gateway_settings, sources=acknowledgment_sources
        ).run(gateway_settings.edi_ack_poll_seconds)

    # The dry run renders and validates exactly as the batcher does.
    previewer = InterchangePreviewer(
        renderers=renderers if renderers is not None else default_renderers(),
        validator=validator or Pyx12Validator(),
        delimiters=delimiters,
    )
    runtime = GatewayRuntime(
        settings=gateway_settings,
        handlers=build_handlers(tenants),
        routers=[router, acknowledgments_http.router],
        background=[batcher, acknowledgments],
        domain_statuses=DOMAIN_STATUSES | acknowledgments_http.DOMAIN_STATUSES,
        title="rcm edi-gateway",
        acknowledgment_reader=acknowledgment_reader or Pyx12AcknowledgmentReader(),
        previewer=previewer,
    )
    return runtime
