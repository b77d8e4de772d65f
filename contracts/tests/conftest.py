from __future__ import annotations

from pathlib import Path

import pytest

CONTRACTS_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def samples_folder() -> Path:
    return CONTRACTS_ROOT / "samples"


@pytest.fixture
def demo_tenant_path() -> Path:
    return CONTRACTS_ROOT / "samples" / "tenants" / "demo-bh.yaml"


@pytest.fixture
def demo_tenant_yaml(demo_tenant_path: Path) -> str:
    return demo_tenant_path.read_text(encoding="utf-8")
