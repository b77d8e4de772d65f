"""What an X12 validator said about a rendered file, and which claims it was about.

Every file is validated before it leaves (SPEC 7). A complaint about a segment inside a
claim's span (its subscriber level down to its last line) rejects that claim; the rest of
the batch goes in a new interchange. A complaint about the envelope, the header or a
billing provider level is nobody's claim: the batch does not go at all.

Descriptions are built from the validator's codes and the implementation guide's element
names, never from its free text: that quotes the offending value, which may be PHI."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from edi_gateway.domain.x12 import ClaimSpan


class IssueLevel(StrEnum):
    INTERCHANGE = "INTERCHANGE"
    GROUP = "GROUP"
    TRANSACTION_SET = "TRANSACTION_SET"
    SEGMENT = "SEGMENT"
    ELEMENT = "ELEMENT"


# IK304 (segment) and IK403 (element) codes as 999 acknowledgments and pyx12 use them.
SEGMENT_ERRORS: Final = {
    "1": "unrecognized segment",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
    "I4": "implementation 'not used' segment present",
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under minimum times",
    "I8": "implementation segment below minimum use",
    "I9": "implementation dependent 'not used' segment present",
}
ELEMENT_ERRORS: Final = {
    "1": "required element missing",
    "2": "conditional required element missing",
    "3": "too many data elements",
    "4": "too short",
    "5": "too long",
    "6": "invalid character",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in the implementation",
    "I9": "implementation dependent element missing",
    "I10": "implementation 'not used' element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' element present",
}


@dataclass(frozen=True)
class ValidationIssue:
    level: IssueLevel
    code: str
    segment_number: int | None = None  # 1-based position in the file
    segment_id: str | None = None
    element: str | None = None  # e.g. NM104, SV101-02
    name: str | None = None  # the guide's name of the segment or element
    detail: str | None = None  # envelope-level text (ids and counts only)

    def describe(self) -> str:
        if self.level is IssueLevel.ELEMENT:
            meaning = ELEMENT_ERRORS.get(self.code, f"element error {self.code}")
            named = f" ({self.name})" if self.name else ""
            return f"{self.element}{named}: {meaning}"
        if self.level is IssueLevel.SEGMENT:
            meaning = SEGMENT_ERRORS.get(self.code, f"segment error {self.code}")
            named = f" ({self.name})" if self.name else ""
            return f"{self.segment_id}{named}: {meaning}"
        return f"{self.level.value.lower().replace('_', ' ')}: {self.detail or self.code}"

    def code_in(self, loop: str | None) -> str:
        """A short code: where (loop and element or segment) and the validator's code."""
        where = self.element or self.segment_id or self.level.value
        return f"{loop}/{where}:{self.code}" if loop else f"{where}:{self.code}"


@dataclass(frozen=True)
class Attribution:
    by_claim: dict[int, list[ValidationIssue]]
    unattributed: list[ValidationIssue]


def attribute_issues(issues: Iterable[ValidationIssue], spans: Sequence[ClaimSpan]) -> Attribution:
    """Each issue to the claim whose segment span holds its segment; envelope, header and
    billing provider issues (outside every claim) to no claim."""
    by_claim: dict[int, list[ValidationIssue]] = {}
    unattributed: list[ValidationIssue] = []
    for issue in issues:
        number = issue.segment_number
        span = (
            next((s for s in spans if s.holds(number)), None)
            if number is not None and issue.level in (IssueLevel.SEGMENT, IssueLevel.ELEMENT)
            else None
        )
        if span is None:
            unattributed.append(issue)
        else:
            by_claim.setdefault(span.key, []).append(issue)
    return Attribution(by_claim=by_claim, unattributed=unattributed)


MESSAGE_LIMIT: Final = 2000


def rejection_message(descriptions: Sequence[str]) -> str:
    """The validator's findings for one claim, in one message of at most 2,000 characters."""
    unique = list(dict.fromkeys(descriptions))
    message = "X12 validation failed: " + "; ".join(unique)
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 3] + "..."
    return message
