"""Settings of the console: where the other services' APIs are, and how tokens are checked
(the same JWT settings the services use: ``JWT_SECRET``/``JWT_SECRET_FILE`` or
``JWT_JWKS_URL``, ``JWT_AUDIENCE``, ``JWT_ISSUER``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings


class ConsoleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    service_name: str = "console"
    http_port: int = 8006
    attendance_url: str = Field(
        default="http://127.0.0.1:8001", description="Base URL of the attendance API"
    )
    stays_url: str = Field(default="http://127.0.0.1:8002", description="stays API")
    charges_url: str = Field(default="http://127.0.0.1:8003", description="charges API")
    claims_url: str = Field(default="http://127.0.0.1:8004", description="claims API")
    edi_gateway_url: str | None = Field(
        default="http://127.0.0.1:8005", description="EDI gateway API (files, acknowledgments)"
    )
    api_timeout_seconds: float = Field(default=15.0, gt=0)
    cookie_secure: bool = Field(
        default=False, description="Mark the session cookie Secure (set it behind TLS)"
    )
    csrf_secret: SecretStr | None = Field(
        default=None,
        description="Key of the CSRF tokens; a random one per process when unset (then "
        "replicas behind a load balancer need sticky sessions)",
    )
