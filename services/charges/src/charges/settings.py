from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings


class ChargesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    service_name: str = "charges"
    http_port: int = 8003
