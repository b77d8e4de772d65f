"""ICD-10-CM validity from the ``simple-icd-10-cm`` package (CMS's code list and tabular
XML, refreshed by upgrading the package). Loading it parses the tabular file (~2 s), so
the composition root does it once at start."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

from contracts.codes import normalize_icd10cm


class SimpleIcd10CmCodeSet:
    def __init__(self, module: ModuleType) -> None:
        self._cm: Any = module
        try:
            release = version("simple-icd-10-cm")
        except PackageNotFoundError:
            release = "unknown release"
        self.name = f"ICD-10-CM (simple-icd-10-cm {release})"

    @classmethod
    def load(cls) -> SimpleIcd10CmCodeSet:
        """Raises ImportError when the package is not installed."""
        import simple_icd_10_cm

        return cls(simple_icd_10_cm)

    def is_billable(self, code: str) -> bool:
        normalized = normalize_icd10cm(code)
        # A category or subcategory with children is valid ICD-10-CM but not billable.
        return bool(self._cm.is_valid_item(normalized) and self._cm.is_leaf(normalized))
