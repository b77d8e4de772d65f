"""Service settings: refused when they cannot work, defaults that follow the service."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from common.runtime import ServiceRuntime
from common.settings import ServiceSettings


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PREFETCH",
        "DB_POOL_SIZE",
        "DB_MAX_OVERFLOW",
        "DB_POOL_PRE_PING",
        "DB_SCHEMA",
        "JWT_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)


def test_prefetch_larger_than_the_connection_pool_is_refused() -> None:
    with pytest.raises(ValidationError, match="prefetch"):
        ServiceSettings(prefetch=16, db_pool_size=10, db_max_overflow=5)


def test_prefetch_as_large_as_the_connection_pool_is_accepted() -> None:
    settings = ServiceSettings(prefetch=15, db_pool_size=10, db_max_overflow=5)

    assert settings.prefetch == 15


def test_pooled_connections_are_tested_before_use_unless_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The runtime builds its engine from the settings (nothing connects here).
    assert ServiceRuntime(settings=ServiceSettings()).engine.pool._pre_ping is True
    monkeypatch.setenv("DB_POOL_PRE_PING", "false")
    assert ServiceRuntime(settings=ServiceSettings()).engine.pool._pre_ping is False


def test_schema_defaults_to_the_service_name_in_snake_case() -> None:
    assert ServiceSettings(service_name="edi-gateway").db_schema == "edi_gateway"


def test_jwt_secret_can_come_from_a_mounted_file(tmp_path: Path) -> None:
    secret = tmp_path / "jwt"
    secret.write_text("mounted-secret-0123456789-0123456789\n")

    settings = ServiceSettings(jwt_secret_file=secret)

    assert settings.jwt_shared_secret() == "mounted-secret-0123456789-0123456789"
