from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings


class ClaimsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    service_name: str = "claims"
    http_port: int = 8004
    edi_gateway_url: str | None = Field(
        default=None, description="Base URL of the EDI gateway's API (links to its files)"
    )
