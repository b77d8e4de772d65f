"""No PHI in logs: the logging pipeline itself redacts names, birth dates and subscriber
ids, wherever a call site put them; ids still print (SPEC 10)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from common.db import create_engine
from common.logging import configure_logging, get_logger, register_phi_keys

FIRST_NAME = "Zelda"
LAST_NAME = "Sayre"
BIRTH_DATE = "1961-04-02"
SUBSCRIBER_ID = "XJH448812"
PHI = (FIRST_NAME, LAST_NAME, BIRTH_DATE, SUBSCRIBER_ID)


class Member(BaseModel):
    member_id: str
    first_name: str
    last_name: str
    birth_date: date
    subscriber_id: str


@dataclass(frozen=True)
class Subscriber:
    member_id: str
    first_name: str
    birth_date: date
    subscriber_id: str


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    configure_logging("lib-test", "INFO", json=True)
    try:
        yield lambda: capsys.readouterr().out
    finally:
        structlog.configure(**config)
        structlog.contextvars.clear_contextvars()
        root.handlers[:] = handlers
        root.setLevel(level)


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_no_phi(text: str) -> None:
    leaked = [value for value in PHI if value in text]
    assert not leaked, f"{leaked} printed in {text}"


def validation_error_with_the_whole_member() -> ValidationError:
    """pydantic prints the input of a missing-field error: the whole member dict."""
    try:
        Member.model_validate(
            {
                "first_name": FIRST_NAME,
                "last_name": LAST_NAME,
                "birth_date": BIRTH_DATE,
                "subscriber_id": SUBSCRIBER_ID,
            }
        )
    except ValidationError as exc:
        return exc
    raise AssertionError("expected a validation error")


def validation_error_with_one_value() -> ValidationError:
    try:
        Member.model_validate(
            {
                "member_id": "m-42",
                "first_name": FIRST_NAME,
                "last_name": LAST_NAME,
                "birth_date": f"{BIRTH_DATE}T25:00",
                "subscriber_id": SUBSCRIBER_ID,
            }
        )
    except ValidationError as exc:
        return exc
    raise AssertionError("expected a validation error")


def test_phi_passed_as_keyword_arguments_is_redacted_and_ids_print(
    output: Callable[[], str],
) -> None:
    get_logger("test").info(
        "member_upserted",
        member_id="m-42",
        event_id="e-7",
        first_name=FIRST_NAME,
        last_name=LAST_NAME,
        birth_date=BIRTH_DATE,
        subscriber_id=SUBSCRIBER_ID,
    )

    text = output()
    assert_no_phi(text)
    [line] = lines(text)
    assert line["event"] == "member_upserted"
    assert line["member_id"] == "m-42"
    assert line["event_id"] == "e-7"
    assert line["service"] == "lib-test"


def test_phi_inside_a_nested_dict_is_redacted(output: Callable[[], str]) -> None:
    get_logger("test").info(
        "coverage_loaded",
        member_id="m-42",
        payload={
            "member": {
                "member_id": "m-42",
                "name": {"given": FIRST_NAME, "family": LAST_NAME},
                "DOB": BIRTH_DATE,
                "coverages": [{"payerId": "P-1", "subscriberId": SUBSCRIBER_ID}],
            }
        },
    )

    text = output()
    assert_no_phi(text)
    [line] = lines(text)
    assert line["payload"]["member"]["member_id"] == "m-42"
    assert line["payload"]["member"]["coverages"][0]["payerId"] == "P-1"


def test_phi_inside_a_pydantic_model_is_redacted(output: Callable[[], str]) -> None:
    member = Member(
        member_id="m-42",
        first_name=FIRST_NAME,
        last_name=LAST_NAME,
        birth_date=date.fromisoformat(BIRTH_DATE),
        subscriber_id=SUBSCRIBER_ID,
    )

    get_logger("test").info("member_seen", member=member, members=[member])

    text = output()
    assert_no_phi(text)
    [line] = lines(text)
    assert line["member"]["member_id"] == "m-42"


def test_phi_inside_a_dataclass_is_redacted(output: Callable[[], str]) -> None:
    subscriber = Subscriber("m-42", FIRST_NAME, date.fromisoformat(BIRTH_DATE), SUBSCRIBER_ID)

    # Logged under a key that is not itself a PHI name ("subscriber" is one once the
    # contracts' PHI fields are registered), so the dataclass's own fields are what is tested.
    get_logger("test").info("coverage_seen", coverage=subscriber)

    text = output()
    assert_no_phi(text)
    [line] = lines(text)
    assert line["coverage"]["member_id"] == "m-42"


@pytest.mark.parametrize(
    "make_error", [validation_error_with_the_whole_member, validation_error_with_one_value]
)
def test_phi_in_a_validation_error_message_is_redacted(
    output: Callable[[], str], make_error: Callable[[], ValidationError]
) -> None:
    error = make_error()
    log = get_logger("test")

    log.warning("member_rejected", error=error)  # the error itself
    log.warning("member_rejected", reason=str(error))  # its text
    log.warning("member_rejected", reason=RuntimeError(f"cannot apply: {error}"))  # wrapped
    try:
        raise RuntimeError(f"cannot apply: {error}") from error
    except RuntimeError:
        log.exception("member_failed", member_id="m-42")  # with exc_info

    text = output()
    assert_no_phi(text)
    assert len(lines(text)) == 4
    assert "m-42" in text


def test_database_errors_do_not_print_bound_parameters(output: Callable[[], str]) -> None:
    error = IntegrityError(
        "INSERT INTO members (first_name, birth_date) VALUES ($1, $2)",
        (FIRST_NAME, BIRTH_DATE),
        Exception(
            'duplicate key value violates unique constraint "members_subscriber_id_key"\n'
            f"DETAIL:  Key (subscriber_id)=({SUBSCRIBER_ID}) already exists."
        ),
    )
    try:
        raise error
    except IntegrityError:
        get_logger("test").exception("member_insert_failed", member_id="m-42")
    get_logger("test").warning("member_insert_failed", error=error)

    text = output()
    assert_no_phi(text)
    assert "duplicate key" in text


def test_service_engines_keep_bound_parameters_out_of_their_errors() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/x", "members")

    assert engine.sync_engine.hide_parameters


def test_standard_library_records_go_through_the_same_redaction(
    output: Callable[[], str],
) -> None:
    error = validation_error_with_the_whole_member()

    logging.getLogger("rcm.adapter").warning("could not decode: %s", error)

    text = output()
    assert_no_phi(text)
    [line] = lines(text)
    assert line["level"] == "warning"


def test_field_names_registered_by_the_contracts_are_redacted_too(
    output: Callable[[], str],
) -> None:
    register_phi_keys(["guardianPhoneNumber"])

    get_logger("test").info("guardian_added", member_id="m-42", guardian_phone_number="555-0142")

    text = output()
    assert "555-0142" not in text
    assert lines(text)[0]["member_id"] == "m-42"
