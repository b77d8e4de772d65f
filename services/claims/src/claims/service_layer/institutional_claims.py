"""Use cases of institutional per-diem claims (SPEC 6, docs/design/per-diem.md): a stay's
days are cut into cycles by the program's billing period, a cycle that has closed is built
into one 837I claim once every stay day in it has a READY day charge, and whatever changes
later (a late leave, a late discharge, a corrected admit, rewritten day charges) reaches
the claims already built.

One operation does all of it, :func:`reconcile_stay`: read the stay, its day charges, its
claims and the operator's choices; cut the cycles; then for each cycle build, rebuild,
leave alone, mark STALE or cancel. Every trigger (a stay event, charges, the time-driven
sweep, an operator's request, a member or facility record) runs it under the stay's lock
in the unit of work of the event or request, so it is idempotent: running it twice on the
same facts changes nothing the second time."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from claims.adapters.db.claims_repository import ClaimRepository, StatusChange
from claims.adapters.db.corrections_repository import Override
from claims.adapters.db.institutional_repository import InstitutionalRepository, StayBilling
from claims.adapters.db.repository import ProjectionRepository
from claims.domain.charges import AwaitedDay, ChargeOnFile, StayCharging
from claims.domain.claims import (
    ClaimRuleViolation,
    ClaimStatus,
    IssueCode,
    ScrubIssue,
    UnknownClaim,
    check_submittable,
    check_transition,
    error,
    patient_control_number,
    status_after_scrub,
)
from claims.domain.corrections import (
    REPLACEMENT,
    VOID,
    OverrideAction,
    ReplacementNotClean,
    check_correctable,
    check_rebuildable_afresh,
    nothing_changed,
    rebuilt_afresh,
    renumbered,
)
from claims.domain.cycles import BilledRange, Cycle, DateRange, StayDays, plan_cycles
from claims.domain.institutional import (
    BlockedDay,
    CycleClaim,
    CycleClaimInputs,
    InstitutionalClaimContent,
    InstitutionalEdits,
    billing_fingerprint,
    blocked_days,
    build_cycle_claim,
    content_fingerprint,
)
from claims.domain.institutional_scrub import context_issues, scrub_cycle_claim
from claims.domain.projections import (
    ClaimMember,
    Facility,
    ProjectionOutcome,
    SourceStamp,
    StayContext,
    StayStamp,
    StayStatus,
)
from claims.domain.reference import ReferenceTables
from claims.domain.stay_changes import StayChange, describe_stay_change
from claims.service_layer.dependencies import ClaimsDependencies, ControlNumberBlock
from claims.service_layer.messages import cycle_claim_status_changed, cycle_claim_submitted
from claims.service_layer.overrides import (
    REPLACEMENT_REASON,
    VOID_REASON,
    audit,
    clearinghouse_of,
    reference_to_original,
)
from claims.service_layer.projections import record_facility, record_stay
from common.db import UnitOfWork
from common.errors import DomainError
from common.leases import try_lock
from common.logging import get_logger
from common.tenants import TenantNotConfigured
from contracts.events import (
    CLAIM_STATUS_CHANGED_V1,
    CLAIM_SUBMITTED_V1,
    CLAIM_WITHDRAWAL_REQUESTED_V1,
    ClaimWithdrawalRequested,
    TransactionType,
)
from contracts.tenant import BillingPeriod, InstitutionalBillingVersion, TenantConfig
from contracts.tenant.effective_dating import ConfigLookupError

log = get_logger(__name__)

AUTO_SUBMIT = "auto-submit"
SWEEP_LEASE = "claims:cycle-close-sweep"
ONE_DAY = timedelta(days=1)


class BuildReason:
    """Why a cycle claim version was built (kept on the version)."""

    BUILT = "BUILT"
    STAY_CHANGED = "STAY_CHANGED"
    DAY_CHARGES_CHANGED = "DAY_CHARGES_CHANGED"
    CYCLE_CLOSED = "CYCLE_CLOSED"
    REQUESTED = "REQUESTED"
    CONTEXT_EDITED = "CONTEXT_EDITED"
    MEMBER_CHANGED = "MEMBER_CHANGED"
    FACILITY_CHANGED = "FACILITY_CHANGED"
    WITHDRAWN = "WITHDRAWN"  # the gateway withdrew the STALE version before sending it


# --------------------------------------------------------------------------- refusals


class UnknownStay(DomainError):
    def __init__(self, stay_id: str) -> None:
        super().__init__(
            "STAY_NOT_FOUND", "no stay (nor any day charge of it) with this id", stay_id=stay_id
        )


def _days_detail(days: Sequence[BlockedDay]) -> list[dict[str, object]]:
    return [
        {
            "date": d.day.isoformat(),
            "reason": d.reason.value,
            "charge_ids": list(d.charge_ids),
            "issue_codes": list(d.issue_codes),
        }
        for d in days
    ]


class CycleNotReady(DomainError):
    """A cycle whose stay days lack a READY day charge; names each such day."""

    def __init__(self, stay_id: str, cycle: Cycle, days: Sequence[BlockedDay]) -> None:
        first = days[0]
        super().__init__(
            "CYCLE_NOT_READY",
            f"{len(days)} stay day(s) have no READY day charge, the first {first.day.isoformat()} "
            f"({first.reason.value})",
            stay_id=stay_id,
            cycle_from=cycle.first_day.isoformat(),
            cycle_to=cycle.last_day.isoformat(),
            days=_days_detail(days),
        )


class CycleNotClosed(DomainError):
    def __init__(self, stay_id: str, cycle: Cycle) -> None:
        super().__init__(
            "CYCLE_NOT_CLOSED",
            "the cycle's period has not ended and it does not hold the discharge",
            stay_id=stay_id,
            cycle_from=cycle.first_day.isoformat(),
            cycle_to=cycle.last_day.isoformat(),
        )


class ClaimAlreadySubmitted(DomainError):
    def __init__(self, claim: CycleClaim) -> None:
        super().__init__(
            "CLAIM_SUBMITTED",
            "the claim left our hands: it is reversed and rebuilt, or replaced (#5)",
            claim_id=claim.claim_id,
            claim_status=claim.status.value,
            reversal_needed=claim.reversal_needed,
        )


class InstitutionalContextInvalid(DomainError):
    def __init__(self, claim_id: str, issues: Sequence[ScrubIssue]) -> None:
        codes = sorted({issue.code for issue in issues})
        super().__init__(
            "INSTITUTIONAL_CONTEXT_INVALID",
            "the edited institutional context does not validate: " + ", ".join(codes),
            claim_id=claim_id,
            codes=codes,
            issues=[{"code": i.code, "message": i.message} for i in issues],
        )


# --------------------------------------------------------------------------- what a run reads


# Triggers that cannot change what a submitted claim bills (parties aside): its check is
# skipped for them.
_PARTIES_ONLY = frozenset({"MEMBER_CHANGED", "FACILITY_CHANGED", "CYCLE_CLOSED"})


@dataclass(frozen=True)
class Trigger:
    reason: str
    stay_changes: tuple[StayChange, ...] = ()
    requested: bool = False  # an operator asked: build closed cycles whatever auto-build says
    claim_id: str | None = None  # an operator asked about this claim
    days: tuple[date, ...] | None = None  # the days whose charges changed (None: any)

    def may_change_billing_of(self, cycle: Cycle) -> bool:
        """Whether a submitted claim of ``cycle`` can bill differently after this."""
        if self.requested:
            return True
        if self.reason in _PARTIES_ONLY:
            return False
        if self.days is not None:
            # A final cycle's statement runs through the discharge day after its last.
            last = cycle.last_day + timedelta(days=1)
            return any(cycle.first_day <= day <= last for day in self.days)
        touching = [c.touches for c in self.stay_changes]
        if self.stay_changes and all(t is not None for t in touching):
            return any(t is not None and t.overlaps(cycle.days) for t in touching)
        return True


@dataclass(frozen=True)
class BlockedCycle:
    first_day: date
    last_day: date
    days: tuple[BlockedDay, ...]


@dataclass
class StayOutcome:
    stay_id: str
    touched: list[str] = field(default_factory=list)  # claims built, rebuilt, staled, cancelled
    claim_ids: list[str] = field(default_factory=list)  # the stay's live claims after the run
    blocked: list[BlockedCycle] = field(default_factory=list)
    open_cycles: list[Cycle] = field(default_factory=list)
    waiting: list[Cycle] = field(default_factory=list)  # closed, ready, auto-build off
    held: list[Cycle] = field(default_factory=list)  # days held after a void, not rebuilt

    def touch(self, claim_id: str) -> None:
        if claim_id not in self.touched:
            self.touched.append(claim_id)


@dataclass(frozen=True)
class StayFacts:
    tenant_id: str
    tenant: TenantConfig
    stay_id: str
    stay: StayContext | None
    member_id: str
    program_id: str
    member: ClaimMember | None
    facility: Facility | None
    charges: tuple[ChargeOnFile, ...]
    claims: tuple[CycleClaim, ...]
    billing: StayBilling
    charging: StayCharging | None  # how far the charges service said it brought the days
    reference: ReferenceTables
    today: date
    time_zone: str
    #: Where the stay's new claims take their CLM01 numbers (shared by a chunk's stays).
    numbers: ControlNumberBlock = field(default_factory=ControlNumberBlock, compare=False)

    def billing_on(self, day: date) -> InstitutionalBillingVersion | None:
        try:
            return self.tenant.program(self.program_id).institutional_billing_on(day)
        except ConfigLookupError:
            return None

    def billing_period_on(self, day: date) -> BillingPeriod:
        if self.billing.billing_period is not None:
            return self.billing.billing_period
        version = self.billing_on(day)
        # Seed 002's migration defaults every program row to MONTHLY.
        return version.billing_period if version else BillingPeriod.MONTHLY

    def auto_builds(self, cycle: Cycle) -> bool:
        version = self.billing_on(cycle.first_day)
        return bool(version and version.auto_build_on_cycle_close)

    def stay_days(self) -> StayDays | None:
        stay = self.stay
        if stay is None or stay.status is StayStatus.ENTERED_IN_ERROR:
            return None
        discharge = stay.discharge.discharge_date if stay.discharge else None
        version = self.billing_on(discharge) if discharge else None
        billable = bool(version and version.discharge_day_billable)
        return StayDays(stay.admission.admit_date, discharge, billable)

    def stay_version_ahead(self, cycle: Cycle) -> int | None:
        """The newest stay version the charges service has applied (as the cycle's day
        charges were written from it, or as it said), when it is newer than the stay this
        service knows (None otherwise)."""
        known = self.stay.stay_version if self.stay is not None else 0
        newest = max((c.stay_version or 0 for c in self.charges_for(cycle)), default=0)
        if self.charging is not None:
            newest = max(newest, self.charging.stay_version)
        return newest if newest > known else None

    def days_behind(self, cycle: Cycle) -> str | None:
        """Why this service's copy of the cycle's day charges may not yet be what the
        newest stay it knows bills (None: it is). The charges service rewrites a day only
        when a stay version bills it otherwise, so a day written from an older version is
        current once that service has said it applied the newer one
        (``charges.stay.charged.v1``) and each day it wrote for it is here."""
        known = self.stay.stay_version if self.stay is not None else 0
        first, last = self.statement_period(cycle)
        charging = self.charging
        if charging is not None:
            missing = charging.missing(self.charges, first, last)
            if missing:
                return f"{len(missing)} day charge version(s) written for it are not here yet"
            if charging.stay_version >= known:
                return None
        newest = max((c.stay_version or 0 for c in self.charges_for(cycle)), default=0)
        if newest >= known:
            return None  # written from the newest stay: that service has applied it
        applied = charging.stay_version if charging is not None else None
        return f"the charges service has not yet applied stay version {known} (it said {applied})"

    def statement_period(self, cycle: Cycle) -> tuple[date, date]:
        """The days the cycle's statement holds: a final cycle's run through the discharge."""
        last = cycle.last_day
        stay = self.stay
        if cycle.final and stay is not None and stay.discharge is not None:
            last = max(last, stay.discharge.discharge_date)
        return cycle.first_day, last

    def charges_for(self, cycle: Cycle) -> tuple[ChargeOnFile, ...]:
        """The stay's charges the cycle's statement period holds."""
        first, last = self.statement_period(cycle)
        return tuple(c for c in self.charges if first <= c.date_of_service <= last)


async def _read(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, stay_id: str
) -> StayFacts | None:
    return (await _read_many(uow, deps, tenant_id, [stay_id])).get(stay_id)


async def _read_many(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, stay_ids: Sequence[str]
) -> dict[str, StayFacts]:
    """What the stays' cycle claims are built from, for many stays in a few statements
    (one per table, whatever the number of stays). A stay known neither by its events nor
    by a day charge is left out. The caller holds the stays' locks."""
    repository = InstitutionalRepository(uow.session)
    projections = ProjectionRepository(uow.session)
    tenant = deps.tenant_config(tenant_id)
    stays = await projections.get_stays(tenant_id, stay_ids)
    charges = await repository.stays_charges(tenant_id, stay_ids)
    claims = await repository.stays_claims(tenant_id, stay_ids)
    parties: dict[str, tuple[str, str, str]] = {}
    for stay_id in stay_ids:
        if (stay := stays.get(stay_id)) is not None:
            parties[stay_id] = (stay.member_id, stay.program_id, stay.facility_id)
        elif stay_charges := charges.get(stay_id):
            first = stay_charges[0]
            parties[stay_id] = (first.member_id, first.program_id, first.facility_id)
    if not parties:
        return {}
    known = list(parties)
    facilities = await projections.get_facilities(tenant_id, [p[2] for p in parties.values()])
    members = await projections.get_members(tenant_id, [p[0] for p in parties.values()])
    billing = await repository.stays_billing(tenant_id, known)
    charging = await repository.stays_charging(tenant_id, known)
    reference = await deps.reference.current(uow.session)
    now = deps.clock()
    numbers = ControlNumberBlock(len(known))
    found: dict[str, StayFacts] = {}
    for stay_id, (member_id, program_id, facility_id) in parties.items():
        facility = facilities.get(facility_id)
        zone = facility.time_zone if facility else tenant.time_zone
        found[stay_id] = StayFacts(
            tenant_id=tenant_id,
            tenant=tenant,
            stay_id=stay_id,
            stay=stays.get(stay_id),
            member_id=member_id,
            program_id=program_id,
            member=members.get(member_id),
            facility=facility,
            charges=tuple(charges.get(stay_id, ())),
            claims=tuple(claims.get(stay_id, ())),
            billing=billing.get(stay_id, StayBilling()),
            charging=charging.get(stay_id),
            reference=reference,
            today=now.astimezone(ZoneInfo(zone)).date(),
            time_zone=zone,
            numbers=numbers,
        )
    return found


def _cut(facts: StayFacts, held: Sequence[CycleClaim]) -> list[Cycle]:
    billed = [BilledRange(c.claim_id, c.days) for c in held]
    stay = facts.stay
    if stay is not None and stay.status is StayStatus.ENTERED_IN_ERROR:
        return []
    days = facts.stay_days()
    if days is None:
        # Known only by its day charges: the operator's explicit cycles, as asked.
        cut = [Cycle(r.first, r.last, r.last, False, None) for r in facts.billing.explicit]
        cut += [
            Cycle(b.days.first, b.days.last, b.days.last, False, None, b.claim_id) for b in billed
        ]
        return sorted(cut, key=lambda c: c.first_day)
    return plan_cycles(
        days,
        facts.billing_period_on,
        billed=billed,
        explicit=facts.billing.explicit,
        today=facts.today,
    )


# --------------------------------------------------------------------------- composing


@dataclass(frozen=True)
class Composed:
    inputs: CycleClaimInputs
    content: InstitutionalClaimContent
    issues: tuple[ScrubIssue, ...]

    @property
    def fingerprint(self) -> str:
        return content_fingerprint(self.content, self.issues)

    @property
    def printed(self) -> str:
        return billing_fingerprint(self.content)


def _compose(
    deps: ClaimsDependencies,
    facts: StayFacts,
    cycle: Cycle,
    *,
    claim_id: str,
    patient_control_number: str,
    version: int,
    edits: InstitutionalEdits,
) -> Composed:
    inputs = CycleClaimInputs(
        patient_control_number=patient_control_number,
        version=version,
        stay_id=facts.stay_id,
        member_id=facts.member_id,
        program_id=facts.program_id,
        cycle=cycle,
        stay=facts.stay,
        charges=facts.charges_for(cycle),
        member=facts.member,
        facility=facts.facility,
        tenant=facts.tenant,
        revenue_codes=facts.reference.revenue_codes,
        edits=edits,
    )
    content = build_cycle_claim(inputs)
    issues = list(scrub_cycle_claim(inputs, content, deps.diagnoses, facts.reference.drg_master))
    if not any(issue.blocks for issue in issues):
        issues += _contract_issues(claim_id, patient_control_number, version, content)
    return Composed(inputs, content, tuple(issues))


def _contract_issues(
    claim_id: str, pcn: str, version: int, content: InstitutionalClaimContent
) -> list[ScrubIssue]:
    """Whatever the scrub let through must still make a valid claim message."""
    trial = CycleClaim(
        claim_id,
        pcn,
        content.stay_id,
        "trial",
        "trial",
        content.billing_provider.npi,
        content.cycle_first_day,
        content.cycle_last_day,
        content.statement_from,
        content.statement_through,
        ClaimStatus.DRAFT,
        max(version, 1),
    )
    try:
        cycle_claim_submitted(trial, content, content.clearinghouse_id or "unknown")
    except ValidationError as exc:
        where = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        return [
            error(
                IssueCode.CLAIM_CONTENT_INVALID,
                "the claim message would be invalid at: " + ", ".join(where)[:400],
            )
        ]
    except ValueError as exc:
        return [error(IssueCode.CLAIM_CONTENT_INVALID, str(exc))]
    return []


# --------------------------------------------------------------------------- the run


async def reconcile_stay(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    stay_id: str,
    trigger: Trigger,
    *,
    read: StayFacts | None = None,
) -> StayOutcome:
    """Bring the stay's cycle claims in line with what is known now (see the module).
    ``read``: the stay's facts as this transaction already read them under the stay's
    lock (the operator's build), so they are not read twice."""
    repository = InstitutionalRepository(uow.session)
    facts = read
    if facts is None:
        await repository.lock_stay(tenant_id, stay_id)
        facts = await _read(uow, deps, tenant_id, stay_id)
    outcome = StayOutcome(stay_id)
    if facts is None:
        if trigger.requested:
            raise UnknownStay(stay_id)
        return outcome
    live = [c for c in facts.claims if c.live]
    held = [c for c in live if c.holds_its_days]
    cycles = _cut(facts, held)
    by_id = {c.claim_id: c for c in live}
    unmatched = [c for c in live if c.rebuildable]
    pairs: list[tuple[Cycle, CycleClaim | None]] = []
    seen_held: set[str] = set()
    for cycle in cycles:
        if cycle.billed_by is not None:
            seen_held.add(cycle.billed_by)
            if trigger.may_change_billing_of(cycle):
                await _check_held(uow, deps, facts, by_id[cycle.billed_by], cycle, trigger, outcome)
            continue
        match = next((c for c in unmatched if c.cycle_first_day == cycle.first_day), None)
        match = match or next((c for c in unmatched if c.days.overlaps(cycle.days)), None)
        if match is not None:
            unmatched.remove(match)
        pairs.append((cycle, match))
    for claim in held:
        if claim.claim_id not in seen_held:
            await _mark_stale(
                uow,
                facts,
                claim,
                ["STAY_DAYS_GONE", *_codes(trigger.stay_changes)],
                _why(trigger, claim, "its days are no longer days of the stay"),
                reversal=True,
            )
            outcome.touch(claim.claim_id)
    for claim in unmatched:
        await _cancel(uow, facts, claim, "its days are no longer a cycle of the stay")
        outcome.touch(claim.claim_id)
    for cycle, matched in pairs:
        await _settle(uow, deps, facts, cycle, matched, trigger, outcome)
    # When the next open cycle closes by time (a claim of an open cycle waits STALE).
    closes = [
        c.period_end + ONE_DAY
        for c, _ in pairs
        if c.period_end is not None and not c.closed(facts.today)
    ]
    await repository.save_stay_billing(
        tenant_id,
        stay_id,
        member_id=facts.member_id,
        billing=facts.billing,
        closes_on=min(closes, default=None),
        time_zone=facts.time_zone,
    )
    outcome.claim_ids = [
        c.claim_id for c in await repository.stay_claims(tenant_id, stay_id) if c.live
    ]
    return outcome


def _codes(changes: Sequence[StayChange]) -> list[str]:
    return list(dict.fromkeys(change.code.value for change in changes))


def _relevant(trigger: Trigger, first: date, last: date) -> list[StayChange]:
    touching = [c for c in trigger.stay_changes if c.touches_period(first, last)]
    return touching or list(trigger.stay_changes)


def _why(trigger: Trigger, claim: CycleClaim, otherwise: str) -> str:
    changes = _relevant(trigger, claim.statement_from, claim.statement_through)
    if changes:
        return "; ".join(change.message for change in changes)
    return otherwise


async def _settle(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    facts: StayFacts,
    cycle: Cycle,
    claim: CycleClaim | None,
    trigger: Trigger,
    outcome: StayOutcome,
) -> None:
    closed = cycle.closed(facts.today)
    blocked = blocked_days(cycle.days.days(), facts.charges_for(cycle))
    if claim is None:
        if not closed:
            outcome.open_cycles.append(cycle)
        elif blocked:
            outcome.blocked.append(BlockedCycle(cycle.first_day, cycle.last_day, tuple(blocked)))
        elif voided := sorted({c.hold.claim_id for c in facts.charges_for(cycle) if c.hold}):
            # Days of a voided claim: billed again only when the stay or their day charges
            # change, or when the operator rebuilds that claim (which lets them go).
            outcome.held.append(cycle)
            log.info(
                "cycle_held_after_reverse",
                stay_id=facts.stay_id,
                cycle_from=cycle.first_day.isoformat(),
                voided_claims=voided,
            )
        elif trigger.requested:
            await _open_and_build(uow, deps, facts, cycle, trigger, outcome)
        elif not facts.auto_builds(cycle):
            outcome.waiting.append(cycle)
        elif not _waits_for_charges(facts, cycle, outcome):  # else reconciled when it lands
            await _open_and_build(uow, deps, facts, cycle, trigger, outcome)
        return
    composed = _compose(
        deps,
        facts,
        cycle,
        claim_id=claim.claim_id,
        patient_control_number=claim.patient_control_number,
        version=claim.version + 1,
        edits=claim.edits,
    )
    repository = InstitutionalRepository(uow.session)
    current = await repository.version_fingerprint(facts.tenant_id, claim.claim_id, claim.version)
    same_cycle = (claim.cycle_first_day, claim.cycle_last_day) == (cycle.first_day, cycle.last_day)
    if composed.fingerprint == current and same_cycle and claim.status is not ClaimStatus.STALE:
        return
    changes = _relevant(trigger, claim.statement_from, claim.statement_through)
    if changes and claim.status is not ClaimStatus.STALE:
        await _mark_stale(
            uow, facts, claim, _codes(changes), _why(trigger, claim, ""), reversal=False
        )
        outcome.touch(claim.claim_id)
    if closed and not blocked:
        if not trigger.requested and _waits_for_charges(facts, cycle, outcome):
            return  # rebuilt once what it waits for lands
        await _build_version(uow, deps, facts, cycle, claim, composed, trigger.reason)
        outcome.touch(claim.claim_id)
        return
    if blocked:
        outcome.blocked.append(BlockedCycle(cycle.first_day, cycle.last_day, tuple(blocked)))
    if claim.status is not ClaimStatus.STALE:
        why = (
            f"{len(blocked)} stay day(s) of the cycle have no READY day charge"
            if blocked
            else "the cycle is open again (its period has not ended, nor the stay)"
        )
        await _mark_stale(
            uow,
            facts,
            claim,
            ["CYCLE_NOT_READY" if blocked else "CYCLE_NOT_CLOSED"],
            why,
            reversal=False,
        )
        outcome.touch(claim.claim_id)


def _waits_for_charges(facts: StayFacts, cycle: Cycle, outcome: StayOutcome) -> bool:
    """Whether an automatic build of ``cycle`` must wait (then noted and logged): the
    charges service is ahead of this service's stay (the stay's event is still in our
    queue, e.g. a leave: built now, the claim would go STALE when it lands), or behind it
    (the days held may be an older version's: built now, it would bill the old days)."""
    known = facts.stay.stay_version if facts.stay else None
    if ahead := facts.stay_version_ahead(cycle):
        log.info(
            "cycle_waits_for_stay",
            stay_id=facts.stay_id,
            cycle_from=cycle.first_day.isoformat(),
            charges_stay_version=ahead,
            known_stay_version=known,
        )
    elif behind := facts.days_behind(cycle):
        log.info(
            "cycle_waits_for_day_charges",
            stay_id=facts.stay_id,
            cycle_from=cycle.first_day.isoformat(),
            known_stay_version=known,
            why=behind,
        )
    else:
        return False
    outcome.waiting.append(cycle)
    return True


async def _open_and_build(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    facts: StayFacts,
    cycle: Cycle,
    trigger: Trigger,
    outcome: StayOutcome,
) -> None:
    sequence = await facts.numbers.next(uow, deps, facts.tenant_id)
    payers = [c.payer_id for c in facts.charges_for(cycle) if c.payer_id]
    claim = CycleClaim(
        claim_id=f"clm-{uuid.uuid4().hex}",
        patient_control_number=patient_control_number(sequence),
        stay_id=facts.stay_id,
        member_id=facts.member_id,
        payer_id=payers[0] if payers else "",
        billing_provider_npi=facts.tenant.billing_provider.npi,
        cycle_first_day=cycle.first_day,
        cycle_last_day=cycle.last_day,
        statement_from=cycle.first_day,
        statement_through=cycle.last_day,
        status=ClaimStatus.DRAFT,
    )
    composed = _compose(
        deps,
        facts,
        cycle,
        claim_id=claim.claim_id,
        patient_control_number=claim.patient_control_number,
        version=1,
        edits=claim.edits,
    )
    reason = BuildReason.REQUESTED if trigger.requested else BuildReason.BUILT
    await _build_version(uow, deps, facts, cycle, claim, composed, reason)
    outcome.touch(claim.claim_id)
    log.info("cycle_claim_opened", claim_id=claim.claim_id, stay_id=facts.stay_id)


async def _build_version(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    facts: StayFacts,
    cycle: Cycle,
    claim: CycleClaim,
    composed: Composed,
    reason: str,
) -> None:
    """Record a new version of ``claim`` from ``composed`` (a claim at version 0 is new:
    its row is written here); READY and auto-submitting, it is submitted at once. A new
    claim's header, its day charges and its history take one statement each (#10)."""
    repository = InstitutionalRepository(uow.session)
    content, issues = composed.content, composed.issues
    fresh = claim.version == 0
    version = claim.version + 1
    previous = claim.status if claim.version else None
    status = status_after_scrub(issues)
    if previous is not None:
        check_transition(claim.claim_id, previous, status)
    payer = composed.inputs.payer_id
    claim.version, claim.status = version, status
    claim.cycle_first_day, claim.cycle_last_day = cycle.first_day, cycle.last_day
    claim.statement_from, claim.statement_through = (
        content.statement_from,
        content.statement_through,
    )
    claim.frequency_code = content.frequency_code.value
    claim.payer_id = payer or claim.payer_id
    claim.stale_reason = None
    blocking = sorted({issue.code for issue in issues if issue.blocks})
    history = []
    if previous is not status:
        history.append(
            StatusChange(
                claim.claim_id, version, previous, status, reason_codes=(reason, *blocking)
            )
        )
    submitting = status is ClaimStatus.READY and facts.tenant.auto_submit_claims
    if submitting:
        # Announced once, as submitted: a READY that never outlives this transaction is
        # no news to the consumers (its history row stays), and at month-end a second
        # message per claim would make charges mark the same days twice (#10).
        history.append(_submission(uow, facts.tenant, facts.tenant_id, claim, content, previous))
    else:
        _publish_status(uow, facts.tenant_id, claim, previous, content.charge_ids, blocking)
    total, line_count = content.total_charge, len(content.lines)
    if fresh:
        await repository.add_cycle_claim(
            facts.tenant_id, claim, total_charge=total, line_count=line_count
        )
    await repository.add_version(
        facts.tenant_id,
        claim.claim_id,
        version,
        content=content,
        issues=issues,
        scrubbed_status=status,
        reason=reason,
        fingerprint=composed.fingerprint,
        printed_fingerprint=composed.printed,
    )
    if not fresh:
        await repository.update_cycle_claim(
            facts.tenant_id, claim, total_charge=total, line_count=line_count
        )
    await repository.hold_charges(facts.tenant_id, claim.claim_id, content.charge_ids, fresh=fresh)
    await ClaimRepository(uow.session).add_status_changes(facts.tenant_id, history)
    log.info(
        "cycle_claim_built",
        claim_id=claim.claim_id,
        claim_version=version,
        stay_id=facts.stay_id,
        status=status.value,
        frequency_code=claim.frequency_code,
        lines=len(content.lines),
        issue_codes=blocking,
    )


def _publish_status(
    uow: UnitOfWork,
    tenant_id: str,
    claim: CycleClaim,
    previous: ClaimStatus | None,
    charge_ids: Sequence[str],
    reason_codes: Sequence[str] = (),
    reason: str | None = None,
) -> None:
    uow.publish(
        type=CLAIM_STATUS_CHANGED_V1,
        tenant_id=tenant_id,
        data=cycle_claim_status_changed(
            claim, previous, charge_ids, reason_codes=reason_codes, reason=reason
        ),
        subject=claim.claim_id,
    )


async def announce_status(
    uow: UnitOfWork,
    tenant_id: str,
    claim: CycleClaim,
    previous: ClaimStatus | None,
    reason_codes: Sequence[str],
    reason: str | None,
) -> None:
    """claims.claim.status_changed.v1 for a cycle claim whose status moved elsewhere (an
    EDI outcome), with the charges its current version holds."""
    lines = await InstitutionalRepository(uow.session).version_lines(
        tenant_id, claim.claim_id, claim.version
    )
    charge_ids = [charge_id for line in lines for charge_id in line.charge_ids]
    _publish_status(uow, tenant_id, claim, previous, charge_ids, reason_codes, reason)


async def _check_held(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    facts: StayFacts,
    claim: CycleClaim,
    cycle: Cycle,
    trigger: Trigger,
    outcome: StayOutcome,
) -> None:
    """A claim that left our hands bills what it billed: when what it would print now
    differs, it is marked STALE for a reverse and rebuild (#5), saying why."""
    if claim.status is ClaimStatus.STALE:
        return
    composed = _compose(
        deps,
        facts,
        cycle,
        claim_id=claim.claim_id,
        patient_control_number=claim.patient_control_number,
        version=claim.version,
        edits=claim.edits,
    )
    repository = InstitutionalRepository(uow.session)
    printed = await repository.version_printed_fingerprint(
        facts.tenant_id, claim.claim_id, claim.version
    )
    if printed == composed.printed:
        return
    changes = _relevant(trigger, claim.statement_from, claim.statement_through)
    codes = _codes(changes) or ["DAY_CHARGES_CHANGED"]
    why = _why(trigger, claim, "its day charges changed after it was submitted")
    await _mark_stale(
        uow,
        facts,
        claim,
        codes,
        f"{why}; it needs a reverse and rebuild",
        reversal=True,
    )
    outcome.touch(claim.claim_id)


async def _mark_stale(
    uow: UnitOfWork,
    facts: StayFacts,
    claim: CycleClaim,
    codes: Sequence[str],
    why: str,
    *,
    reversal: bool,
) -> None:
    previous = claim.status
    if previous is ClaimStatus.STALE:
        return
    check_transition(claim.claim_id, previous, ClaimStatus.STALE)
    claim.status = ClaimStatus.STALE
    claim.stale_reason = why
    claim.reversal_needed = reversal
    repository = InstitutionalRepository(uow.session)
    await repository.update_cycle_claim(facts.tenant_id, claim)
    await ClaimRepository(uow.session).add_status_change(
        facts.tenant_id,
        claim.claim_id,
        claim.version,
        previous,
        ClaimStatus.STALE,
        reason_codes=list(codes),
        reason=why,
    )
    lines = await repository.version_lines(facts.tenant_id, claim.claim_id, claim.version)
    charge_ids = [charge_id for line in lines for charge_id in line.charge_ids]
    _publish_status(uow, facts.tenant_id, claim, previous, charge_ids, codes, why)
    log.info(
        "cycle_claim_stale",
        claim_id=claim.claim_id,
        claim_version=claim.version,
        reversal_needed=reversal,
        reason_codes=list(codes),
    )
    if reversal and previous is ClaimStatus.SUBMITTED:
        await _request_withdrawal(uow, facts, claim, codes)


async def _request_withdrawal(
    uow: UnitOfWork, facts: StayFacts, claim: CycleClaim, codes: Sequence[str]
) -> None:
    """A submitted version that went STALE before we heard it was sent is asked back
    from the gateway (``claims.claim.withdrawal_requested.v1``): still waiting for its
    batch, it is never sent and the claim is rebuilt as an original
    (:func:`apply_withdrawal_answer`), instead of reaching the payer only to be voided.
    Until the gateway answers, no void or replacement is built for it."""
    sent = await ClaimRepository(uow.session).transmissions(facts.tenant_id, [claim.claim_id])
    if any(t.claim_version == claim.version for t in sent.get(claim.claim_id, [])):
        return  # it left in an interchange: only a void or a replacement reaches it now
    try:
        clearinghouse_id = facts.tenant.clearinghouse_for_payer(claim.payer_id).id
    except ConfigLookupError:
        log.warning("cycle_claim_withdrawal_not_requested", claim_id=claim.claim_id)
        return
    claim.withdrawal_requested = claim.version
    await InstitutionalRepository(uow.session).update_cycle_claim(facts.tenant_id, claim)
    uow.publish(
        type=CLAIM_WITHDRAWAL_REQUESTED_V1,
        tenant_id=facts.tenant_id,
        subject=claim.claim_id,
        data=ClaimWithdrawalRequested(
            claim_id=claim.claim_id,
            claim_version=claim.version,
            patient_control_number=claim.patient_control_number,
            clearinghouse_id=clearinghouse_id,
            transaction_type=TransactionType.INSTITUTIONAL,
            reason_codes=list(codes),
        ),
    )
    log.info(
        "cycle_claim_withdrawal_requested",
        claim_id=claim.claim_id,
        claim_version=claim.version,
        clearinghouse_id=clearinghouse_id,
    )


@dataclass(frozen=True)
class WithdrawalAnswer:
    """The gateway's word on a withdrawal request (``edi.claim.withdrawal_answered.v1``)."""

    claim_id: str
    claim_version: int
    withdrawn: bool
    submission_status: str


async def apply_withdrawal_answer(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, answer: WithdrawalAnswer
) -> None:
    """Withdrawn: the version never left, so the claim is no longer waiting for a
    reversal; it is rebuilt as an original (a new version, the same claim and number) and
    submitted as the tenant submits. Too late: it is in an interchange, and stays STALE
    for a void or a replacement, now allowed. Either way the claim's history says so. An
    answer about another version than the one asked back (a repeat) changes nothing."""
    repository = InstitutionalRepository(uow.session)
    found = await repository.get_cycle_claim(tenant_id, answer.claim_id)
    if found is None:
        if await repository.transaction_type(tenant_id, answer.claim_id) is None:
            raise UnknownClaim(answer.claim_id)
        # Only cycle claims are asked back (an 837P goes STALE only by an operator's
        # forced change, and stays for a void or a replacement).
        log.warning("withdrawal_answer_not_for_a_cycle_claim", claim_id=answer.claim_id)
        return
    await repository.lock_stay(tenant_id, found.stay_id)
    claim = await repository.get_cycle_claim(tenant_id, answer.claim_id, for_update=True)
    assert claim is not None
    if claim.withdrawal_requested != answer.claim_version:
        log.info(
            "cycle_claim_withdrawal_answer_ignored",
            claim_id=claim.claim_id,
            claim_version=claim.version,
            answered_version=answer.claim_version,
        )
        return
    claim.withdrawal_requested = None
    withdrawn = (
        answer.withdrawn
        and claim.status is ClaimStatus.STALE
        and claim.reversal_needed
        and claim.version == answer.claim_version
    )
    if withdrawn:
        code, why = (
            "WITHDRAWN_BEFORE_SENDING",
            "the gateway withdrew it before sending it: rebuilt as an original",
        )
        claim.reversal_needed = False
    else:
        code, why = (
            "WITHDRAWAL_TOO_LATE",
            f"the gateway could not withdraw it ({answer.submission_status}): void or replace it",
        )
    await repository.update_cycle_claim(tenant_id, claim)
    await ClaimRepository(uow.session).add_status_change(
        tenant_id,
        claim.claim_id,
        claim.version,
        claim.status,
        claim.status,
        reason_codes=[code],
        reason=why,
    )
    log.info(
        "cycle_claim_withdrawn" if withdrawn else "cycle_claim_withdrawal_too_late",
        claim_id=claim.claim_id,
        claim_version=answer.claim_version,
        submission_status=answer.submission_status,
    )
    if withdrawn and _configured(deps, tenant_id):
        await reconcile_stay(uow, deps, tenant_id, claim.stay_id, Trigger(BuildReason.WITHDRAWN))


async def _cancel(uow: UnitOfWork, facts: StayFacts, claim: CycleClaim, why: str) -> None:
    previous = claim.status
    check_transition(claim.claim_id, previous, ClaimStatus.CANCELLED)
    claim.status = ClaimStatus.CANCELLED
    repository = InstitutionalRepository(uow.session)
    await repository.hold_charges(facts.tenant_id, claim.claim_id, [])
    await repository.update_cycle_claim(facts.tenant_id, claim, line_count=0)
    await ClaimRepository(uow.session).add_status_change(
        facts.tenant_id,
        claim.claim_id,
        claim.version,
        previous,
        ClaimStatus.CANCELLED,
        reason_codes=["CYCLE_GONE"],
        reason=why,
    )
    # claims.claim.status_changed.v1 has no CANCELLED status (a contract gap); the days
    # it held are on the claim of the cycle that holds them now, announced with it.
    log.info("cycle_claim_cancelled", claim_id=claim.claim_id, claim_version=claim.version)


# --------------------------------------------------------------------------- submitting


async def _submit(
    uow: UnitOfWork,
    tenant: TenantConfig,
    tenant_id: str,
    claim: CycleClaim,
    content: InstitutionalClaimContent,
    actor: str,
    *,
    announced: ClaimStatus | None,
) -> None:
    """``announced``: the status the consumers last heard of (the status_changed event's
    ``previous_status``)."""
    change = _submission(uow, tenant, tenant_id, claim, content, announced, actor=actor)
    await InstitutionalRepository(uow.session).update_cycle_claim(tenant_id, claim)
    await ClaimRepository(uow.session).add_status_changes(tenant_id, [change])


def _submission(
    uow: UnitOfWork,
    tenant: TenantConfig,
    tenant_id: str,
    claim: CycleClaim,
    content: InstitutionalClaimContent,
    announced: ClaimStatus | None,
    *,
    actor: str = AUTO_SUBMIT,
) -> StatusChange:
    """Submit ``claim`` (READY) in memory: its submission and its new status are
    published, and it is SUBMITTED; the caller writes its header and the history row
    returned. Refused (409) unless READY, or when no clearinghouse takes its payer."""
    check_submittable(claim.claim_id, claim.status)
    try:
        clearinghouse_id = tenant.clearinghouse_for_payer(claim.payer_id).id
    except ConfigLookupError as exc:
        raise ClaimRuleViolation(
            "UNKNOWN_PAYER", "the tenant configuration has no such payer", claim_id=claim.claim_id
        ) from exc
    uow.publish(
        type=CLAIM_SUBMITTED_V1,
        tenant_id=tenant_id,
        data=cycle_claim_submitted(claim, content, clearinghouse_id),
        subject=claim.claim_id,
    )
    previous = claim.status
    claim.status = ClaimStatus.SUBMITTED
    _publish_status(uow, tenant_id, claim, announced, content.charge_ids)
    log.info(
        "cycle_claim_submitted",
        claim_id=claim.claim_id,
        claim_version=claim.version,
        clearinghouse_id=clearinghouse_id,
    )
    return StatusChange(claim.claim_id, claim.version, previous, claim.status, actor=actor)


async def submit_cycle_claim(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, claim_id: str, actor: str
) -> CycleClaim:
    """An operator's submit of a READY cycle claim (409 CLAIM_NOT_READY otherwise)."""
    repository = InstitutionalRepository(uow.session)
    claim = await repository.get_cycle_claim(tenant_id, claim_id, for_update=True)
    if claim is None:
        raise UnknownClaim(claim_id)
    check_submittable(claim_id, claim.status)
    content = await repository.version_content(tenant_id, claim_id, claim.version)
    if content is None:
        raise UnknownClaim(claim_id)
    await _submit(
        uow, deps.tenant_config(tenant_id), tenant_id, claim, content, actor, announced=claim.status
    )
    return claim


# --------------------------------------------------------------------------- triggers


async def apply_stay_update(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    stay: StayContext,
    stamp: StayStamp,
) -> None:
    """Keep the newer stay state, then bring its cycle claims in line: a change that lands
    on a built cycle marks its claim STALE with why (rebuilt at once when not submitted)."""
    await InstitutionalRepository(uow.session).lock_stay(tenant_id, stay.stay_id)
    previous = await ProjectionRepository(uow.session).get_stay(tenant_id, stay.stay_id)
    if await record_stay(uow, tenant_id, stay, stamp) is not ProjectionOutcome.APPLIED:
        return
    if not _configured(deps, tenant_id):
        # The stay is kept; its cycles are cut once the tenant's configuration is mounted
        # (the next stay or charge event, or an operator's build).
        log.warning("stay_not_billed_tenant_not_configured", stay_id=stay.stay_id)
        return
    changes = describe_stay_change(previous, stay, version=stay.stay_version)
    if changes:
        # The stay changed after a void: the days held for a rebuild are billed afresh.
        released = await ClaimRepository(uow.session).release_stay_holds(tenant_id, stay.stay_id)
        if released:
            log.info("stay_holds_released", stay_id=stay.stay_id, charges=len(released))
    await reconcile_stay(
        uow, deps, tenant_id, stay.stay_id, Trigger(BuildReason.STAY_CHANGED, changes)
    )


async def apply_stay_charged(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    stay_id: str,
    stay_version: int,
    changed: Sequence[AwaitedDay],
) -> None:
    """The charges service has brought the stay's day charges in line with
    ``stay_version`` (``charges.stay.charged.v1``): kept, with the days it wrote that are
    not here yet; then the stay's cycles, which may have been waiting for it, are looked
    at again."""
    repository = InstitutionalRepository(uow.session)
    await repository.lock_stay(tenant_id, stay_id)
    kept = await repository.stay_charging(tenant_id, stay_id) or StayCharging(0)
    charging = kept.told(stay_version, changed, await repository.stay_charges(tenant_id, stay_id))
    if charging == kept:
        return  # an older or repeated message: nothing new to wait for or to build
    await repository.save_stay_charging(tenant_id, stay_id, charging)
    if not _configured(deps, tenant_id):
        return
    trigger = Trigger(
        BuildReason.DAY_CHARGES_CHANGED, days=tuple(sorted({d.date_of_service for d in changed}))
    )
    await reconcile_stay(uow, deps, tenant_id, stay_id, trigger)


def _configured(deps: ClaimsDependencies, tenant_id: str) -> bool:
    try:
        deps.tenant_config(tenant_id)
    except TenantNotConfigured:
        return False
    return True


async def day_charges_changed(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    changed: Mapping[str, Sequence[date]],
) -> None:
    """New versions of day charges (``changed``: stay -> their dates) reach the cycles."""
    for stay_id in sorted(changed):
        trigger = Trigger(
            BuildReason.DAY_CHARGES_CHANGED, days=tuple(sorted(set(changed[stay_id])))
        )
        await reconcile_stay(uow, deps, tenant_id, stay_id, trigger)


async def member_changed(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, member_id: str
) -> None:
    """A newer member record (coverages, enrollments): the member's unsubmitted cycle
    claims are built and scrubbed again."""
    repository = InstitutionalRepository(uow.session)
    for stay_id in await repository.stays_with_open_claims(tenant_id, member_id=member_id):
        await reconcile_stay(uow, deps, tenant_id, stay_id, Trigger(BuildReason.MEMBER_CHANGED))


async def apply_facility_upsert(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    facility: Facility,
    stamp: SourceStamp,
) -> None:
    """Keep the newer facility record, then rebuild the unsubmitted cycle claims of stays
    there (the facility prints on them)."""
    if await record_facility(uow, tenant_id, facility, stamp) is not ProjectionOutcome.APPLIED:
        return
    repository = InstitutionalRepository(uow.session)
    for stay_id in await repository.stays_with_open_claims(
        tenant_id, facility_id=facility.facility_id
    ):
        await reconcile_stay(uow, deps, tenant_id, stay_id, Trigger(BuildReason.FACILITY_CHANGED))


@dataclass(frozen=True)
class CycleCloseSweep:
    """What one cycle-close check did: the claims it touched, and whether stays may still
    be due beyond its batch (it found a full batch and got on with it), so the next check
    should come at once rather than after the interval."""

    touched: list[str] = field(default_factory=list)
    more_due: bool = False


async def close_cycles_due(
    unit_of_work: Callable[[], UnitOfWork],
    deps: ClaimsDependencies,
    *,
    batch_size: int = 200,
) -> CycleCloseSweep:
    """The time-driven check: stays whose next open cycle's period has ended (in the
    facility's zone) are reconciled, so the cycle closes and builds. One replica at a
    time (lease); ``chunk_size`` stays of a tenant to a transaction, each stay on its own
    when its chunk fails."""
    touched: list[str] = []
    reconciled = 0
    async with unit_of_work() as lease:
        if not await try_lock(lease.session, SWEEP_LEASE):
            return CycleCloseSweep()
        due = await InstitutionalRepository(lease.session).due_stays(deps.clock(), batch_size)
        by_tenant: dict[str, list[str]] = {}
        for stay in due:
            by_tenant.setdefault(stay.tenant_id, []).append(stay.stay_id)

        async def close(uow: UnitOfWork, facts: StayFacts) -> StayOutcome:
            trigger = Trigger(BuildReason.CYCLE_CLOSED)
            return await reconcile_stay(
                uow, deps, facts.tenant_id, facts.stay_id, trigger, read=facts
            )

        for tenant_id, stay_ids in by_tenant.items():
            results = await work_through_stays(
                unit_of_work,
                deps,
                tenant_id,
                stay_ids,
                close,
                chunk_size=deps.stays_per_transaction,
            )
            for stay_id, result in results.items():
                if isinstance(result, StayOutcome):
                    touched += result.touched
                    reconciled += 1
                else:  # one stay's trouble never stops the others
                    log.warning(
                        "cycle_close_failed",
                        stay_id=stay_id,
                        error_type=type(result).__name__,
                        error_code=getattr(result, "code", None),
                    )
    # A reconciled stay leaves the due ones (its next closing day is later): a full batch
    # that moved on means a backlog, say at month end. One that failed throughout waits
    # for the interval, so a stay that keeps failing never makes the check spin.
    return CycleCloseSweep(touched, more_due=len(due) >= batch_size and reconciled > 0)


StayWork = Callable[[UnitOfWork, StayFacts], Awaitable[StayOutcome]]


async def work_through_stays(
    unit_of_work: Callable[[], UnitOfWork],
    deps: ClaimsDependencies,
    tenant_id: str,
    stay_ids: Sequence[str],
    work: StayWork,
    *,
    chunk_size: int,
) -> dict[str, StayOutcome | Exception]:
    """Run ``work`` on each stay, ``chunk_size`` stays to a transaction: their locks
    taken and their facts read in a few statements for the whole chunk (#10: a month-end
    is statements, not Python). When anything in a chunk fails, the chunk is rolled back
    and each of its stays is done again in its own transaction, so one stay's trouble
    costs the others nothing but time and each stay gets its own answer. A stay known
    neither by its events nor by a day charge is answered ``UnknownStay``."""
    results: dict[str, StayOutcome | Exception] = {}
    wanted = list(dict.fromkeys(stay_ids))
    for start in range(0, len(wanted), chunk_size):
        chunk = wanted[start : start + chunk_size]
        if len(chunk) > 1:
            try:
                async with unit_of_work() as uow:
                    await InstitutionalRepository(uow.session).lock_stays(tenant_id, chunk)
                    read = await _read_many(uow, deps, tenant_id, chunk)
                    done: dict[str, StayOutcome | Exception] = {}
                    for stay_id in chunk:
                        facts = read.get(stay_id)
                        done[stay_id] = (
                            UnknownStay(stay_id) if facts is None else await work(uow, facts)
                        )
                    await uow.commit()
                results.update(done)
                continue
            except Exception as exc:
                log.info(
                    "stay_chunk_done_one_by_one",
                    stays=len(chunk),
                    error_type=type(exc).__name__,
                    error_code=getattr(exc, "code", None),
                )
        for stay_id in chunk:
            try:
                async with unit_of_work() as uow:
                    await InstitutionalRepository(uow.session).lock_stay(tenant_id, stay_id)
                    facts = await _read(uow, deps, tenant_id, stay_id)
                    if facts is None:
                        raise UnknownStay(stay_id)
                    results[stay_id] = await work(uow, facts)
                    await uow.commit()
            except Exception as exc:
                results[stay_id] = exc
    return results


# --------------------------------------------------------------------------- operator


@dataclass(frozen=True)
class StayBuildRequest:
    stay_id: str
    period: DateRange | None = None  # an explicit cycle
    billing_period: BillingPeriod | None = None  # for the stay's unbilled days


async def build_stay_claims(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, request: StayBuildRequest
) -> StayOutcome:
    """An operator's "Build claim" on a stay: every closed cycle whose days are all READY
    is built now (auto-build or not). With a billing period, the stay's unbilled days are
    cut by it from now on; with an explicit period, that cycle is built (409 naming the
    days when one is not READY, or when the period has not ended)."""
    await InstitutionalRepository(uow.session).lock_stay(tenant_id, request.stay_id)
    facts = await _read(uow, deps, tenant_id, request.stay_id)
    if facts is None:
        raise UnknownStay(request.stay_id)
    return await _build_read(uow, deps, facts, request)


async def build_many_stays_claims(
    unit_of_work: Callable[[], UnitOfWork],
    deps: ClaimsDependencies,
    tenant_id: str,
    stay_ids: Sequence[str],
    *,
    billing_period: BillingPeriod | None = None,
) -> dict[str, StayOutcome | Exception]:
    """The operator's "Build claim" on many stays at once (a month-end): each stay as
    ``build_stay_claims`` without an explicit period, a chunk of stays to a transaction.
    Each stay gets its outcome, or the error that stopped it (the others go on)."""

    async def build(uow: UnitOfWork, facts: StayFacts) -> StayOutcome:
        request = StayBuildRequest(facts.stay_id, billing_period=billing_period)
        return await _build_read(uow, deps, facts, request)

    return await work_through_stays(
        unit_of_work, deps, tenant_id, stay_ids, build, chunk_size=deps.stays_per_transaction
    )


async def _build_read(
    uow: UnitOfWork, deps: ClaimsDependencies, facts: StayFacts, request: StayBuildRequest
) -> StayOutcome:
    """``build_stay_claims`` once the stay is locked and read."""
    tenant_id = facts.tenant_id
    billing = facts.billing
    if request.billing_period is not None:
        billing = replace(billing, billing_period=request.billing_period)
    if request.period is not None:
        _check_period(facts, request.period)
        kept = tuple(r for r in billing.explicit if not r.overlaps(request.period))
        billing = replace(
            billing, explicit=tuple(sorted((*kept, request.period), key=lambda r: r.first))
        )
    if billing != facts.billing:
        await InstitutionalRepository(uow.session).save_stay_billing(
            tenant_id,
            request.stay_id,
            member_id=facts.member_id,
            billing=billing,
            closes_on=None,
            time_zone=facts.time_zone,
        )
    # The stay is locked and read: what was just saved is all that changed since.
    outcome = await reconcile_stay(
        uow,
        deps,
        tenant_id,
        request.stay_id,
        Trigger(BuildReason.REQUESTED, requested=True),
        read=replace(facts, billing=billing),
    )
    if request.period is not None:
        first = (
            max(request.period.first, facts.stay.admission.admit_date)
            if facts.stay
            else request.period.first
        )
        for blocked in outcome.blocked:
            if blocked.first_day == first:
                raise CycleNotReady(
                    request.stay_id,
                    Cycle(blocked.first_day, blocked.last_day, None, False, None),
                    blocked.days,
                )
        for cycle in outcome.open_cycles:
            if cycle.first_day == first:
                raise CycleNotClosed(request.stay_id, cycle)
    return outcome


def _check_period(facts: StayFacts, period: DateRange) -> None:
    stay = facts.stay
    days = facts.stay_days()
    if stay is not None and (days is None or not days.is_stay_day(period.first)):
        raise ClaimRuleViolation(
            "PERIOD_OUTSIDE_STAY",
            "the period starts outside the stay's days (admission through the last stay day)",
            stay_id=facts.stay_id,
        )
    for claim in facts.claims:
        if claim.holds_its_days and claim.days.overlaps(period):
            raise ClaimRuleViolation(
                "PERIOD_ALREADY_BILLED",
                "the period overlaps a cycle already submitted (reverse it first, #5)",
                stay_id=facts.stay_id,
                claim_id=claim.claim_id,
            )


async def rebuild_cycle_claim(
    uow: UnitOfWork, deps: ClaimsDependencies, tenant_id: str, claim_id: str
) -> list[str]:
    """An operator's rebuild: a new version when anything it prints or any finding
    changed (409 when it left our hands, or when a day of its cycle is not READY). A
    REVERSED (or REJECTED) claim's cycle gets a fresh claim instead. Returns the claims
    to show: this one, or the fresh ones."""
    repository = InstitutionalRepository(uow.session)
    claim = await repository.get_cycle_claim(tenant_id, claim_id)
    if claim is None:
        raise UnknownClaim(claim_id)
    stale_from = await ClaimRepository(uow.session).status_before(
        tenant_id, claim_id, ClaimStatus.STALE
    )
    if rebuilt_afresh(claim.status, stale_from):
        return await _rebuild_afresh(uow, deps, tenant_id, claim, stale_from)
    if claim.holds_its_days:
        raise ClaimAlreadySubmitted(claim)
    outcome = await reconcile_stay(
        uow,
        deps,
        tenant_id,
        claim.stay_id,
        Trigger(BuildReason.REQUESTED, requested=True, claim_id=claim_id),
    )
    after = await repository.get_cycle_claim(tenant_id, claim_id)
    assert after is not None
    _refuse_if_not_built(claim.stay_id, after.days, outcome)
    return [claim_id]


def _refuse_if_not_built(stay_id: str, days: DateRange, outcome: StayOutcome) -> None:
    for blocked in outcome.blocked:
        if DateRange(blocked.first_day, blocked.last_day).overlaps(days):
            raise CycleNotReady(
                stay_id,
                Cycle(blocked.first_day, blocked.last_day, None, False, None),
                blocked.days,
            )


async def _rebuild_afresh(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    found: CycleClaim,
    stale_from: ClaimStatus | None,
) -> list[str]:
    """After a void (or a rejection): the claim lets its days go and the stay's cycles
    are built again as they are now, so the cycle gets a fresh original (a new claim id
    and patient control number, frequency 1 or the cycle's 2/3/4), scrubbed as usual and
    submitted at once when the tenant auto-submits."""
    repository = InstitutionalRepository(uow.session)
    await repository.lock_stay(tenant_id, found.stay_id)
    claim = await repository.get_cycle_claim(tenant_id, found.claim_id, for_update=True)
    assert claim is not None
    check_rebuildable_afresh(
        claim.claim_id,
        claim.status,
        claim.superseded_by,
        stale_from if claim.status is ClaimStatus.STALE else None,
    )
    if not claim.released:
        claim.released = True
        await repository.hold_charges(tenant_id, claim.claim_id, [])
        await repository.update_cycle_claim(tenant_id, claim)
    await ClaimRepository(uow.session).release_holds_of(tenant_id, claim.claim_id)
    outcome = await reconcile_stay(
        uow, deps, tenant_id, claim.stay_id, Trigger(BuildReason.REQUESTED, requested=True)
    )
    fresh = [
        c.claim_id
        for c in await repository.stay_claims(tenant_id, claim.stay_id)
        if c.live and c.claim_id != claim.claim_id and c.days.overlaps(claim.days)
    ]
    if not fresh:
        _refuse_if_not_built(claim.stay_id, claim.days, outcome)
        for cycle in outcome.open_cycles:
            if cycle.days.overlaps(claim.days):
                raise CycleNotClosed(claim.stay_id, cycle)
        raise ClaimRuleViolation(
            "NOTHING_TO_REBUILD",
            "the claim's days are no longer days of the stay to bill",
            claim_id=claim.claim_id,
        )
    claim.superseded_by = fresh[0]
    await repository.update_cycle_claim(tenant_id, claim)
    log.info("cycle_claim_rebuilt_afresh", claim_id=claim.claim_id, fresh_claims=fresh)
    return fresh


# --------------------------------------------------------------------------- corrections (#5)


async def _cycle_claim_to_correct(
    uow: UnitOfWork, tenant_id: str, claim_id: str, action: OverrideAction
) -> CycleClaim:
    """The claim under its stay's lock, checked: it left our hands and may sit on the
    payer's books (409 otherwise)."""
    repository = InstitutionalRepository(uow.session)
    found = await repository.get_cycle_claim(tenant_id, claim_id)
    if found is None:
        raise UnknownClaim(claim_id)
    await repository.lock_stay(tenant_id, found.stay_id)
    claim = await repository.get_cycle_claim(tenant_id, claim_id, for_update=True)
    assert claim is not None
    stale_from = await ClaimRepository(uow.session).status_before(
        tenant_id, claim_id, ClaimStatus.STALE
    )
    check_correctable(
        claim_id,
        action,
        claim.status,
        reversal_needed=claim.reversal_needed,
        stale_from=stale_from if claim.status is ClaimStatus.STALE else None,
    )
    if claim.withdrawal_requested is not None:
        raise ClaimRuleViolation(
            "CLAIM_WITHDRAWAL_PENDING",
            "the gateway was asked not to send this claim and has not answered yet: if it "
            "withdraws it, the claim is rebuilt as an original and needs no void or "
            "replacement; try again when it has answered",
            claim_id=claim_id,
            claim_version=claim.withdrawal_requested,
        )
    return claim


async def reverse_cycle_claim(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    claim_id: str,
    reason: str,
    actor: str,
) -> CycleClaim:
    """Void the cycle claim at the payer: its next version repeats the last one sent with
    the type of bill's frequency digit 8 and the original's reference; the claim is
    REVERSED, and its days and day charges are held: no automatic build bills them until
    the stay or their day charges change, or an operator rebuilds it."""
    claim = await _cycle_claim_to_correct(uow, tenant_id, claim_id, OverrideAction.REVERSE)
    repository = InstitutionalRepository(uow.session)
    sent = await repository.version_content(tenant_id, claim_id, claim.version)
    if sent is None:
        raise UnknownClaim(claim_id)
    tenant = deps.tenant_config(tenant_id)
    reference = await reference_to_original(
        uow, tenant_id, claim_id, claim.patient_control_number, claim.version
    )
    previous, from_version = claim.status, claim.version
    check_transition(claim_id, previous, ClaimStatus.REVERSED)
    claim.version, claim.status = from_version + 1, ClaimStatus.REVERSED
    claim.frequency_code, claim.reversal_needed, claim.released = VOID, False, True
    void = replace(sent, lines=renumbered(sent.lines, claim.patient_control_number, claim.version))
    await repository.add_version(
        tenant_id,
        claim_id,
        claim.version,
        content=void,
        issues=(),
        scrubbed_status=ClaimStatus.READY,
        reason=VOID_REASON,
        fingerprint=content_fingerprint(void),
        printed_fingerprint=billing_fingerprint(void),
        frequency_code=VOID,
        original_reference=reference,
    )
    uow.publish(
        type=CLAIM_SUBMITTED_V1,
        tenant_id=tenant_id,
        data=cycle_claim_submitted(
            claim,
            void,
            clearinghouse_of(tenant, claim_id, claim.payer_id),
            frequency_code=VOID,
            original_reference=reference,
        ),
        subject=claim_id,
    )
    await repository.update_cycle_claim(tenant_id, claim)
    await repository.hold_charges(tenant_id, claim_id, [])
    # Its day charges go back to READY (the charges service's echo of this status): that
    # alone must not bill the cycle again (the payer would get the void and the same claim).
    await ClaimRepository(uow.session).hold_after_reverse(tenant_id, claim_id, void.charge_ids)
    await ClaimRepository(uow.session).add_status_change(
        tenant_id,
        claim_id,
        claim.version,
        previous,
        ClaimStatus.REVERSED,
        reason_codes=[VOID_REASON],
        reason=reason,
        actor=actor,
    )
    _publish_status(
        uow,
        tenant_id,
        claim,
        previous,
        void.charge_ids,
        [VOID_REASON],
        "voided (frequency 8); its days wait for a rebuild (or a change of the stay)",
    )
    await audit(
        uow,
        tenant_id,
        Override(
            claim_id=claim_id,
            action=OverrideAction.REVERSE,
            actor=actor,
            reason=reason,
            from_status=previous,
            to_status=ClaimStatus.REVERSED,
            from_version=from_version,
            to_version=claim.version,
            details={"frequency_code": VOID, "original_reference": reference},
        ),
    )
    return claim


async def replace_cycle_claim(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    claim_id: str,
    reason: str,
    actor: str,
) -> CycleClaim:
    """Replace the cycle claim at the payer: its next version is built from the stay and
    day charges as they are now (type of bill frequency digit 7, the original's
    reference), scrubbed (422 with the issues when it has errors, nothing changed) and
    submitted; the version sent before stays as REPLACED in the history."""
    claim = await _cycle_claim_to_correct(uow, tenant_id, claim_id, OverrideAction.REPLACE)
    repository = InstitutionalRepository(uow.session)
    facts = await _read(uow, deps, tenant_id, claim.stay_id)
    assert facts is not None
    held = [c for c in facts.claims if c.live and c.holds_its_days]
    cycle = next((c for c in _cut(facts, held) if c.billed_by == claim_id), None)
    if cycle is None:
        raise ClaimRuleViolation(
            "NOTHING_TO_REPLACE",
            "the claim's days are no longer days of the stay: reverse it instead",
            claim_id=claim_id,
        )
    blocked = blocked_days(cycle.days.days(), facts.charges_for(cycle))
    if blocked:
        raise CycleNotReady(claim.stay_id, cycle, blocked)
    reference = await reference_to_original(
        uow, tenant_id, claim_id, claim.patient_control_number, claim.version
    )
    version = claim.version + 1
    composed = _compose(
        deps,
        facts,
        cycle,
        claim_id=claim_id,
        patient_control_number=claim.patient_control_number,
        version=version,
        edits=claim.edits,
    )
    if any(issue.blocks for issue in composed.issues):
        raise ReplacementNotClean(claim_id, composed.issues)
    printed = await repository.version_printed_fingerprint(tenant_id, claim_id, claim.version)
    if printed == composed.printed:
        raise nothing_changed(claim_id, claim.version)

    claims = ClaimRepository(uow.session)
    content = composed.content
    previous, from_version = claim.status, claim.version
    check_transition(claim_id, previous, ClaimStatus.REPLACED)
    check_transition(claim_id, ClaimStatus.REPLACED, ClaimStatus.SUBMITTED)
    await claims.add_status_change(
        tenant_id,
        claim_id,
        from_version,
        previous,
        ClaimStatus.REPLACED,
        reason_codes=[REPLACEMENT_REASON],
        reason=reason,
        actor=actor,
    )
    claim.version, claim.status = version, ClaimStatus.SUBMITTED
    claim.cycle_first_day, claim.cycle_last_day = cycle.first_day, cycle.last_day
    claim.statement_from, claim.statement_through = (
        content.statement_from,
        content.statement_through,
    )
    claim.payer_id = composed.inputs.payer_id or claim.payer_id
    claim.frequency_code, claim.reversal_needed, claim.stale_reason = REPLACEMENT, False, None
    await repository.add_version(
        tenant_id,
        claim_id,
        version,
        content=content,
        issues=composed.issues,
        scrubbed_status=ClaimStatus.READY,
        reason=REPLACEMENT_REASON,
        fingerprint=composed.fingerprint,
        printed_fingerprint=composed.printed,
        frequency_code=REPLACEMENT,
        original_reference=reference,
    )
    uow.publish(
        type=CLAIM_SUBMITTED_V1,
        tenant_id=tenant_id,
        data=cycle_claim_submitted(
            claim,
            content,
            clearinghouse_of(facts.tenant, claim_id, claim.payer_id),
            frequency_code=REPLACEMENT,
            original_reference=reference,
        ),
        subject=claim_id,
    )
    await repository.update_cycle_claim(
        tenant_id, claim, total_charge=content.total_charge, line_count=len(content.lines)
    )
    await repository.hold_charges(tenant_id, claim_id, content.charge_ids)
    await claims.add_status_change(
        tenant_id,
        claim_id,
        version,
        ClaimStatus.REPLACED,
        ClaimStatus.SUBMITTED,
        reason_codes=[REPLACEMENT_REASON],
        actor=actor,
    )
    _publish_status(uow, tenant_id, claim, previous, content.charge_ids, [REPLACEMENT_REASON])
    await audit(
        uow,
        tenant_id,
        Override(
            claim_id=claim_id,
            action=OverrideAction.REPLACE,
            actor=actor,
            reason=reason,
            from_status=previous,
            to_status=ClaimStatus.SUBMITTED,
            from_version=from_version,
            to_version=version,
            details={"frequency_code": REPLACEMENT, "original_reference": reference},
        ),
    )
    log.info(
        "cycle_claim_replaced",
        claim_id=claim_id,
        claim_version=version,
        lines=len(content.lines),
    )
    return claim


async def edit_institutional_context(
    uow: UnitOfWork,
    deps: ClaimsDependencies,
    tenant_id: str,
    claim_id: str,
    edits: InstitutionalEdits,
) -> CycleClaim:
    """An operator's correction of the claim's institutional context: validated (DRG in
    the master, leaves dated and inside admit..discharge, covered + non-covered = days in
    the period: 422 INSTITUTIONAL_CONTEXT_INVALID with the codes), kept on the claim, and
    the claim rebuilt with it (a new version)."""
    repository = InstitutionalRepository(uow.session)
    found = await repository.get_cycle_claim(tenant_id, claim_id)
    if found is None:
        if await repository.transaction_type(tenant_id, claim_id) is not None:
            raise ClaimRuleViolation(
                "NOT_INSTITUTIONAL",
                "only an institutional (837I) claim has an institutional context",
                claim_id=claim_id,
            )
        raise UnknownClaim(claim_id)
    await repository.lock_stay(tenant_id, found.stay_id)
    claim = await repository.get_cycle_claim(tenant_id, claim_id, for_update=True)
    assert claim is not None
    if not claim.rebuildable:
        raise ClaimAlreadySubmitted(claim)
    facts = await _read(uow, deps, tenant_id, claim.stay_id)
    assert facts is not None
    held = [c for c in facts.claims if c.live and c.holds_its_days]
    cycle = next(
        (c for c in _cut(facts, held) if c.first_day == claim.cycle_first_day),
        Cycle(claim.cycle_first_day, claim.cycle_last_day, claim.cycle_last_day, False, None),
    )
    composed = _compose(
        deps,
        facts,
        cycle,
        claim_id=claim.claim_id,
        patient_control_number=claim.patient_control_number,
        version=claim.version + 1,
        edits=edits,
    )
    problems = context_issues(composed.content, facts.reference.drg_master)
    problems += [
        issue
        for issue in composed.issues
        if issue.code == IssueCode.INVALID_DIAGNOSIS and _edited_diagnoses(edits)
    ]
    if problems:
        raise InstitutionalContextInvalid(claim_id, problems)
    claim.edits = edits
    await repository.update_cycle_claim(tenant_id, claim)
    await reconcile_stay(
        uow,
        deps,
        tenant_id,
        claim.stay_id,
        Trigger(BuildReason.CONTEXT_EDITED, requested=True, claim_id=claim_id),
    )
    after = await repository.get_cycle_claim(tenant_id, claim_id)
    assert after is not None
    return after


def _edited_diagnoses(edits: InstitutionalEdits) -> bool:
    return bool(edits.edited & {"principal_diagnosis", "admitting_diagnosis", "other_diagnoses"})
