from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings


class StaysSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    service_name: str = "stays"
    http_port: int = 8002
    hl7_mllp_port: int = Field(
        default=0, ge=0, le=65535, description="HL7 v2 ADT feed (MLLP); 0 turns it off."
    )
    hl7_mllp_host: str = Field(default="127.0.0.1", description="Interface the feed binds.")
    hl7_max_message_bytes: int = Field(default=1_048_576, ge=1024)
    hl7_receiving_application: str = Field(default="RCM-STAYS", description="ACK MSH-3.")
    hl7_receiving_facility: str = Field(default="RCM", description="ACK MSH-4.")
