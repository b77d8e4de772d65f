from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    service_name: str = "edi-gateway"
    db_schema: str = "edi_gateway"
    http_port: int = 8005
