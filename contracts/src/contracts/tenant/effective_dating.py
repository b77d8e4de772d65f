"""Effective dating: every rate, band set and rule of a tenant is a list of versions, each in
force from ``effective_from`` through ``effective_to`` (inclusive; open-ended when absent).
The version in force on the date of service applies, so a change never re-prices what was
already billed. Versions of one thing never overlap; gaps are allowed and a lookup in a gap
is an error, never a silent fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.codes import CalendarDate
from contracts.problems import Problem, raise_problems


class TenantModel(BaseModel):
    """Base of the tenant configuration models: frozen and strict about keys (a misspelt key
    is an error, not a silently ignored setting). Numbers are accepted where a code string
    belongs (YAML reads ``place_of_service: 11`` as a number); each code's pattern still
    applies, so a number YAML mangled (``02`` read as octal 2) is still refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)


class EffectiveDated(TenantModel):
    effective_from: CalendarDate = Field(description="First day in force.")
    effective_to: CalendarDate | None = Field(
        default=None, description="Last day in force (inclusive); open-ended when absent."
    )

    @model_validator(mode="after")
    def _ordered_dates(self) -> Self:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise_problems(type(self).__name__, [(("effective_to",), "is before effective_from")])
        return self

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def overlaps(self, other: EffectiveDated) -> bool:
        return (self.effective_to is None or other.effective_from <= self.effective_to) and (
            other.effective_to is None or self.effective_from <= other.effective_to
        )

    @property
    def period(self) -> str:
        through = self.effective_to.isoformat() if self.effective_to else "open"
        return f"{self.effective_from.isoformat()}..{through}"


class ConfigLookupError(LookupError):
    """Tenant configuration has no entry for what was asked."""


class NoVersionInForce(ConfigLookupError):
    """No version of an effective-dated setting is in force on the date asked."""


Version = TypeVar("Version", bound=EffectiveDated)


def version_in_force(versions: Sequence[Version], on: date, *, what: str) -> Version:
    """The one version in force on ``on``; ``NoVersionInForce`` naming ``what`` otherwise."""
    for version in versions:
        if version.in_force_on(on):
            return version
    periods = ", ".join(version.period for version in versions) or "none configured"
    raise NoVersionInForce(f"{what} has no version in force on {on.isoformat()} ({periods})")


def overlap_problems(
    versions: Sequence[Version],
    field: str,
    *,
    conflicting: Callable[[Version, Version], bool] | None = None,
) -> list[Problem]:
    """A problem, located at the later entry's ``effective_from``, for each pair of entries
    of list ``field`` whose periods overlap (and, given ``conflicting``, that apply to the
    same thing)."""
    problems: list[Problem] = []
    for later, version in enumerate(versions):
        for earlier, other in enumerate(versions[:later]):
            if version.overlaps(other) and (conflicting is None or conflicting(other, version)):
                problems.append(
                    (
                        (field, later, "effective_from"),
                        f"{version.period} overlaps {field}[{earlier}] ({other.period})",
                    )
                )
    return problems


def scopes_intersect(first: Sequence[str], second: Sequence[str]) -> bool:
    """Two scope lists where empty means "every one" share at least one member."""
    return not first or not second or bool(set(first) & set(second))
