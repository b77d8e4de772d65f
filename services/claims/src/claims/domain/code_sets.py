"""Diagnosis code validity, behind one small interface (SPEC 2: ICD-10-CM validity comes
from a maintained code-set package where one exists, never a hand-typed list).

The composition root picks the implementation: the package-backed one when the package is
installed, else :class:`PatternDiagnosisCodeSet`, which can only say a code is shaped like
ICD-10-CM."""

from __future__ import annotations

import re
from typing import Protocol

from contracts.codes import ICD10CM_PATTERN, normalize_icd10cm


class DiagnosisCodeSet(Protocol):
    @property
    def name(self) -> str:
        """Which code set answers (shown on the scrub issue)."""

    def is_billable(self, code: str) -> bool:
        """True when ``code`` (no decimal point) may be reported on a claim: a valid
        ICD-10-CM code at its most specific level."""


class PatternDiagnosisCodeSet:
    """Fallback: the ICD-10-CM shape (letter, digit, alphanumeric, up to 4 more). It
    accepts codes that do not exist and categories that are not billable."""

    name = "ICD-10-CM pattern"

    def __init__(self) -> None:
        self._pattern = re.compile(ICD10CM_PATTERN)

    def is_billable(self, code: str) -> bool:
        return bool(self._pattern.fullmatch(normalize_icd10cm(code)))
