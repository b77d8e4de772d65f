from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings


class ChargesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    service_name: str = "charges"
    http_port: int = 8003

    day_charges_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often each replica sweeps for stay days that have completed, to "
        "write their day charges (one replica sweeps at a time).",
    )
    day_charges_batch_size: int = Field(
        default=200, ge=1, le=5000, description="Stays written per sweep, at most."
    )
