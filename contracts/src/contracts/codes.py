"""Identifiers and code sets shared by the event contracts and the tenant configuration.

Each type is an ``Annotated`` alias: a plain ``str``/``int``/``Decimal``/``date`` at runtime,
checked (and where a standard allows two spellings, normalized) on validation, and described
in the exported JSON Schema with the pattern a producer may send.

Error messages never repeat the offending value: a validation error can end up in a log line
or a dead-letter header, and some of these values (diagnosis codes, subscriber ids) are PHI.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

__all__ = [
    "PHI",
    "US_STATE_CODES",
    "AdministrativeSex",
    "AdmissionType",
    "AttendanceStatus",
    "CalendarDate",
    "ClaimFilingIndicator",
    "DrgCode",
    "EnvVarName",
    "Hour",
    "Icd10CmCode",
    "Icd10PcsCode",
    "Identifier",
    "LeaveReason",
    "LoaRevenueCode",
    "LocalTime",
    "Modifier",
    "Money",
    "Note",
    "Npi",
    "PatientStatusCode",
    "PersonName",
    "PhoneNumber",
    "PlaceOfService",
    "PointOfOriginCode",
    "PostalCode",
    "ProcedureCode",
    "RelationshipToSubscriber",
    "RevenueCode",
    "TaxId",
    "TaxonomyCode",
    "TimeZoneName",
    "UsState",
    "is_valid_npi",
    "normalize_icd10cm",
    "npi_check_digit",
]

# Put on a Field (``Field(json_schema_extra=PHI)``) holding protected health information.
# ``contracts.events.phi_field_names()`` collects these names for the logging redactor.
PHI: Final[dict[str, Any]] = {"phi": True}


def _pattern_check(error_type: str, pattern: str, message: str) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError(error_type, message)
        return value

    return check


def _upper_stripped(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


# --------------------------------------------------------------------------- identifiers

IDENTIFIER_PATTERN: Final = r"^[!-~]{1,64}$"

Identifier = Annotated[
    str,
    AfterValidator(
        _pattern_check(
            "identifier",
            IDENTIFIER_PATTERN,
            "must be 1 to 64 printable ASCII characters without spaces",
        )
    ),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": IDENTIFIER_PATTERN,
            "description": "An id issued by the producing system: 1-64 printable ASCII "
            "characters, no spaces.",
        }
    ),
]
"""An id issued by the producing system (session, member, stay, payer, program...)."""

PersonName = Annotated[str, Field(min_length=1, max_length=60)]
Note = Annotated[str, Field(min_length=1, max_length=500)]


# --------------------------------------------------------------------------- NPI, tax id


def npi_check_digit(base: str) -> int:
    """The Luhn check digit of a 9-digit NPI base, computed as if the ``80840`` prefix were
    present (CMS, "Requirements for NPI Check Digit")."""
    if not re.fullmatch(r"[0-9]{9}", base):
        raise ValueError("an NPI base is exactly 9 digits")
    total = 24  # the doubled-and-summed contribution of the 80840 prefix
    for position, char in enumerate(reversed(base)):
        digit = int(char)
        if position % 2 == 0:  # rightmost base digit and every second one leftwards
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10


def is_valid_npi(value: str) -> bool:
    """True for 10 digits starting with 1 or 2 whose last digit is the CMS check digit."""
    if not re.fullmatch(r"[12][0-9]{9}", value):
        return False
    return npi_check_digit(value[:9]) == int(value[9])


def _check_npi(value: str) -> str:
    if not re.fullmatch(r"[12][0-9]{9}", value):
        raise PydanticCustomError("npi_format", "an NPI is 10 digits starting with 1 or 2")
    if not is_valid_npi(value):
        raise PydanticCustomError("npi_check_digit", "NPI check digit is wrong (CMS Luhn rule)")
    return value


Npi = Annotated[
    str,
    AfterValidator(_check_npi),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[12][0-9]{9}$",
            "description": "National Provider Identifier: 10 digits, the last a Luhn check "
            "digit computed with the 80840 prefix.",
        }
    ),
]

TaxId = Annotated[
    str,
    AfterValidator(_pattern_check("tax_id", r"^[0-9]{9}$", "a tax id (EIN) is 9 digits")),
    WithJsonSchema(
        {"type": "string", "pattern": "^[0-9]{9}$", "description": "EIN, 9 digits, no hyphen."}
    ),
]

TaxonomyCode = Annotated[
    str,
    BeforeValidator(_upper_stripped),
    AfterValidator(
        _pattern_check(
            "taxonomy_code",
            r"^[0-9]{3}[0-9A-Z]{6}X$",
            "a provider taxonomy code is 10 characters ending in X, e.g. 101YM0800X",
        )
    ),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9]{3}[0-9A-Z]{6}X$",
            "description": "NUCC health care provider taxonomy code.",
        }
    ),
]


# --------------------------------------------------------------------------- addresses

_STATES = "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE"
_STATES += " NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
_TERRITORIES_AND_MILITARY = " AS GU MP PR VI AA AE AP"
US_STATE_CODES: Final = frozenset((_STATES + _TERRITORIES_AND_MILITARY).split())


def _check_state(value: str) -> str:
    if value not in US_STATE_CODES:
        raise PydanticCustomError("us_state", "not a USPS state or territory code")
    return value


UsState = Annotated[
    str,
    BeforeValidator(_upper_stripped),
    AfterValidator(_check_state),
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(US_STATE_CODES),
            "description": "USPS two-letter state or territory code.",
        }
    ),
]


def _strip_zip_hyphen(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"[0-9]{5}-[0-9]{4}", value.strip()):
        return value.strip().replace("-", "")
    return value


PostalCode = Annotated[
    str,
    BeforeValidator(_strip_zip_hyphen),
    AfterValidator(
        _pattern_check(
            "postal_code", r"^[0-9]{5}([0-9]{4})?$", "a ZIP code is 5 or 9 digits (ZIP+4)"
        )
    ),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9]{5}(-?[0-9]{4})?$",
            "description": "ZIP or ZIP+4; stored without the hyphen (N403).",
        }
    ),
]

PhoneNumber = Annotated[
    str,
    AfterValidator(_pattern_check("phone_number", r"^[0-9]{10}$", "a phone number is 10 digits")),
]


# --------------------------------------------------------------------------- time


def _check_time_zone(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*", value):
        raise PydanticCustomError("time_zone", "not an IANA time zone name")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise PydanticCustomError(
            "time_zone", "unknown IANA time zone (e.g. America/Chicago)"
        ) from error
    return value


TimeZoneName = Annotated[
    str,
    AfterValidator(_check_time_zone),
    WithJsonSchema(
        {
            "type": "string",
            "examples": ["America/Chicago"],
            "description": "IANA time zone name.",
        }
    ),
]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _calendar_date(value: Any) -> Any:
    # A timestamp where a calendar date belongs is how a UTC instant becomes the wrong
    # local date; refuse it instead of truncating.
    if isinstance(value, datetime):
        raise PydanticCustomError(
            "calendar_date", "expected a calendar date (YYYY-MM-DD), not a timestamp"
        )
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise PydanticCustomError("calendar_date", "expected a calendar date (YYYY-MM-DD)")


CalendarDate = Annotated[date, BeforeValidator(_calendar_date)]
"""A facility-local calendar date, written ``YYYY-MM-DD``."""


def _naive_time(value: time) -> time:
    if value.tzinfo is not None:
        raise PydanticCustomError(
            "local_time", "a local wall-clock time carries no UTC offset (HH:MM[:SS])"
        )
    return value


LocalTime = Annotated[time, AfterValidator(_naive_time)]
"""A facility-local wall-clock time, ``HH:MM[:SS]`` without offset."""

Hour = Annotated[int, Field(ge=0, le=23, description="Hour of the day, 0-23 (facility-local).")]


# --------------------------------------------------------------------------- money


def _money(value: Any) -> Any:
    if isinstance(value, float):
        raise PydanticCustomError(
            "money_float", "money is a decimal string (e.g. '50.00'), never a binary float"
        )
    if isinstance(value, bool):
        raise PydanticCustomError("money", "not an amount")
    if isinstance(value, int):
        value = Decimal(value)
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation as error:
            raise PydanticCustomError("money", "not an amount") from error
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise PydanticCustomError("money", "not an amount")
        if value < 0:
            raise PydanticCustomError("money", "an amount is never negative")
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2:
            raise PydanticCustomError("money", "an amount has at most 2 decimal places")
        return value.quantize(Decimal("0.01"))
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$"},
                {"type": "integer", "minimum": 0},
                {"type": "number", "minimum": 0},
            ],
            "description": "US dollars, at most 2 decimal places, never negative. Parsed as "
            "a decimal; a YAML number like 300.00 is read as a decimal, not a float.",
        }
    ),
]


# --------------------------------------------------------------------------- clinical codes

ICD10CM_PATTERN: Final = r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$"


def normalize_icd10cm(value: str) -> str:
    """``f33.1`` -> ``F331``: upper case, the optional dot after the category removed (the
    837 carries diagnosis codes without the decimal point)."""
    code = value.strip().upper()
    if len(code) > 4 and code[3] == "." and "." not in code[4:]:
        code = code[:3] + code[4:]
    return code


def _icd10cm(value: Any) -> Any:
    return normalize_icd10cm(value) if isinstance(value, str) else value


Icd10CmCode = Annotated[
    str,
    BeforeValidator(_icd10cm),
    AfterValidator(
        _pattern_check(
            "icd10cm",
            ICD10CM_PATTERN,
            "not an ICD-10-CM code (e.g. F33.1 or F331: letter, digit, alphanumeric, "
            "then up to 4 alphanumerics)",
        )
    ),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[A-Za-z][0-9][0-9A-Za-z](\\.?[0-9A-Za-z]{1,4})?$",
            "description": "ICD-10-CM diagnosis code, with or without the dot; normalized "
            "to upper case without the dot.",
        }
    ),
]

Icd10PcsCode = Annotated[
    str,
    BeforeValidator(_upper_stripped),
    AfterValidator(
        _pattern_check(
            "icd10pcs",
            r"^[0-9A-HJ-NP-Z]{7}$",
            "an ICD-10-PCS code is 7 characters (digits and letters except I and O)",
        )
    ),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9A-HJ-NP-Za-hj-np-z]{7}$",
            "description": "ICD-10-PCS procedure code.",
        }
    ),
]

DrgCode = Annotated[
    str,
    AfterValidator(_pattern_check("drg", r"^[0-9]{3}$", "an MS-DRG is 3 digits")),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{3}$", "description": "MS-DRG."}),
]

ProcedureCode = Annotated[
    str,
    BeforeValidator(_upper_stripped),
    AfterValidator(
        _pattern_check(
            "procedure_code",
            r"^([0-9]{4}[0-9FTU]|[A-Z][0-9]{4})$",
            "not a CPT or HCPCS code (e.g. 90853, H0005)",
        )
    ),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^([0-9]{4}[0-9FTU]|[A-Z][0-9]{4})$",
            "description": "CPT or HCPCS Level II procedure code.",
        }
    ),
]

Modifier = Annotated[
    str,
    BeforeValidator(_upper_stripped),
    AfterValidator(
        _pattern_check("modifier", r"^[0-9A-Z]{2}$", "a procedure modifier is 2 characters")
    ),
    WithJsonSchema({"type": "string", "pattern": "^[0-9A-Z]{2}$"}),
]

PlaceOfService = Annotated[
    str,
    AfterValidator(
        _pattern_check("place_of_service", r"^[0-9]{2}$", "a place of service is 2 digits")
    ),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{2}$", "description": "CMS POS."}),
]

RevenueCode = Annotated[
    str,
    AfterValidator(
        _pattern_check("revenue_code", r"^[0-9]{4}$", "a revenue code is 4 digits, e.g. 1001")
    ),
    WithJsonSchema(
        {"type": "string", "pattern": "^[0-9]{4}$", "description": "NUBC revenue code."}
    ),
]

LoaRevenueCode = Annotated[
    str,
    AfterValidator(
        _pattern_check(
            "loa_revenue_code",
            r"^018[0-9]$",
            "a leave-of-absence revenue code is 018x (0182, 0183, 0185 ...)",
        )
    ),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^018[0-9]$",
            "description": "NUBC leave-of-absence revenue code (018x).",
        }
    ),
]

PatientStatusCode = Annotated[
    str,
    AfterValidator(
        _pattern_check(
            "patient_status", r"^[0-9]{2}$", "a NUBC patient status is 2 digits, e.g. 01"
        )
    ),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9]{2}$",
            "description": "NUBC patient discharge status (CL103).",
        }
    ),
]

PointOfOriginCode = Annotated[
    str,
    BeforeValidator(_upper_stripped),
    AfterValidator(
        _pattern_check(
            "point_of_origin",
            r"^[1-9A-Z]$",
            "a NUBC point of origin (admission source) is one character, e.g. 1",
        )
    ),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[1-9A-Z]$",
            "description": "NUBC point of origin for admission (CL102).",
        }
    ),
]

EnvVarName = Annotated[
    str,
    AfterValidator(
        _pattern_check(
            "env_var_name",
            r"^[A-Z_][A-Z0-9_]*$",
            "an environment variable name is upper-case letters, digits and underscores",
        )
    ),
]


# --------------------------------------------------------------------------- code sets


class AttendanceStatus(StrEnum):
    """A roster row's (or a supervisor's) attendance status."""

    SCHEDULED = "SCHEDULED"
    ATTENDED = "ATTENDED"
    LATE = "LATE"
    LEFT_EARLY = "LEFT_EARLY"
    ABSENT = "ABSENT"


class LeaveReason(StrEnum):
    """Why a resident is away; picks the 018x revenue code of the LOA days."""

    THERAPEUTIC = "THERAPEUTIC"  # 0183
    HOSPITALIZATION = "HOSPITALIZATION"  # 0185 (bed-hold)
    PATIENT_CONVENIENCE = "PATIENT_CONVENIENCE"  # 0182
    OTHER = "OTHER"  # the program's default LOA code


class AdministrativeSex(StrEnum):
    """X12 DMG03."""

    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class RelationshipToSubscriber(StrEnum):
    """X12 individual relationship code (SBR02 / PAT01)."""

    SELF = "18"
    SPOUSE = "01"
    CHILD = "19"
    EMPLOYEE = "20"
    UNKNOWN = "21"
    ORGAN_DONOR = "39"
    CADAVER_DONOR = "40"
    LIFE_PARTNER = "53"
    OTHER = "G8"


class AdmissionType(StrEnum):
    """NUBC priority (type) of admission, CL101."""

    EMERGENCY = "1"
    URGENT = "2"
    ELECTIVE = "3"
    NEWBORN = "4"
    TRAUMA = "5"
    INFORMATION_NOT_AVAILABLE = "9"


class ClaimFilingIndicator(StrEnum):
    """X12 claim filing indicator code (SBR09)."""

    SELF_PAY = "09"
    OTHER_NON_FEDERAL = "11"
    PPO = "12"
    POS = "13"
    EPO = "14"
    INDEMNITY = "15"
    HMO_MEDICARE_RISK = "16"
    DENTAL_MAINTENANCE = "17"
    AUTOMOBILE_MEDICAL = "AM"
    BLUE_CROSS_BLUE_SHIELD = "BL"
    CHAMPUS = "CH"
    COMMERCIAL = "CI"
    DISABILITY = "DS"
    FEDERAL_EMPLOYEES = "FI"
    HMO = "HM"
    LIABILITY_MEDICAL = "LM"
    MEDICARE_PART_A = "MA"
    MEDICARE_PART_B = "MB"
    MEDICAID = "MC"
    OTHER_FEDERAL = "OF"
    TITLE_V = "TV"
    VETERANS_AFFAIRS = "VA"
    WORKERS_COMPENSATION = "WC"
    MUTUALLY_DEFINED = "ZZ"
