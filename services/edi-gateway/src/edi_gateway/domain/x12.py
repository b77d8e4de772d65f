"""Writing X12 segments: delimiters, element formatting, and where each claim sits.

The writer numbers segments from 1 (the ISA) as X12 validators count them, remembers the
loop each segment belongs to, and records the first and last segment of every claim it
writes, so that a validator's complaint about segment 57 maps back to one claim. Pure:
no I/O, no framework."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from common.errors import DomainError

Composite = tuple[str | None, ...]
Element = str | Composite | None


@dataclass(frozen=True)
class Delimiters:
    """The four X12 separators. Readers take them from the ISA (the 4th character is the
    element separator, ISA11 the repetition separator, ISA16 the component separator and
    the character after it the segment terminator); only the writer chooses them."""

    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"

    def __post_init__(self) -> None:
        chosen = (self.element, self.component, self.repetition, self.segment)
        if any(len(c) != 1 or c.isalnum() or c.isspace() for c in chosen):
            raise ValueError("an X12 delimiter is one character, not a letter, digit or space")
        if len(set(chosen)) != 4:
            raise ValueError("the four X12 delimiters must differ")

    @property
    def reserved(self) -> frozenset[str]:
        return frozenset((self.element, self.component, self.repetition, self.segment))


class RenderRefusal(DomainError):
    """A value that cannot be written as X12 as it is (never names the value: it may be
    PHI). ``details["claim_key"]`` names the claim it was in, None for the envelope or
    the header (a configuration problem, not a claim's)."""

    @property
    def claim_key(self) -> int | None:
        key = self.details.get("claim_key")
        return key if isinstance(key, int) else None


@dataclass(frozen=True)
class ClaimSpan:
    """Segments ``first`` to ``last`` (1-based positions in the file) belong to the claim
    ``key`` (its 2000B subscriber level down to its last service line)."""

    key: int
    first: int
    last: int

    def holds(self, segment_number: int) -> bool:
        return self.first <= segment_number <= self.last


class X12Writer:
    def __init__(self, delimiters: Delimiters) -> None:
        self.delimiters = delimiters
        self._segments: list[str] = []
        self._loops: list[str] = []
        self._spans: list[ClaimSpan] = []
        self._current_claim: int | None = None

    @property
    def count(self) -> int:
        """Segments written so far (the number of the last one)."""
        return len(self._segments)

    @property
    def claim_spans(self) -> tuple[ClaimSpan, ...]:
        return tuple(self._spans)

    @property
    def loops(self) -> tuple[str, ...]:
        """The loop of each segment, in file order (``loops[n - 1]`` is segment n's)."""
        return tuple(self._loops)

    def text(self) -> str:
        return "".join(self._segments)

    def segment(self, loop: str, segment_id: str, *elements: Element) -> None:
        """Write ``segment_id`` with ``elements`` (None or "" leaves an element empty; a
        tuple is a composite). Trailing empty elements and components are dropped."""
        d = self.delimiters
        values: list[str] = []
        for position, element in enumerate(elements, start=1):
            if isinstance(element, tuple):
                parts = [self._checked(segment_id, position, c) for c in element]
                values.append(d.component.join(_without_trailing_empties(parts)))
            else:
                values.append(self._checked(segment_id, position, element))
        fields = _without_trailing_empties(values)
        self._append(loop, d.element.join([segment_id, *fields]) + d.segment)

    def raw(self, loop: str, text: str) -> None:
        """A segment formatted by the caller (the fixed-width ISA), terminator included."""
        self._append(loop, text)

    @contextmanager
    def claim(self, key: int) -> Iterator[None]:
        """Record the segments written inside the block as claim ``key``'s."""
        first = self.count + 1
        self._current_claim = key
        try:
            yield
        finally:
            self._current_claim = None
        self._spans.append(ClaimSpan(key=key, first=first, last=self.count))

    def refuse(self, code: str, message: str) -> RenderRefusal:
        """A refusal of the claim being written (raise it)."""
        return RenderRefusal(code, message, claim_key=self._current_claim)

    def _append(self, loop: str, text: str) -> None:
        self._segments.append(text)
        self._loops.append(loop)

    def _checked(self, segment_id: str, position: int, value: str | None) -> str:
        if not value:
            return ""
        if not all(" " <= c <= "~" for c in value):
            # The X12 character sets are printable ASCII; anything else (an accented
            # letter, a tab) could not even be written to the file.
            raise RenderRefusal(
                "X12_CHARACTER_NOT_ALLOWED",
                f"{segment_id}{position:02d} holds a character outside the X12 character set",
                segment=segment_id,
                element=position,
                claim_key=self._current_claim,
            )
        if any(c in self.delimiters.reserved for c in value):
            raise RenderRefusal(
                "X12_RESERVED_CHARACTER",
                f"{segment_id}{position:02d} holds a character reserved as an X12 delimiter",
                segment=segment_id,
                element=position,
                claim_key=self._current_claim,
            )
        return value


def _without_trailing_empties(values: list[str]) -> list[str]:
    end = len(values)
    while end and not values[end - 1]:
        end -= 1
    return values[:end]


def x12_amount(value: Decimal) -> str:
    """An X12 ``R`` amount: no trailing zeros after the point (50.00 -> "50", 45.50 ->
    "45.5")."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def x12_date(day: date) -> str:
    """CCYYMMDD (a D8 date)."""
    return day.strftime("%Y%m%d")


def x12_time(moment: datetime) -> str:
    """HHMM."""
    return moment.strftime("%H%M")
