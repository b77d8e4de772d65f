"""What the claims use cases need besides the unit of work, picked by the composition
root (``bootstrap.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from claims.adapters.reference_data import ReferenceCatalog
from claims.domain.code_sets import DiagnosisCodeSet
from claims.service_layer.ports import EdiPreview
from common.db import utcnow
from contracts.tenant import TenantConfig


def _packaged_reference() -> ReferenceCatalog:
    return ReferenceCatalog.load_packaged()


@dataclass(frozen=True)
class ClaimsDependencies:
    #: The tenant's configuration (raises TENANT_NOT_CONFIGURED for an unknown tenant).
    tenant_config: Callable[[str], TenantConfig]
    diagnoses: DiagnosisCodeSet
    #: Base URL of the EDI gateway's API, for links to the files it serves.
    edi_gateway_url: str | None = None
    #: Revenue codes and the DRG master: packaged, refreshable.
    reference: ReferenceCatalog = field(default_factory=_packaged_reference)
    #: "Now", for cycles that close as their period ends (tests pass their own).
    clock: Callable[[], datetime] = utcnow
    #: Every tenant configured (the cycle-close sweep reads them).
    tenant_ids: Callable[[], list[str]] = list
    #: The gateway's dry-run rendering of the 837 (None: no gateway configured).
    edi_preview: EdiPreview | None = None
