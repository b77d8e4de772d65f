"""After submission (#5): what acknowledgments do to a claim, which claims may be voided or
replaced, and the reference a correction names."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from claims.domain.claims import (
    TRANSITIONS,
    ClaimLine,
    ClaimRuleViolation,
    ClaimStatus,
    check_transition,
)
from claims.domain.corrections import (
    AcknowledgmentEffect,
    AcknowledgmentOutcome,
    OverrideAction,
    PayerReference,
    acknowledgment_decision,
    check_correctable,
    check_rebuildable_afresh,
    checked_reason,
    original_reference,
    renumbered,
)

ACCEPTED = AcknowledgmentOutcome.ACCEPTED
REJECTED = AcknowledgmentOutcome.REJECTED


def decide(status: ClaimStatus, outcome: AcknowledgmentOutcome, version: int = 1) -> object:
    decision = acknowledgment_decision(status, 1, version, outcome)
    return (decision.effect, decision.status)


def test_an_acceptance_moves_a_submitted_claim_to_accepted() -> None:
    assert decide(ClaimStatus.SUBMITTED, ACCEPTED) == (
        AcknowledgmentEffect.APPLIED,
        ClaimStatus.ACCEPTED,
    )


def test_a_rejection_at_any_stage_moves_a_submitted_or_accepted_claim_to_rejected() -> None:
    for status in (ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED):
        assert decide(status, REJECTED) == (AcknowledgmentEffect.APPLIED, ClaimStatus.REJECTED)


def test_an_acceptance_after_a_rejection_leaves_the_claim_rejected() -> None:
    assert decide(ClaimStatus.REJECTED, ACCEPTED) == (AcknowledgmentEffect.REJECTION_STANDS, None)


def test_the_same_word_twice_changes_nothing() -> None:
    assert decide(ClaimStatus.ACCEPTED, ACCEPTED) == (AcknowledgmentEffect.UNCHANGED, None)
    assert decide(ClaimStatus.REJECTED, REJECTED) == (AcknowledgmentEffect.UNCHANGED, None)


def test_either_order_ends_rejected() -> None:
    for first, second in ((ACCEPTED, REJECTED), (REJECTED, ACCEPTED)):
        status = ClaimStatus.SUBMITTED
        for outcome in (first, second, first, second):
            moved = acknowledgment_decision(status, 1, 1, outcome).status
            status = moved or status
        assert status is ClaimStatus.REJECTED


def test_an_acknowledgment_of_an_older_version_changes_nothing() -> None:
    decision = acknowledgment_decision(ClaimStatus.SUBMITTED, 2, 1, REJECTED)
    assert (decision.effect, decision.status) == (AcknowledgmentEffect.OLDER_VERSION, None)


def test_a_stale_claim_stays_stale_and_a_void_is_only_recorded() -> None:
    assert decide(ClaimStatus.STALE, REJECTED) == (AcknowledgmentEffect.CLAIM_STALE, None)
    assert decide(ClaimStatus.REVERSED, ACCEPTED) == (AcknowledgmentEffect.VOID_ACKNOWLEDGED, None)


def test_the_reference_is_the_payers_claim_control_number_of_the_newest_version() -> None:
    references = [
        PayerReference(1, "CLEARINGHOUSE", "CH-1"),
        PayerReference(1, "PAYER", "PCCN-1"),
        PayerReference(2, "PAYER", "PCCN-2"),
    ]
    assert original_reference("P000000007", 2, references) == "PCCN-2"
    assert original_reference("P000000007", 1, references) == "PCCN-1"


def test_without_a_277ca_number_the_reference_is_our_patient_control_number() -> None:
    assert original_reference("P000000007", 1, []) == "P000000007"


@pytest.mark.parametrize(
    ("status", "reversal_needed", "stale_from"),
    [
        (ClaimStatus.SUBMITTED, False, None),
        (ClaimStatus.ACCEPTED, False, None),
        (ClaimStatus.STALE, True, ClaimStatus.SUBMITTED),
    ],
)
def test_a_claim_that_left_our_hands_can_be_voided_or_replaced(
    status: ClaimStatus, reversal_needed: bool, stale_from: ClaimStatus | None
) -> None:
    for action in (OverrideAction.REVERSE, OverrideAction.REPLACE):
        check_correctable(
            "c", action, status, reversal_needed=reversal_needed, stale_from=stale_from
        )


@pytest.mark.parametrize(
    ("status", "reversal_needed", "stale_from"),
    [
        (ClaimStatus.REJECTED, False, None),
        (ClaimStatus.STALE, True, ClaimStatus.REJECTED),
        (ClaimStatus.STALE, False, ClaimStatus.READY),
        (ClaimStatus.READY, False, None),
        (ClaimStatus.REVERSED, False, None),
    ],
)
def test_other_claims_cannot_be_voided(
    status: ClaimStatus, reversal_needed: bool, stale_from: ClaimStatus | None
) -> None:
    with pytest.raises(ClaimRuleViolation) as refused:
        check_correctable(
            "c",
            OverrideAction.REVERSE,
            status,
            reversal_needed=reversal_needed,
            stale_from=stale_from,
        )
    assert refused.value.code == "CLAIM_NOT_REVERSIBLE"


def test_a_rejected_claim_is_told_to_be_rebuilt() -> None:
    with pytest.raises(ClaimRuleViolation) as refused:
        check_correctable(
            "c",
            OverrideAction.REPLACE,
            ClaimStatus.REJECTED,
            reversal_needed=False,
            stale_from=None,
        )
    assert refused.value.code == "CLAIM_NOT_REPLACEABLE"
    assert "rebuild" in refused.value.message


def test_a_fresh_rebuild_happens_once() -> None:
    check_rebuildable_afresh("c", ClaimStatus.REVERSED, None, None)
    with pytest.raises(ClaimRuleViolation) as refused:
        check_rebuildable_afresh("c", ClaimStatus.REVERSED, "clm-new", None)
    assert refused.value.code == "CLAIM_ALREADY_REBUILT"


def test_an_override_needs_a_reason() -> None:
    assert checked_reason("c", "  attendance corrected  ") == "attendance corrected"
    for missing in (None, "", "   "):
        with pytest.raises(ClaimRuleViolation) as refused:
            checked_reason("c", missing)
        assert refused.value.code == "REASON_REQUIRED"


def test_a_replacement_passes_through_replaced_and_reads_submitted_again() -> None:
    for sent in (ClaimStatus.SUBMITTED, ClaimStatus.ACCEPTED, ClaimStatus.STALE):
        check_transition("c", sent, ClaimStatus.REPLACED)
        check_transition("c", sent, ClaimStatus.REVERSED)
    check_transition("c", ClaimStatus.REPLACED, ClaimStatus.SUBMITTED)
    assert TRANSITIONS[ClaimStatus.REVERSED] == frozenset()


def test_a_correction_renumbers_the_lines_for_its_version() -> None:
    line = ClaimLine(
        line_number=1,
        line_control_number="P000000007-1-1",
        charge_id="ch-1",
        charge_version=2,
        procedure_code="90853",
        modifiers=("HQ",),
        units=Decimal(1),
        unit_basis="UN",
        amount=Decimal("50.00"),
        date_of_service=date(2026, 3, 9),
        place_of_service=None,
        diagnosis_pointers=(1,),
    )
    [void] = renumbered([line], "P000000007", 2)
    assert void.line_control_number == "P000000007-2-1"
    assert (void.amount, void.charge_id) == (Decimal("50.00"), "ch-1")
