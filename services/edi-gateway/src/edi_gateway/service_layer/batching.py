"""The batcher (SPEC 7, 9): gathers pending claims into interchanges, validates each file
before it leaves, and delivers it.

Every second, one replica (``try_lock(session, "edi:batcher")``) looks at each group of
pending claims (tenant, clearinghouse, transaction type, usage indicator). A group whose
oldest claim has waited the clearinghouse's window, or that holds ``max_claims``, becomes
one interchange, in one transaction:

1. its claims are locked (``FOR UPDATE SKIP LOCKED``); a claim that cannot be written at
   all (a delimiter in a name) is rejected before any number is spent on it;
2. ISA13 / GS06 / ST02 are taken from the durable sequence, the file is rendered and run
   through the X12 validator (in a worker thread);
3. if the validator finds errors inside claims, those claims go back as
   ``edi.claim.rejected.v1`` and the rest is rendered again with new numbers (the refused
   file is recorded as DISCARDED, its numbers stay spent); errors outside every claim
   (envelope, header: configuration) roll the whole batch back to wait and retry;
4. the clean file is archived (bytes, SHA-256, size) with one transmission row per claim,
   and the interchange is PENDING.

Delivery is a second step, one transaction per interchange: the file goes to the
clearinghouse under a name fixed by its ISA13, then the interchange turns SENT and each
claim's ``edi.claim.transmitted.v1`` is published. A crash between the two re-delivers
the same bytes under the same name (the transport sees it is already there): no second
file, no new numbers. A transport whose upload and rename are separate server steps
(SFTP) goes through the recorded protocol of ``service_layer.delivery``, whose record
survives the crash. A failed attempt is counted on the interchange with its coded error
and retried with back-off."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from common.db import UnitOfWork, utcnow
from common.leases import try_lock
from common.logging import get_logger
from common.telemetry import continuing
from common.tenants import TenantDirectory, TenantNotConfigured
from contracts.events import EDI_CLAIM_TRANSMITTED_V1
from contracts.events.claims import ClaimSubmitted
from contracts.events.edi import EdiClaimTransmitted
from contracts.tenant import Clearinghouse, ConfigLookupError, TenantConfig
from edi_gateway.adapters.db.repository import (
    ArchivedFileRepository,
    ClaimSubmissionRepository,
    InterchangeRepository,
    PendingClaim,
    PendingGroup,
    TransmissionRepository,
)
from edi_gateway.domain.batching import BatchKey, interchange_file_name, is_batch_due
from edi_gateway.domain.envelope import (
    MAX_CLAIMS_PER_TRANSACTION_SET,
    ControlNumbers,
    InterchangeParty,
    InterchangeRequest,
    KeyedClaim,
    Receiver,
    RenderedInterchange,
    Submitter,
    TransactionSetRenderer,
    line_control_numbers,
    refusals_of,
    render_interchange,
    transaction_sets_needed,
)
from edi_gateway.domain.model import (
    ControlNumberKind,
    Interchange,
    InterchangeStatus,
    TransactionType,
    Transmission,
    UsageIndicator,
)
from edi_gateway.domain.validation import (
    ValidationIssue,
    attribute_issues,
    rejection_message,
)
from edi_gateway.domain.x12 import Delimiters, RenderRefusal
from edi_gateway.service_layer.control_numbers import allocate_control_numbers
from edi_gateway.service_layer.delivery import (
    DeliveryJournal,
    StagedTransport,
    deliver_recorded,
    describe_delivery_error,
)
from edi_gateway.service_layer.metrics import DELIVERY_FAILURES, FILES_SENT
from edi_gateway.service_layer.retry import RetrySchedule
from edi_gateway.service_layer.submissions import EVENT_NAMESPACE, publish_rejection

log = get_logger(__name__)

BATCHER_LOCK: Final = "edi:batcher"
OUTBOUND: Final = "OUTBOUND"


class ClaimValidator(Protocol):
    def validate(self, text: str) -> list[ValidationIssue]: ...


class ClearinghouseTransport(Protocol):
    kind: str

    async def deliver(
        self, clearinghouse: Clearinghouse, file_name: str, content: bytes
    ) -> str: ...


class BatchNotSendable(Exception):
    """The file fails for a reason no claim owns (envelope, header, configuration)."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


@dataclass(frozen=True)
class BatchResult:
    interchange: Interchange | None
    rejected_claim_ids: list[str]
    discarded: list[Interchange]


def interchange_request(
    tenant: TenantConfig,
    clearinghouse: Clearinghouse,
    usage_indicator: UsageIndicator,
    now: datetime,
    delimiters: Delimiters,
) -> InterchangeRequest:
    """Everything about an interchange to ``clearinghouse`` but its numbers and claims
    (the batcher's and the preview's one source)."""
    contact = tenant.billing_provider.contact
    return InterchangeRequest(
        sender=InterchangeParty(clearinghouse.sender.qualifier.value, clearinghouse.sender.id),
        receiver=InterchangeParty(
            clearinghouse.receiver.qualifier.value, clearinghouse.receiver.id
        ),
        application_sender_code=clearinghouse.application_sender_code or clearinghouse.sender.id,
        application_receiver_code=clearinghouse.application_receiver_code
        or clearinghouse.receiver.id,
        usage_indicator=usage_indicator,
        acknowledgment_requested=clearinghouse.acknowledgment_requested,
        # Business dates and times are the facility's (SPEC 2).
        created_at=now.astimezone(ZoneInfo(tenant.time_zone)),
        submitter=Submitter(
            name=tenant.billing_provider.name,
            identifier=clearinghouse.submitter_id or clearinghouse.sender.id,
            contact_name=contact.name,
            contact_phone=contact.phone,
            contact_email=contact.email,
        ),
        claim_receiver=Receiver(
            name=clearinghouse.receiver_name, identifier=clearinghouse.receiver.id
        ),
        delimiters=delimiters,
    )


class ClaimBatcher:
    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        tenants: TenantDirectory,
        renderers: Mapping[TransactionType, TransactionSetRenderer],
        validator: ClaimValidator,
        transports: Mapping[str, ClearinghouseTransport],
        delimiters: Delimiters | None = None,
        clock: Callable[[], datetime] = utcnow,
        retry_max_seconds: float = 60.0,
        claims_per_transaction_set: int = MAX_CLAIMS_PER_TRANSACTION_SET,
    ) -> None:
        self._uow = unit_of_work
        self._tenants = tenants
        self._renderers = dict(renderers)
        self._validator = validator
        self._transports = dict(transports)
        self._delimiters = delimiters or Delimiters()
        self._clock = clock
        self._per_set = claims_per_transaction_set
        self._retries = RetrySchedule(retry_max_seconds)
        self._journal = DeliveryJournal(unit_of_work)
        self._warned: set[object] = set()

    async def run(self, poll_seconds: float) -> None:
        """The background loop: batch what is due, deliver what is pending, sleep."""
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("batcher_tick_failed", error_type=type(exc).__name__, exc_info=exc)
            await asyncio.sleep(poll_seconds)

    async def tick(self) -> None:
        await self.batch_due_groups()
        await self.send_pending()

    # ------------------------------------------------------------------ batching

    async def batch_due_groups(self) -> list[BatchResult]:
        async with self._uow() as uow:
            groups = await ClaimSubmissionRepository(uow.session).pending_groups()
        results = []
        for group in groups:
            if not self._retries.due(group.key):
                continue
            clearinghouse = self._configured(group.key)
            if clearinghouse is None or not self._is_due(group, clearinghouse):
                continue
            try:
                result = await self.batch_group(group.key)
            except BatchNotSendable as exc:
                delay = self._retries.failed(group.key)
                log.error(
                    "batch_not_sendable",
                    tenant_id=group.key.tenant_id,
                    clearinghouse_id=group.key.clearinghouse_id,
                    reasons=exc.reasons,
                    retry_in_seconds=delay,
                )
                continue
            except Exception as exc:
                # Rolled back: the claims wait, their numbers were given back.
                delay = self._retries.failed(group.key)
                log.error(
                    "batch_failed",
                    tenant_id=group.key.tenant_id,
                    clearinghouse_id=group.key.clearinghouse_id,
                    error_type=type(exc).__name__,
                    retry_in_seconds=delay,
                    exc_info=exc,
                )
                continue
            self._retries.succeeded(group.key)
            if result is not None:
                results.append(result)
        return results

    def _is_due(self, group: PendingGroup, clearinghouse: Clearinghouse) -> bool:
        return is_batch_due(
            oldest_age_seconds=group.oldest_age_seconds,
            pending=group.pending,
            window_seconds=clearinghouse.batch.window_seconds,
            max_claims=clearinghouse.batch.max_claims,
        )

    def _configured(self, key: BatchKey) -> Clearinghouse | None:
        """The group's clearinghouse when the group can be batched by this gateway."""
        if key.transaction_type not in self._renderers:
            self._warn_once(key, "batch_waits_for_renderer", key.transaction_type.value)
            return None
        try:
            return self._tenants.get(key.tenant_id).clearinghouse(key.clearinghouse_id)
        except (ConfigLookupError, TenantNotConfigured) as exc:
            self._warn_once(key, "batch_waits_for_configuration", type(exc).__name__)
            return None

    def _warn_once(self, key: BatchKey, event: str, reason: str) -> None:
        if (key, event) in self._warned:
            return
        self._warned.add((key, event))
        log.warning(
            event,
            tenant_id=key.tenant_id,
            clearinghouse_id=key.clearinghouse_id,
            transaction_type=key.transaction_type.value,
            reason=reason,
        )

    async def batch_group(self, key: BatchKey) -> BatchResult | None:
        """Build the group's next interchange (see the module docstring). None when
        another replica holds the batcher lock or the group has nothing left."""
        tenant = self._tenants.get(key.tenant_id)
        clearinghouse = tenant.clearinghouse(key.clearinghouse_id)
        renderer = self._renderers[key.transaction_type]
        async with self._uow() as uow:
            if not await try_lock(uow.session, BATCHER_LOCK):
                return None
            submissions = ClaimSubmissionRepository(uow.session)
            pending = await submissions.take_pending(key, clearinghouse.batch.max_claims)
            if not pending:
                return None
            rows = {claim.row_id: claim for claim in pending}
            now = self._clock()
            request = self._request(tenant, clearinghouse, key, now)
            rejected: list[str] = []

            async def reject(row_ids: Sequence[int], codes: Sequence[str], message: str) -> None:
                await submissions.mark_rejected(row_ids, codes, message)
                for row_id in row_ids:
                    claim = rows[row_id]
                    rejected.append(claim.claim_id)
                    publish_rejection(
                        uow,
                        key.tenant_id,
                        claim.claim_id,
                        claim.claim_version,
                        claim.patient_control_number,
                        codes,
                        message,
                        now,
                    )

            keyed: list[KeyedClaim] = []
            for claim in pending:
                try:
                    model = ClaimSubmitted.model_validate(claim.payload)
                except ValidationError:
                    await reject([claim.row_id], ["CLAIM_UNREADABLE"], "stored claim is invalid")
                    continue
                keyed.append(KeyedClaim(key=claim.row_id, claim=model))
            try:
                refused = await asyncio.to_thread(refusals_of, request, renderer, keyed)
            except RenderRefusal as header_refusal:
                raise BatchNotSendable(
                    [f"{header_refusal.code}: {header_refusal.message}"]
                ) from header_refusal
            for row_id, claim_refusal in refused.items():
                await reject([row_id], [claim_refusal.code], claim_refusal.message)
            remaining = [claim for claim in keyed if claim.key not in refused]

            discarded: list[Interchange] = []
            clean: RenderedInterchange | None = None
            while remaining:
                numbers = await self._allocate(uow, key, clearinghouse, len(remaining))
                rendered, issues = await asyncio.to_thread(
                    self._render_and_validate, request, numbers, renderer, remaining
                )
                if not issues:
                    clean = rendered
                    break
                discarded.append(
                    await self._record_discarded(uow, key, clearinghouse, rendered, issues)
                )
                attribution = attribute_issues(issues, rendered.claim_spans)
                if attribution.unattributed or not attribution.by_claim:
                    raise BatchNotSendable([i.describe() for i in attribution.unattributed])
                for row_id, found in attribution.by_claim.items():
                    codes = [i.code_in(rendered.loop_of(i.segment_number or 0)) for i in found]
                    message = rejection_message([i.describe() for i in found])
                    await reject([row_id], list(dict.fromkeys(codes)), message)
                remaining = [c for c in remaining if c.key not in attribution.by_claim]
            interchange = None
            if clean is not None:
                models = {claim.key: claim.claim for claim in remaining}
                interchange = await self._archive(uow, key, clearinghouse, clean, rows, models)
            await uow.commit()
        if rejected:
            log.warning(
                "claims_rejected_before_sending",
                tenant_id=key.tenant_id,
                clearinghouse_id=key.clearinghouse_id,
                rejected=len(rejected),
                discarded_interchanges=[d.isa13 for d in discarded],
            )
        if interchange is not None:
            log.info(
                "interchange_rendered",
                tenant_id=key.tenant_id,
                clearinghouse_id=key.clearinghouse_id,
                interchange_id=interchange.interchange_id,
                isa13=interchange.isa13,
                claims=interchange.claim_count,
            )
        return BatchResult(
            interchange=interchange, rejected_claim_ids=rejected, discarded=discarded
        )

    def _request(
        self, tenant: TenantConfig, clearinghouse: Clearinghouse, key: BatchKey, now: datetime
    ) -> InterchangeRequest:
        return interchange_request(
            tenant, clearinghouse, key.usage_indicator, now, self._delimiters
        )

    async def _allocate(
        self, uow: UnitOfWork, key: BatchKey, clearinghouse: Clearinghouse, claim_count: int
    ) -> ControlNumbers:
        sender = clearinghouse.sender.id
        # In the order ISA, GS, ST (allocate_control_numbers: no two allocators deadlock).
        (isa13,) = await allocate_control_numbers(
            uow.session, key.tenant_id, sender, ControlNumberKind.INTERCHANGE
        )
        (gs06,) = await allocate_control_numbers(
            uow.session, key.tenant_id, sender, ControlNumberKind.GROUP
        )
        st02s = await allocate_control_numbers(
            uow.session,
            key.tenant_id,
            sender,
            ControlNumberKind.TRANSACTION_SET,
            transaction_sets_needed(claim_count, self._per_set),
        )
        return ControlNumbers(interchange=isa13, group=gs06, transaction_sets=tuple(st02s))

    async def _record_discarded(
        self,
        uow: UnitOfWork,
        key: BatchKey,
        clearinghouse: Clearinghouse,
        rendered: RenderedInterchange,
        issues: Sequence[ValidationIssue],
    ) -> Interchange:
        """The refused file's numbers stay spent and say why (the file is not kept)."""
        numbers = rendered.control_numbers
        return await InterchangeRepository(uow.session).add(
            tenant_id=key.tenant_id,
            interchange_id=str(uuid.uuid4()),
            clearinghouse_id=key.clearinghouse_id,
            sender_id=clearinghouse.sender.id,
            transaction_type=key.transaction_type,
            usage_indicator=key.usage_indicator,
            isa13=numbers.interchange,
            gs06=numbers.group,
            status=InterchangeStatus.DISCARDED,
            receiver_id=clearinghouse.receiver.id,
            claim_count=len(rendered.claim_spans),
            transaction_set_control_numbers=numbers.transaction_sets,
            validation_issues=[
                issue.code_in(rendered.loop_of(issue.segment_number or 0)) + " " + issue.describe()
                for issue in issues
            ][:200],
        )

    async def _archive(
        self,
        uow: UnitOfWork,
        key: BatchKey,
        clearinghouse: Clearinghouse,
        rendered: RenderedInterchange,
        claims: Mapping[int, PendingClaim],
        models: Mapping[int, ClaimSubmitted],
    ) -> Interchange:
        """The file, its hash and each claim's place in it, as one PENDING interchange."""
        numbers = rendered.control_numbers
        interchange_id = str(uuid.uuid4())
        file_id = str(uuid.uuid4())
        content = rendered.content
        sha256 = hashlib.sha256(content).hexdigest()
        file_name = interchange_file_name(
            key.tenant_id, key.clearinghouse_id, key.transaction_type, numbers.interchange
        )
        await ArchivedFileRepository(uow.session).add(
            tenant_id=key.tenant_id,
            file_id=file_id,
            direction=OUTBOUND,
            clearinghouse_id=key.clearinghouse_id,
            interchange_id=interchange_id,
            file_name=file_name,
            sha256=sha256,
            content=content,
        )
        interchange = await InterchangeRepository(uow.session).add(
            tenant_id=key.tenant_id,
            interchange_id=interchange_id,
            clearinghouse_id=key.clearinghouse_id,
            sender_id=clearinghouse.sender.id,
            transaction_type=key.transaction_type,
            usage_indicator=key.usage_indicator,
            isa13=numbers.interchange,
            gs06=numbers.group,
            status=InterchangeStatus.PENDING,
            receiver_id=clearinghouse.receiver.id,
            claim_count=len(rendered.claim_spans),
            transaction_set_control_numbers=numbers.transaction_sets,
            file_id=file_id,
            file_name=file_name,
            file_sha256=sha256,
        )
        await TransmissionRepository(uow.session).add_all(
            [
                Transmission(
                    tenant_id=key.tenant_id,
                    interchange_id=interchange_id,
                    clearinghouse_id=key.clearinghouse_id,
                    claim_id=claims[row_id].claim_id,
                    claim_version=claims[row_id].claim_version,
                    patient_control_number=claims[row_id].patient_control_number,
                    isa13=numbers.interchange,
                    gs06=numbers.group,
                    st02=rendered.transaction_set_of[row_id],
                    line_control_numbers=line_control_numbers(models[row_id]),
                )
                for row_id in rendered.claim_keys
            ]
        )
        await ClaimSubmissionRepository(uow.session).mark_batched(
            list(rendered.claim_keys), interchange_id
        )
        return interchange

    # ------------------------------------------------------------------ delivery

    async def send_pending(self) -> list[Interchange]:
        """Deliver every PENDING interchange whose transport is available, oldest first,
        each in its own transaction (one stuck clearinghouse holds up no other)."""
        sent: list[Interchange] = []
        passed: list[str] = []
        while True:
            async with self._uow() as uow:
                interchanges = InterchangeRepository(uow.session)
                interchange = await interchanges.lock_next_unsent(skip=passed)
                if interchange is None:
                    return sent
                passed.append(interchange.interchange_id)
                if not self._retries.due(interchange.interchange_id):
                    continue
                if await self._deliver(uow, interchange):
                    sent.append(interchange)

    async def _deliver(self, uow: UnitOfWork, interchange: Interchange) -> bool:
        key = BatchKey(
            interchange.tenant_id,
            interchange.clearinghouse_id,
            interchange.transaction_type,
            interchange.usage_indicator,
        )
        clearinghouse = self._configured(key)
        if clearinghouse is None:
            return False
        transport = self._transports.get(clearinghouse.transport.kind)
        if transport is None:
            self._warn_once(key, "delivery_waits_for_transport", clearinghouse.transport.kind)
            return False
        assert interchange.file_id is not None and interchange.file_name is not None
        archived = await ArchivedFileRepository(uow.session).get(
            interchange.tenant_id, interchange.file_id
        )
        assert archived is not None and archived.content is not None
        try:
            if isinstance(transport, StagedTransport):
                await deliver_recorded(
                    self._journal,
                    transport,
                    clearinghouse,
                    tenant_id=interchange.tenant_id,
                    interchange_id=interchange.interchange_id,
                    file_name=interchange.file_name,
                    content=archived.content,
                )
            else:
                await transport.deliver(clearinghouse, interchange.file_name, archived.content)
        except Exception as exc:
            delay = self._retries.failed(interchange.interchange_id)
            code, message = describe_delivery_error(exc)
            # The row is still locked by this transaction: the attempt and its error are
            # recorded with it, for the operator (the interchange listing shows them).
            await InterchangeRepository(uow.session).record_delivery_attempt(
                interchange.tenant_id,
                interchange.interchange_id,
                self._clock(),
                f"{code}: {message}",
            )
            await uow.commit()
            DELIVERY_FAILURES.labels(code).inc()
            log.error(
                "interchange_delivery_failed",
                tenant_id=interchange.tenant_id,
                clearinghouse_id=interchange.clearinghouse_id,
                interchange_id=interchange.interchange_id,
                isa13=interchange.isa13,
                error_type=type(exc).__name__,
                error_code=code,
                retry_in_seconds=delay,
            )
            return False
        sent_at = self._clock()
        interchanges = InterchangeRepository(uow.session)
        await interchanges.record_delivery_attempt(
            interchange.tenant_id, interchange.interchange_id, sent_at, None
        )
        await interchanges.mark_sent(interchange.tenant_id, interchange.interchange_id, sent_at)
        await ClaimSubmissionRepository(uow.session).mark_transmitted(
            interchange.tenant_id, interchange.interchange_id
        )
        transmissions = await TransmissionRepository(uow.session).for_interchange(
            interchange.tenant_id, interchange.interchange_id
        )
        traceparents = await ClaimSubmissionRepository(uow.session).traceparents(
            interchange.tenant_id, [(t.claim_id, t.claim_version) for t in transmissions]
        )
        for transmission in transmissions:
            # The batcher runs outside any consumer span: each claim's transmitted event
            # continues that claim's own trace (its submission's traceparent).
            with continuing(
                traceparents.get((transmission.claim_id, transmission.claim_version)),
                "edi.interchange.send",
                tenant_id=interchange.tenant_id,
                claim_id=transmission.claim_id,
                interchange_id=interchange.interchange_id,
                isa13=interchange.isa13,
            ):
                self._announce_transmitted(uow, interchange, archived.sha256, transmission, sent_at)
        await uow.commit()
        FILES_SENT.labels(str(interchange.transaction_type)).inc()
        self._retries.succeeded(interchange.interchange_id)
        log.info(
            "interchange_sent",
            tenant_id=interchange.tenant_id,
            clearinghouse_id=interchange.clearinghouse_id,
            interchange_id=interchange.interchange_id,
            isa13=interchange.isa13,
            file_name=interchange.file_name,
            claims=len(transmissions),
        )
        return True

    @staticmethod
    def _announce_transmitted(
        uow: UnitOfWork,
        interchange: Interchange,
        file_sha256: str,
        transmission: Transmission,
        sent_at: datetime,
    ) -> None:
        uow.publish(
            type=EDI_CLAIM_TRANSMITTED_V1,
            tenant_id=interchange.tenant_id,
            subject=transmission.claim_id,
            event_id=str(
                uuid.uuid5(
                    EVENT_NAMESPACE,
                    f"transmitted/{interchange.interchange_id}/{transmission.claim_id}"
                    f"/{transmission.claim_version}",
                )
            ),
            data=EdiClaimTransmitted(
                claim_id=transmission.claim_id,
                claim_version=transmission.claim_version,
                patient_control_number=transmission.patient_control_number,
                clearinghouse_id=interchange.clearinghouse_id,
                interchange_control_number=f"{transmission.isa13:09d}",
                group_control_number=str(transmission.gs06),
                transaction_set_control_number=f"{transmission.st02:04d}",
                file_name=interchange.file_name,
                file_sha256=file_sha256,
                transmitted_at=sent_at,
            ),
        )

    def _render_and_validate(
        self,
        request: InterchangeRequest,
        numbers: ControlNumbers,
        renderer: TransactionSetRenderer,
        claims: Sequence[KeyedClaim],
    ) -> tuple[RenderedInterchange, list[ValidationIssue]]:
        rendered = render_interchange(request, numbers, renderer, claims, per_set=self._per_set)
        return rendered, self._validator.validate(rendered.text)
