"""Structured JSON logging with PHI redaction in the pipeline itself.

Call sites log ids and snake_case event names. Whatever they pass anyway (a member
model, a dict with a name, an exception whose text carries an input value) goes through
:func:`redact_phi` before rendering, so names, birth dates, subscriber ids, addresses and
diagnosis codes never reach a log line.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError
from structlog.typing import EventDict, WrappedLogger

from common.telemetry import add_trace_ids

REDACTED = "[REDACTED]"

# Key names (normalised: lower case, no separators) that always hold PHI.
_PHI_KEYS: set[str] = {
    "name",
    "firstname",
    "lastname",
    "middlename",
    "fullname",
    "patientname",
    "membername",
    "subscribername",
    "givenname",
    "familyname",
    "suffix",
    "prefix",
    "birthdate",
    "dob",
    "dateofbirth",
    "subscriberbirthdate",
    "subscriberid",
    "memberid_external",
    "medicaidid",
    "medicareid",
    "ssn",
    "mrn",
    "policynumber",
    "groupnumber",
    "address",
    "address1",
    "address2",
    "line1",
    "line2",
    "street",
    "city",
    "zip",
    "zipcode",
    "postalcode",
    "phone",
    "email",
    "diagnosis",
    "diagnoses",
    "principaldiagnosis",
    "admittingdiagnosis",
    "otherdiagnoses",
    "diagnosiscode",
    "diagnosiscodes",
    "icd10",
    "dx",
}
_SEPARATORS = re.compile(r"[_\-\s.]")
# pydantic puts the offending input into error texts: "[type=missing,
# input_value={'first_name': 'Jane', ...}, input_type=dict]". The value is a repr (a whole
# dict or list for a missing field), so everything up to ", input_type=" goes; without
# that marker, the rest of the bracket or line.
# (Already redacted text is left as it is: the pipeline may see a text twice.)
_INPUT_VALUE = re.compile(
    r"input_value=(?:" + re.escape(REDACTED) + r"|.*?(?=, input_type=)|[^\]\n]*)"
)
_INPUT_TYPE = re.compile(r"input_type=\w+")
# SQLAlchemy prints a failed statement's bound values: "[parameters: ('Jane', ...)]".
_SQL_PARAMETERS = re.compile(r"\[parameters: [^\n]*")
# Postgres repeats the conflicting values: "Key (subscriber_id)=(XJH448812) already exists".
_KEY_VALUES = re.compile(r"(Key \([^)]*\))=\((?:[^)(]|\([^)]*\))*\)")


def register_phi_keys(keys: Iterable[str]) -> None:
    """Add field names (e.g. ``contracts.events.phi_field_names()``) to the redacted set."""
    _PHI_KEYS.update(_normalise(k) for k in keys)


def _normalise(key: str) -> str:
    return _SEPARATORS.sub("", key.lower())


# Keys are compared normalised; so must the entries above be ("memberid_external").
_PHI_KEYS = {_normalise(k) for k in _PHI_KEYS}


def is_phi_key(key: str) -> bool:
    return _normalise(key) in _PHI_KEYS


def _scrub_text(text: str) -> str:
    text = _INPUT_VALUE.sub(f"input_value={REDACTED}", text)
    text = _SQL_PARAMETERS.sub(f"[parameters: {REDACTED}]", text)
    text = _KEY_VALUES.sub(rf"\1=({REDACTED})", text)
    return _INPUT_TYPE.sub("input_type=?", text)


def redact_value(value: Any, depth: int = 0) -> Any:
    if depth > 8:
        return REDACTED
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        # A domain object would otherwise be rendered with its repr, every field included.
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {
            str(k): (REDACTED if is_phi_key(str(k)) else redact_value(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, depth + 1) for v in value]
    if isinstance(value, ValidationError):
        return safe_validation_errors(value)
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {_scrub_text(str(value))}"
    if isinstance(value, str):
        return _scrub_text(value)
    return value


def safe_validation_errors(error: ValidationError) -> list[dict[str, Any]]:
    """A validation error's locations and messages, without the input values."""
    return [
        {"loc": ".".join(str(p) for p in e["loc"]), "type": e["type"], "msg": e["msg"]}
        for e in error.errors(include_input=False, include_url=False, include_context=False)
    ]


def redact_phi(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        exc = (
            exc_info[1]
            if isinstance(exc_info, tuple)
            else (exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1])
        )
        if exc is not None:
            event_dict["error"] = redact_value(exc)
            event_dict["error_type"] = type(exc).__name__
    for key in list(event_dict):
        if key in ("event", "timestamp", "level", "logger"):
            if key == "event" and isinstance(event_dict[key], str):
                event_dict[key] = _scrub_text(event_dict[key])
            continue
        event_dict[key] = REDACTED if is_phi_key(key) else redact_value(event_dict[key])
    return event_dict


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_phi,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    # Both sinks look up sys.stdout when they write, not now: a stream swapped in and
    # closed later (a test's capture) must not break every later log call.
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.bind_contextvars(service=service)
    # Route the standard library (uvicorn, faststream, sqlalchemy) through the same
    # redaction and rendering.
    handler = _StdoutHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=processors,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "sqlalchemy.engine", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler on whatever ``sys.stdout`` is when a record is written."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
