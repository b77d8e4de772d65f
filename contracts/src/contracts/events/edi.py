"""Events produced by the EDI gateway: what became of each claim it was given."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from contracts.codes import Identifier
from contracts.events.base import ContractModel, EventData
from contracts.events.event_types import (
    EDI_CLAIM_ACCEPTED_V1,
    EDI_CLAIM_REJECTED_V1,
    EDI_CLAIM_TRANSMITTED_V1,
    EDI_CLAIM_WITHDRAWAL_ANSWERED_V1,
)

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


class AcknowledgmentStage(StrEnum):
    """Where the word about a claim came from."""

    PRE_SEND_VALIDATION = "PRE_SEND_VALIDATION"  # our own X12 validator refused it
    TA1 = "TA1"  # the interchange envelope (ISA13)
    ACK_999 = "999"  # the transaction set (GS06 / ST02)
    ACK_277CA = "277CA"  # the claim itself (CLM01 / line control numbers)


RejectionStage = AcknowledgmentStage  # the name edi.claim.rejected.v1 first shipped with


class AcknowledgingParty(StrEnum):
    """Who spoke: a 277CA's information source (2100A NM101), or the envelope's receiver."""

    CLEARINGHOUSE = "CLEARINGHOUSE"
    PAYER = "PAYER"
    OTHER = "OTHER"


class LineAcknowledgment(ContractModel):
    """What a 277CA said about one service line (by its line control number, REF*FJ)."""

    line_control_number: str = Field(min_length=1, max_length=50)
    accepted: bool
    codes: list[str] = Field(default_factory=list, description="STC01 composites, e.g. A7:453")
    message: str | None = Field(default=None, max_length=500)


class _Acknowledged(EventData):
    """Fields shared by the acknowledgment events (no PHI: codes, numbers and the payer's
    free text, which is about the claim and never names the patient)."""

    claim_id: Identifier
    claim_version: int = Field(ge=1)
    patient_control_number: str = Field(pattern=r"^[A-Za-z0-9-]{1,20}$")
    stage: AcknowledgmentStage
    codes: list[str] = Field(
        default_factory=list,
        description="Status codes as received: 277CA STC01 (category:status[:entity]), "
        "999 IK5/AK9 codes, TA1 TA105; our own validator's codes before sending.",
    )
    party: AcknowledgingParty | None = None
    payer_claim_control_number: str | None = Field(
        default=None, max_length=50, description="277CA REF*1K; REF*F8 on a void/replacement."
    )
    clearinghouse_trace_number: str | None = Field(
        default=None, max_length=50, description="277CA REF*D9."
    )
    status_date: date | None = Field(default=None, description="277CA STC02.")
    acknowledgment_file_id: str | None = Field(
        default=None, max_length=64, description="The archived inbound file that said so."
    )
    lines: list[LineAcknowledgment] = Field(default_factory=list)


class EdiClaimRejected(_Acknowledged):
    """The claim will not reach the payer as sent; the codes and text say why (no PHI)."""

    event_type: ClassVar[str] = EDI_CLAIM_REJECTED_V1

    message: str = Field(min_length=1, max_length=2000)
    rejected_at: datetime


class EdiClaimAccepted(_Acknowledged):
    """A clearinghouse or payer acknowledged the claim as accepted (277CA A1/A2); lines
    it rejected on their own are listed in ``lines``."""

    event_type: ClassVar[str] = EDI_CLAIM_ACCEPTED_V1

    message: str | None = Field(default=None, max_length=2000)
    accepted_at: AwareDatetime


class WithdrawalOutcome(StrEnum):
    """What the gateway did with a ``claims.claim.withdrawal_requested.v1``."""

    WITHDRAWN = "WITHDRAWN"  # it still waited for its batch: it will never be sent
    TOO_LATE = "TOO_LATE"  # it is in an interchange (or was refused before sending)


class EdiClaimWithdrawalAnswered(EventData):
    """The gateway's answer to a withdrawal request, once per claim version: its id is
    named after the version, whose outcome never changes, so a repeated request gets no
    second answer. A request that arrives before the claim version it names is answered
    WITHDRAWN, and that version, when it arrives, is never sent."""

    event_type: ClassVar[str] = EDI_CLAIM_WITHDRAWAL_ANSWERED_V1

    claim_id: Identifier
    claim_version: int = Field(ge=1)
    patient_control_number: str = Field(pattern=r"^[A-Za-z0-9-]{1,20}$")
    outcome: WithdrawalOutcome
    submission_status: str = Field(
        min_length=1,
        max_length=16,
        description="Where the version stands in the gateway now: WITHDRAWN, or on "
        "TOO_LATE its status (BATCHED, TRANSMITTED, REJECTED).",
    )
    answered_at: AwareDatetime
