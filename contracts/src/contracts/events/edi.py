"""Events produced by the EDI gateway: what became of each claim it was given."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from contracts.codes import Identifier
from contracts.events.base import EventData
from contracts.events.event_types import EDI_CLAIM_REJECTED_V1, EDI_CLAIM_TRANSMITTED_V1

CONTROL_NUMBER = r"^[0-9]{1,9}$"


class EdiClaimTransmitted(EventData):
    """The claim left in an interchange; its place in the file maps acknowledgments back."""

    event_type: ClassVar[str] = EDI_CLAIM_TRANSMITTED_V1

    claim_id: Identifier
    claim_version: int = Field(ge=1)
    patient_control_number: str = Field(pattern=r"^[A-Za-z0-9-]{1,20}$")
    clearinghouse_id: Identifier
    interchange_control_number: str = Field(pattern=CONTROL_NUMBER, description="ISA13")
    group_control_number: str = Field(pattern=CONTROL_NUMBER, description="GS06")
    transaction_set_control_number: str = Field(pattern=r"^[0-9]{4,9}$", description="ST02")
    file_name: str = Field(min_length=1, max_length=200)
    file_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    transmitted_at: AwareDatetime


class RejectionStage(StrEnum):
    PRE_SEND_VALIDATION = "PRE_SEND_VALIDATION"  # our own X12 validator refused it
    TA1 = "TA1"
    ACK_999 = "999"
    ACK_277CA = "277CA"


class EdiClaimRejected(EventData):
    """The claim will not reach the payer as sent; the codes and text say why (no PHI)."""

    event_type: ClassVar[str] = EDI_CLAIM_REJECTED_V1

    claim_id: Identifier
    claim_version: int = Field(ge=1)
    patient_control_number: str = Field(pattern=r"^[A-Za-z0-9-]{1,20}$")
    stage: RejectionStage
    codes: list[str] = Field(default_factory=list)
    message: str = Field(min_length=1, max_length=2000)
    rejected_at: datetime
