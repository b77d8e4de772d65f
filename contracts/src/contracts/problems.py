"""Raise cross-field rule violations as a pydantic ``ValidationError`` with exact locations.

A ``ValidationError`` raised inside a validator keeps its locations (pydantic nests them
under the enclosing field), so a rule checked on a parent model can point at
``payers[1].clearinghouse_id`` rather than at the parent as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


def raise_problems(title: str, problems: Sequence[Problem]) -> None:
    """Raise one ``ValidationError`` holding every problem; do nothing when there are none."""
    if not problems:
        return
    raise ValidationError.from_exception_data(
        title,
        [
            InitErrorDetails(
                type=PydanticCustomError("rule_violation", message),
                loc=loc,
                input=None,
            )
            for loc, message in problems
        ],
    )


def duplicate_problems(values: Sequence[str], field: str, key: str, what: str) -> list[Problem]:
    """One problem per repeated value in ``values`` (the ``key`` of items of list ``field``)."""
    seen: set[str] = set()
    problems: list[Problem] = []
    for index, value in enumerate(values):
        if value in seen:
            problems.append(((field, index, key), f"duplicate {what} '{value}'"))
        seen.add(value)
    return problems
