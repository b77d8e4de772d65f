"""docker-compose.yml: schema-valid and consistent with the image's programs."""

from __future__ import annotations

import copy
from typing import Any

import check_deploy
import pytest


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return check_deploy.load_compose()


def test_the_compose_file_validates_against_the_compose_specification(compose):
    assert check_deploy.compose_schema_problems(compose) == []


def test_every_command_environment_health_check_and_migration_is_consistent(compose):
    assert check_deploy.compose_consistency_problems(compose) == []


def test_the_mounted_tenant_file_validates_and_its_key_files_are_mounted(compose):
    assert check_deploy.compose_tenant_problems(compose) == []


def test_a_schema_violation_is_reported(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["attendance"]["depends_on"]["postgres"]["condition"] = "service_up"
    problems = check_deploy.compose_schema_problems(broken)
    assert any(p.startswith("services/attendance/depends_on") for p in problems)


def test_a_subcommand_the_service_does_not_have_fails(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["charges"]["command"] = ["charges", "serve-forever"]
    problems = check_deploy.compose_consistency_problems(broken)
    assert any(p.startswith("charges:") and "refused" in p for p in problems)


def test_a_program_the_image_does_not_have_fails(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["claims"]["command"] = ["claim", "serve"]
    problems = check_deploy.compose_consistency_problems(broken)
    assert any("'claim' is not a program of the image" in p for p in problems)


def test_an_unknown_option_of_the_sandbox_fails(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["clearinghouse-sandbox"]["command"].append("--sftp-prot=2222")
    problems = check_deploy.compose_consistency_problems(broken)
    assert any(p.startswith("clearinghouse-sandbox:") and "refused" in p for p in problems)


def test_an_environment_variable_no_settings_class_knows_fails(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["stays"]["environment"]["HL7_PORT"] = "2575"
    problems = check_deploy.compose_consistency_problems(broken)
    assert "stays: stays: HL7_PORT is not a setting of the program" in problems


def test_settings_that_do_not_validate_fail(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["attendance"]["environment"]["PREFETCH"] = "100"
    problems = check_deploy.compose_consistency_problems(broken)
    assert any(p.startswith("attendance:") and "ValidationError" in p for p in problems)


def test_a_health_check_on_a_path_the_service_does_not_serve_fails(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["edi-gateway"]["healthcheck"]["test"][3] = "http://127.0.0.1:8005/ready"
    problems = check_deploy.compose_consistency_problems(broken)
    assert "edi-gateway: health check path /ready is not served by edi-gateway" in problems


def test_a_service_that_does_not_wait_for_its_migration_fails(compose):
    broken = copy.deepcopy(compose)
    del broken["services"]["claims"]["depends_on"]["claims-migrate"]
    problems = check_deploy.compose_consistency_problems(broken)
    assert "claims: does not wait for claims-migrate to complete" in problems


def test_a_literal_database_password_fails(compose):
    broken = copy.deepcopy(compose)
    env = dict(broken["services"]["charges"]["environment"])
    env["DATABASE_URL"] = "postgresql+asyncpg://rcm:hunter2@postgres:5432/rcm"
    broken["services"]["charges"]["environment"] = env
    problems = check_deploy.compose_consistency_problems(broken)
    assert "charges: DATABASE_URL is a literal; use ${VAR}" in problems


def test_interpolation_takes_the_default_when_the_variable_is_unset():
    value = "amqp://rcm:${RABBITMQ_PASSWORD:-dev}@rabbitmq/ $${HOME}"
    assert check_deploy.interpolate(value, {}) == "amqp://rcm:dev@rabbitmq/ ${HOME}"
    assert check_deploy.interpolate(value, {"RABBITMQ_PASSWORD": "s"}).startswith("amqp://rcm:s@")
