"""Settings shared by every service. Each service subclasses :class:`ServiceSettings` once;
nothing connects at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


class ServiceSettings(BaseSettings):
    """Environment variables, e.g. ``DATABASE_URL``, ``AMQP_URL``, ``DB_SCHEMA``.

    Secrets may come from a mounted file instead: ``JWT_SECRET_FILE=/run/secrets/jwt``.
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    service_name: str = "service"
    database_url: str = DEFAULT_DATABASE_URL
    migration_database_url: str | None = Field(
        default=None,
        description="the schema owner's URL for `migrate` (default DATABASE_URL); with "
        "DB_RUNTIME_ROLE the service runs as a role that owns nothing",
    )
    db_runtime_role: str | None = Field(
        default=None,
        description="role `migrate` grants the runtime privileges on the schema to (read and "
        "write rows; insert-only on audit tables); normally DATABASE_URL's user",
    )
    db_schema: str = Field(default="", description="Postgres schema owned by the service")
    db_pool_size: int = 10
    db_max_overflow: int = 5
    db_pool_pre_ping: bool = Field(
        default=True,
        description="test each pooled connection with a round trip before use (survives a "
        "database restart without an error); false saves that round trip per transaction",
    )
    amqp_url: str = DEFAULT_AMQP_URL
    topology_prefix: str = Field(default="", description="prefix of exchange/queue names")
    prefetch: int = Field(default=8, description="unacked deliveries per consumer; keep <= pool")
    delivery_limit: int = 5
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    log_json: bool = True
    jwt_secret: SecretStr | None = None
    jwt_secret_file: Path | None = None
    jwt_jwks_url: str | None = None
    jwt_audience: str = "rcm"
    jwt_issuer: str | None = None
    tenant_config_dir: Path | None = None
    outbox_poll_seconds: float = 0.2
    outbox_batch_size: int = 100
    graceful_timeout_seconds: float = 15.0
    otel_traces_exporter: Literal["none", "console", "otlp"] = Field(
        default="none", description="where spans go; with none they still name logs' traces"
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP collector base URL, e.g. http://otel:4318"
    )
    otel_service_name: str | None = Field(default=None, description="defaults to service_name")

    @model_validator(mode="after")
    def _defaults(self) -> ServiceSettings:
        if not self.db_schema:
            self.db_schema = self.service_name.replace("-", "_")
        if not self.otel_service_name:
            self.otel_service_name = self.service_name
        if self.prefetch > self.db_pool_size + self.db_max_overflow:
            # Each delivery runs as its own task holding a connection; more in flight than
            # the pool holds would only queue inside the pool and time out.
            raise ValueError("prefetch must not exceed db_pool_size + db_max_overflow")
        return self

    def jwt_shared_secret(self) -> str | None:
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        if self.jwt_secret_file is not None:
            return self.jwt_secret_file.read_text().strip()
        return None
