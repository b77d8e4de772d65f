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
        "date range, until the tenant configuration's facility time zones are wired in.",
    )

    @field_validator("business_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value
