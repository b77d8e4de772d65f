from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings


class AttendanceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    service_name: str = "attendance"
    http_port: int = 8001
    business_time_zone: str = Field(
        default="UTC",
        description="IANA zone whose calendar date is 'today' for the session list's default "
        "date range, for a tenant without a configuration file (a configured tenant's own "
        "time zone wins).",
    )

    auto_close_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often each replica sweeps for sessions past their end to close "
        "(one replica sweeps at a time).",
    )
    auto_close_batch_size: int = Field(default=200, ge=1, le=5000)

    @field_validator("business_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value
