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
    cycle_close_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often each replica checks for stay cycles whose period has ended "
        "(one replica checks at a time).",
    )
    cycle_close_batch_size: int = Field(default=200, ge=1, le=5000)
    stays_per_transaction: int = Field(
        default=50,
        ge=1,
        le=500,
        description="Stays built in one transaction by the cycle-close check and by a "
        "build of many stays (their locks and facts taken in a few statements); a chunk that "
        "fails is done again stay by stay.",
    )
