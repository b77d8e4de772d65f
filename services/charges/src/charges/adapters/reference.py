"""The reference list of billing codes shipped with the service
(``charges/reference/billing_codes.csv``: code, kind, nonbillable Y/N, description): the
behavioral-health CPT and HCPCS Level II codes a tenant may put in a billing code group
besides its programs' own service codes. Refreshed by editing the file (one code a line);
read once per process."""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib.resources import files

from charges.domain.code_groups import BillingCode, normalize_code

REFERENCE_FILE = "reference/billing_codes.csv"


def parse_billing_codes(text: str) -> tuple[BillingCode, ...]:
    codes: dict[str, BillingCode] = {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        code = normalize_code(row["code"])
        if code in codes:
            raise ValueError(f"{REFERENCE_FILE} line {line}: code {code} listed twice")
        codes[code] = BillingCode(
            code=code,
            kind=row["kind"].strip(),
            description=row["description"].strip() or None,
            nonbillable=row["nonbillable"].strip().upper() == "Y",
        )
    return tuple(codes.values())


@lru_cache(maxsize=1)
def reference_billing_codes() -> tuple[BillingCode, ...]:
    return parse_billing_codes(files("charges").joinpath(REFERENCE_FILE).read_text("utf-8"))
