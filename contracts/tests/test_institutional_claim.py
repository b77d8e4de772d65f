"""An 837I claim message: SPEC 12 vector 2's January claim as the claims service sends it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.events import ClaimSubmitted

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "claims.claim.submitted.v1.json"


def january_claim() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text())["data"]
    data["transaction_type"] = "837I"
    data["frequency_code"] = "2"
    data["service_lines"] = []
    data["total_charge"] = "5700.00"
    data["institutional"] = {
        "type_of_bill": "86",
        "statement_period": {"start": "2026-01-10", "end": "2026-01-31"},
        "admission_date": "2026-01-10",
        "admission_hour": 14,
        "admission_type": "3",
        "admission_source": "1",
        "patient_status": "30",
        "principal_diagnosis": "F332",
        "occurrence_spans": [{"code": "74", "start": "2026-01-20", "end": "2026-01-22"}],
        "value_codes": [{"code": "80", "amount": "19"}, {"code": "81", "amount": "3"}],
        "service_lines": [
            {
                "line_number": 1,
                "line_control_number": "c-1",
                "revenue_code": "1001",
                "amount": "5700.00",
                "unit_basis": "DA",
                "units": "19",
                "service_from": "2026-01-10",
                "service_to": "2026-01-31",
                "charge_ids": ["d1"],
            },
            {
                "line_number": 2,
                "line_control_number": "c-2",
                "revenue_code": "0183",
                "amount": "0.00",
                "unit_basis": "DA",
                "units": "3",
                "service_from": "2026-01-20",
                "service_to": "2026-01-22",
                "charge_ids": ["d2"],
            },
        ],
    }
    return data


def test_vector_2_january_claim_validates_with_its_day_counts() -> None:
    claim = ClaimSubmitted.model_validate(january_claim())
    assert claim.institutional is not None
    assert [v.amount for v in claim.institutional.value_codes] == [Decimal(19), Decimal(3)]
    assert claim.total_charge == Decimal("5700.00")


def test_an_837i_without_its_institutional_detail_is_refused() -> None:
    data = january_claim()
    del data["institutional"]
    with pytest.raises(ValidationError, match="institutional"):
        ClaimSubmitted.model_validate(data)


def test_institutional_total_is_the_sum_of_its_lines() -> None:
    data = january_claim()
    data["total_charge"] = "5600.00"
    with pytest.raises(ValidationError, match="total_charge"):
        ClaimSubmitted.model_validate(data)
