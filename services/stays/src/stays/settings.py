from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings


class StaysSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    service_name: str = "stays"
    http_port: int = 8002
