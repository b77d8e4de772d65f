"""A charge's versions: re-priced on a new close, voided on a reopen unless a claim already
went out with it, fixed only while not on a claim, and moved by claims' news in order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from charges.domain.charges import (
    Charge,
    ChargeRuleViolation,
    PricingOverride,
)
from charges.domain.pricing import CoverageOnDate, price_session
from charges.domain.projections import CoveragePeriod
from charges.domain.sessions import GroupSessionLedger, SessionNotClosed, SessionReopened
from contracts.events.attendance import GroupSessionReopened
from contracts.events.charges import ChargeStatus
from contracts.events.claims import ClaimStatus

from ..group_sessions import DEMO, closed

ACME = CoverageOnDate(
    True, CoveragePeriod("cov-1", "acme-commercial", "18", True, date(2026, 1, 1))
)


def built(**kwargs: object) -> Charge:
    terms = price_session(closed(**kwargs), DEMO).terms_for("m-1", ACME, PricingOverride())  # type: ignore[arg-type]
    return Charge.build("demo-bh", "ch-1", terms)


def on_claim(status: ClaimStatus, version: int = 1) -> Charge:
    charge = built().with_claim_status("clm-1", version, status, named=True)
    assert charge is not None
    return charge


def reopened(sequence: int = 1) -> GroupSessionReopened:
    return GroupSessionReopened(
        session_id="gs-1",
        close_sequence=sequence,
        reopened_at="2026-03-10T14:00:00Z",  # type: ignore[arg-type]
        reopened_by="user-sup",
        forced=True,
        override_reason="roster correction",
    )


def test_a_new_charge_is_version_1_and_ready() -> None:
    charge = built()
    assert (charge.version, charge.status) == (1, ChargeStatus.READY)


def test_the_same_terms_again_change_nothing() -> None:
    charge = built()
    assert charge.rebuilt(charge.terms) is None


def test_a_reclose_reprices_the_same_charge_as_a_new_version() -> None:
    charge = built()
    voided = charge.voided_by_reopen("reopened")
    assert voided is not None and (voided.version, voided.status) == (2, ChargeStatus.VOID)
    again = voided.rebuilt(built(close_sequence=2).terms)
    assert again is not None
    assert (again.charge_id, again.version, again.status) == ("ch-1", 3, ChargeStatus.READY)
    assert again.terms.group.close_sequence == 2


def test_a_charge_on_a_submitted_claim_is_not_voided_by_a_reopen() -> None:
    with pytest.raises(ChargeRuleViolation) as refusal:
        on_claim(ClaimStatus.SUBMITTED).voided_by_reopen("reopened")
    assert refusal.value.code == "CLAIM_SUBMITTED"
    assert refusal.value.details["claim_ids"] == ["clm-1"]


def test_a_charge_on_a_claim_not_yet_sent_is_voided_by_a_reopen() -> None:
    voided = on_claim(ClaimStatus.DRAFT).voided_by_reopen("reopened")
    assert voided is not None and voided.status is ChargeStatus.VOID and voided.claim is None


def test_an_operator_cannot_fix_or_void_a_charge_on_any_claim() -> None:
    charge = on_claim(ClaimStatus.DRAFT)
    with pytest.raises(ChargeRuleViolation, match="CHARGE_LOCKED"):
        charge.voided_by_operator("duplicate")
    with pytest.raises(ChargeRuleViolation, match="CHARGE_LOCKED"):
        charge.rechecked(charge.terms)


def test_a_void_charge_is_not_fixed_and_voiding_it_again_changes_nothing() -> None:
    voided = built().voided_by_operator("entered in error")
    assert voided is not None
    assert voided.voided_by_operator("again") is None
    with pytest.raises(ChargeRuleViolation, match="CHARGE_VOID"):
        voided.fixed(PricingOverride(rate=Decimal("10.00"), reason="x"), voided.terms)


def test_an_override_without_a_reason_is_refused() -> None:
    charge = built()
    with pytest.raises(ChargeRuleViolation, match="REASON_REQUIRED"):
        charge.fixed(PricingOverride(rate=Decimal("10.00")), charge.terms)


def test_claim_statuses_move_the_charge_on_claim_billed_and_back_to_ready() -> None:
    charge = on_claim(ClaimStatus.SUBMITTED)
    assert (charge.status, charge.version) == (ChargeStatus.ON_CLAIM, 2)
    billed = charge.with_claim_status("clm-1", 1, ClaimStatus.ACCEPTED, named=True)
    assert billed is not None and billed.status is ChargeStatus.BILLED
    released = billed.with_claim_status("clm-1", 1, ClaimStatus.REVERSED, named=True)
    assert released is not None
    assert (released.status, released.claim, released.version) == (ChargeStatus.READY, None, 4)


def test_a_rejected_claim_keeps_its_charges() -> None:
    charge = on_claim(ClaimStatus.REJECTED)
    assert charge.status is ChargeStatus.ON_CLAIM


def test_older_news_about_a_claim_arriving_late_changes_nothing() -> None:
    reversed_ = on_claim(ClaimStatus.SUBMITTED).with_claim_status(
        "clm-1", 1, ClaimStatus.REVERSED, named=True
    )
    assert reversed_ is not None
    assert reversed_.with_claim_status("clm-1", 1, ClaimStatus.SUBMITTED, named=True) is None


def test_only_the_claim_holding_a_charge_releases_it() -> None:
    moved = on_claim(ClaimStatus.SUBMITTED).with_claim_status(
        "clm-2", 1, ClaimStatus.DRAFT, named=True
    )
    assert moved is not None and moved.claim is not None
    late = moved.with_claim_status("clm-1", 1, ClaimStatus.REPLACED, named=True)
    assert late is not None
    assert (late.status, late.claim, late.version) == (ChargeStatus.ON_CLAIM, moved.claim, 3)


def test_a_claim_no_longer_listing_a_charge_releases_it() -> None:
    dropped = on_claim(ClaimStatus.DRAFT).with_claim_status(
        "clm-1", 2, ClaimStatus.DRAFT, named=False
    )
    assert dropped is not None and dropped.status is ChargeStatus.READY


def test_a_duplicate_close_or_one_older_than_a_reopen_is_not_taken() -> None:
    ledger = GroupSessionLedger("demo-bh", "gs-1")
    first = closed()
    assert ledger.takes_close(first)
    ledger = ledger.with_close(first)
    assert not ledger.takes_close(closed())
    assert ledger.takes_reopen(reopened(1))
    ledger = ledger.with_reopen(reopened(1))
    assert not ledger.takes_reopen(reopened(1))
    assert not ledger.takes_close(closed(close_sequence=1))
    assert ledger.takes_close(closed(close_sequence=2))


def test_generate_needs_a_session_that_is_closed_now() -> None:
    with pytest.raises(SessionNotClosed):
        GroupSessionLedger("demo-bh", "gs-1").close_to_charge()
    reopened_ledger = GroupSessionLedger("demo-bh", "gs-1").with_close(closed())
    with pytest.raises(SessionReopened):
        reopened_ledger.with_reopen(reopened(1)).close_to_charge()
