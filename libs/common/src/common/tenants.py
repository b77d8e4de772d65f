"""Tenant configurations, loaded once from ``TENANT_CONFIG_DIR`` (a ConfigMap on
Kubernetes, a volume in compose, a folder locally) and looked up by the event's or the
token's tenant. A tenant with no configuration is a coded refusal, never a default."""

from __future__ import annotations

from pathlib import Path

from common.errors import DomainError
from contracts.tenant import TenantConfig, load_tenant_configs


class TenantNotConfigured(DomainError):
    def __init__(self, tenant_id: str) -> None:
        super().__init__("TENANT_NOT_CONFIGURED", f"no configuration for tenant {tenant_id}")


class TenantDirectory:
    def __init__(self, configs: dict[str, TenantConfig]) -> None:
        self._configs = dict(configs)

    @classmethod
    def load(cls, folder: Path | None) -> TenantDirectory:
        """Every tenant file of ``folder`` (an invalid one fails the start, with paths)."""
        return cls(load_tenant_configs(folder) if folder is not None else {})

    def get(self, tenant_id: str) -> TenantConfig:
        config = self._configs.get(tenant_id)
        if config is None:
            raise TenantNotConfigured(tenant_id)
        return config

    def __contains__(self, tenant_id: object) -> bool:
        return tenant_id in self._configs

    @property
    def tenant_ids(self) -> list[str]:
        return sorted(self._configs)
