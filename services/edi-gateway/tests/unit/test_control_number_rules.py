from __future__ import annotations

import pytest

from edi_gateway.domain.model import (
    CONTROL_NUMBER_MAX,
    ControlNumberRuleViolation,
    advance,
    numbers_ending_at,
)


def test_the_first_numbers_of_a_new_sequence_are_1_2_3() -> None:
    assert advance(0, 3) == 3
    assert numbers_ending_at(3, 3) == [1, 2, 3]


def test_numbers_continue_after_the_last_one_taken() -> None:
    assert advance(41, 1) == 42
    assert numbers_ending_at(42, 1) == [42]


def test_isa13_is_nine_digits_so_999999999_is_the_largest() -> None:
    assert CONTROL_NUMBER_MAX == 999_999_999
    assert advance(999_999_998, 1) == 999_999_999


def test_after_999999999_the_sequence_wraps_to_1_never_0() -> None:
    assert advance(999_999_999, 1) == 1
    assert advance(999_999_998, 3) == 2
    assert numbers_ending_at(2, 3) == [999_999_999, 1, 2]


@pytest.mark.parametrize("count", [0, -1, CONTROL_NUMBER_MAX])
def test_an_allocation_of_no_numbers_or_of_the_whole_range_is_refused(count: int) -> None:
    with pytest.raises(ControlNumberRuleViolation) as refused:
        advance(0, count)
    assert refused.value.code == "CONTROL_NUMBER_COUNT_INVALID"
