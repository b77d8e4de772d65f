"""TA1, 999 and 277CA files read back into values (pyx12 splits them, taking the
delimiters from the ISA); each fixture passes pyx12 itself."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from common.testing.x12 import pyx12_errors
from edi_gateway.adapters.acknowledgment_reader import Pyx12AcknowledgmentReader
from edi_gateway.domain.acknowledgments import (
    AcknowledgingParty,
    AcknowledgmentKind,
    AcknowledgmentUnreadable,
    ClaimOutcome,
    ItemEffect,
    claim_status_effect,
    settled_outcome,
)

from ..acknowledgment_files import ClaimResult, SetResult, ack_277ca, ack_999, ta1

READER = Pyx12AcknowledgmentReader()

TA1_REJECTED = ta1(101, "R", "025")
ACK_999_PARTLY = ack_999(
    101, [SetResult(1, "R", ("IK3*CLM*23**8", "IK4*1**7*BADVALUE")), SetResult(2, "A")]
)
ACK_277CA = ack_277ca(
    [
        ClaimResult("PCN1", lines=(("clm-1-1", "A2:20"),)),
        ClaimResult("PCN2", "A7:21:77", payer_claim_number=None, message="PATIENT ID INVALID"),
    ]
)


@pytest.mark.parametrize("text", [TA1_REJECTED, ACK_999_PARTLY, ACK_277CA])
def test_every_fixture_passes_pyx12(text: str, tmp_path: Path) -> None:
    path = tmp_path / "ack.x12"
    path.write_text(text)
    assert pyx12_errors(path) == []


def test_a_ta1_names_our_isa13_its_code_and_note() -> None:
    parsed = READER.read(TA1_REJECTED.encode())
    assert parsed.kind is AcknowledgmentKind.TA1
    (ack,) = parsed.interchange_acknowledgments
    assert (ack.isa13, ack.code, ack.note_code) == (101, "R", "025")
    assert ack.outcome is ClaimOutcome.REJECTED


def test_a_999_gives_each_set_its_ik5_and_located_errors_without_the_bad_value() -> None:
    parsed = READER.read(ACK_999_PARTLY.encode())
    (group,) = parsed.group_acknowledgments
    assert (group.gs06, group.code, group.sets_accepted) == (101, "P", 1)
    rejected, accepted = group.transaction_sets
    assert (rejected.st02, rejected.code, rejected.outcome) == (1, "R", ClaimOutcome.REJECTED)
    assert rejected.codes() == ["IK501:R", "IK502:5", "IK304:8@CLM", "IK403:7@CLM1"]
    assert "BADVALUE" not in rejected.message()
    assert (accepted.st02, accepted.outcome) == (2, ClaimOutcome.INFORMATIONAL)


def test_a_277ca_gives_each_claim_its_status_payer_number_and_lines() -> None:
    parsed = READER.read(ACK_277CA.encode())
    assert parsed.kind is AcknowledgmentKind.ACK_277CA
    first, second = parsed.claim_statuses
    assert first.patient_control_number == "PCN1"
    assert first.party is AcknowledgingParty.PAYER
    assert first.codes() == ["A2:20:PR"] and first.outcome is ClaimOutcome.ACCEPTED
    assert first.payer_claim_control_number == "PAYERCLM1"
    assert (first.status_date, first.total_charge) == (date(2026, 3, 10), Decimal("50"))
    assert first.service_date_from == date(2026, 3, 9)
    (line,) = first.lines
    assert (line.line_control_number, line.outcome) == ("clm-1-1", ClaimOutcome.ACCEPTED)
    assert second.outcome is ClaimOutcome.REJECTED
    assert second.message == "PATIENT ID INVALID"
    assert "DOE" not in repr(parsed)  # the patient's name is never read


def test_delimiters_come_from_the_isa() -> None:
    text = ACK_277CA.replace("*", "|").replace("~", "\n").replace(":", ">")
    parsed = READER.read(text.encode())
    assert parsed.claim_statuses[1].codes() == ["A7:21:77"]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"not an x12 file at all", "ACKNOWLEDGMENT_UNREADABLE"),
        (b"ISA*" + "\u00e9".encode(), "ACKNOWLEDGMENT_UNREADABLE"),
        (ta1(1).replace("TA1*", "XXX*").encode(), "ACKNOWLEDGMENT_UNREADABLE"),
    ],
)
def test_a_file_that_is_no_acknowledgment_is_unreadable_with_a_code(
    content: bytes, code: str
) -> None:
    with pytest.raises(AcknowledgmentUnreadable) as caught:
        READER.read(content)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (ClaimOutcome.ACCEPTED, ClaimOutcome.REJECTED),
        (ClaimOutcome.REJECTED, ClaimOutcome.ACCEPTED),
    ],
)
def test_a_rejection_wins_over_an_acceptance_in_either_order(
    first: ClaimOutcome, second: ClaimOutcome
) -> None:
    state = settled_outcome(settled_outcome(None, first), second)
    assert state == "REJECTED"
    assert settled_outcome(state, second) == "REJECTED"
    assert settled_outcome("ACCEPTED", ClaimOutcome.INFORMATIONAL) == "ACCEPTED"


def test_an_acceptance_after_a_rejection_is_kept_but_not_announced() -> None:
    assert claim_status_effect(None, ClaimOutcome.ACCEPTED) is ItemEffect.ANNOUNCED
    assert claim_status_effect("REJECTED", ClaimOutcome.ACCEPTED) is ItemEffect.REJECTION_STANDS
    assert claim_status_effect("ACCEPTED", ClaimOutcome.REJECTED) is ItemEffect.ANNOUNCED
    assert claim_status_effect("REJECTED", ClaimOutcome.INFORMATIONAL) is ItemEffect.RECORDED
