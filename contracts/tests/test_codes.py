"""Standard code checks: NPI check digit, money, dates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.codes import CalendarDate, Money, Npi, is_valid_npi, npi_check_digit

NPI = TypeAdapter(Npi)
MONEY = TypeAdapter(Money)
CALENDAR_DATE = TypeAdapter(CalendarDate)


def test_cms_example_base_123456789_has_check_digit_3() -> None:
    assert npi_check_digit("123456789") == 3
    assert is_valid_npi("1234567893")


@pytest.mark.parametrize("wrong", ["1234567890", "1234567892", "1234567894", "1234567899"])
def test_npi_with_a_wrong_check_digit_is_invalid(wrong: str) -> None:
    assert not is_valid_npi(wrong)
    with pytest.raises(ValidationError) as raised:
        NPI.validate_python(wrong)
    assert raised.value.errors()[0]["type"] == "npi_check_digit"


@pytest.mark.parametrize("npi", ["1999999984", "1700000007", "1333333338", "1444444446"])
def test_reference_fake_npis_pass(npi: str) -> None:
    assert NPI.validate_python(npi) == npi


@pytest.mark.parametrize("malformed", ["3234567893", "123456789", "12345678933", "12345678a3"])
def test_npi_is_ten_digits_starting_with_1_or_2(malformed: str) -> None:
    assert not is_valid_npi(malformed)
    with pytest.raises(ValidationError) as raised:
        NPI.validate_python(malformed)
    assert raised.value.errors()[0]["type"] == "npi_format"


def test_money_is_kept_to_the_cent_as_a_decimal() -> None:
    assert MONEY.validate_python("50") == Decimal("50.00")
    assert str(MONEY.validate_python("300.0")) == "300.00"
    assert MONEY.validate_python(Decimal("40.00")) == Decimal("40.00")
    assert MONEY.dump_python(MONEY.validate_python(5700), mode="json") == "5700.00"


@pytest.mark.parametrize("not_money", [50.0, "12.345", "-1.00", "NaN", "fifty"])
def test_money_refuses_floats_fractions_of_a_cent_negatives_and_text(not_money: object) -> None:
    with pytest.raises(ValidationError):
        MONEY.validate_python(not_money)


def test_calendar_date_refuses_a_timestamp() -> None:
    assert CALENDAR_DATE.validate_python("2026-01-10") == date(2026, 1, 10)
    with pytest.raises(ValidationError):
        CALENDAR_DATE.validate_python(datetime(2026, 1, 10, 0, 0))
    with pytest.raises(ValidationError):
        CALENDAR_DATE.validate_python(1768003200)
