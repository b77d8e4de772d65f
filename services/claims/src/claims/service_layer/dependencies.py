"""What the claims use cases need besides the unit of work, picked by the composition
root (``bootstrap.py``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from claims.domain.code_sets import DiagnosisCodeSet
from contracts.tenant import TenantConfig


@dataclass(frozen=True)
class ClaimsDependencies:
    #: The tenant's configuration (raises TENANT_NOT_CONFIGURED for an unknown tenant).
    tenant_config: Callable[[str], TenantConfig]
    diagnoses: DiagnosisCodeSet
    #: Base URL of the EDI gateway's API, for links to the files it serves.
    edi_gateway_url: str | None = None
