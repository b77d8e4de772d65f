"""Tenants and records for the billing code group tests: copies of the sample tenant
(one enforcing code assignment), and EHR provider records."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from common.testing.processes import SAMPLE_TENANTS

#: Enforces code assignment (SPEC 5): a charge's code must be assigned to its member and
#: its rendering staff on the date of service.
ENFORCED_TENANT = "enforced-bh"
#: A tenant of one test's own, so that "all active clients / users" are the test's.
NONBILLABLES_TENANT = "abc-therapeutic"

#: The seed's examples.
BCBS_CODES = ["90791", "90832", "90834", "90837", "90847"]
UBH_CODES = ["90791", "90832", "90834", "90847"]
#: Codes the reference list marks as commonly nonbillable (seed 004's "New Nonbillables").
NONBILLABLE_CODES = ["90885", "90887", "90889", "99080"]


def write_tenants(folder: Path, *, enforced: tuple[str, ...], plain: tuple[str, ...]) -> Path:
    """``demo-bh`` as shipped, and copies of it under the tenant ids given (``enforced``:
    with enforce_code_assignment on)."""
    sample = SAMPLE_TENANTS / "demo-bh.yaml"
    shutil.copy(sample, folder / "demo-bh.yaml")
    for tenant_id in (*enforced, *plain):
        document = yaml.safe_load(sample.read_text())
        document["tenant_id"] = tenant_id
        document["name"] = f"{tenant_id} (tests)"
        document["enforce_code_assignment"] = tenant_id in enforced
        (folder / f"{tenant_id}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return folder


def provider_data(provider_id: str, *, active: bool = True) -> dict[str, Any]:
    return {
        "provider_id": provider_id,
        "npi": "1234567893",
        "first_name": "Sam",
        "last_name": "Lee",
        "taxonomy_code": "101YM0800X",
        "active": active,
    }
