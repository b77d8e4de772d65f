"""ICD-10-CM validity behind DiagnosisCodeSet: the pattern fallback, and the maintained
package (simple-icd-10-cm) when it is installed."""

from __future__ import annotations

import pytest

from claims.adapters.code_sets import SimpleIcd10CmCodeSet
from claims.bootstrap import diagnosis_code_set
from claims.domain.code_sets import DiagnosisCodeSet, PatternDiagnosisCodeSet


def test_the_pattern_fallback_accepts_icd_10_cm_shapes_with_or_without_the_dot() -> None:
    code_set: DiagnosisCodeSet = PatternDiagnosisCodeSet()
    assert code_set.is_billable("F332")
    assert code_set.is_billable("F33.2")
    assert code_set.is_billable("Z0000")


def test_the_pattern_fallback_refuses_what_is_not_shaped_like_icd_10_cm() -> None:
    code_set = PatternDiagnosisCodeSet()
    for code in ("", "332", "FF32", "F33.21345", "90853"):
        assert not code_set.is_billable(code), code


def test_the_composition_root_picks_a_code_set_that_knows_the_sample_diagnoses() -> None:
    code_set = diagnosis_code_set()
    assert code_set.is_billable("F332") and code_set.is_billable("F411")
    assert not code_set.is_billable("123")


def test_the_package_code_set_knows_real_billable_codes_only() -> None:
    pytest.importorskip("simple_icd_10_cm")
    code_set = SimpleIcd10CmCodeSet.load()
    assert code_set.is_billable("F33.1") and code_set.is_billable("F411")
    assert not code_set.is_billable("F33")  # a category: valid, not billable
    assert not code_set.is_billable("F999")  # shaped right, does not exist
