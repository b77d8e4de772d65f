"""A dry run of the 837 (issue #8): the claim documents the claims service would publish,
rendered exactly as the batcher renders them (the same renderers, interchange request and
delimiters) and run through the same X12 validator, in a throwaway envelope.

Nothing is stored and no control number is taken: ISA13 and GS06 are
:data:`PREVIEW_CONTROL_NUMBER` (all nines, never allocated by the durable sequences,
which start at 1 and hand numbers out in order) and ST02 counts from 1 within the
preview. A real file of the same claims differs only in those numbers, its date and time,
and the other claims batched with them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from common.db import utcnow
from contracts.events.claims import ClaimSubmitted
from contracts.tenant import ConfigLookupError, TenantConfig
from edi_gateway.domain.envelope import (
    ControlNumbers,
    KeyedClaim,
    TransactionSetRenderer,
    refusals_of,
    render_interchange,
    transaction_sets_needed,
)
from edi_gateway.domain.model import TransactionType, UsageIndicator
from edi_gateway.domain.validation import ValidationIssue, attribute_issues
from edi_gateway.domain.x12 import Delimiters, RenderRefusal
from edi_gateway.service_layer.batching import ClaimValidator, interchange_request

PREVIEW_CONTROL_NUMBER: Final = 999_999_999
"""ISA13 / GS06 of every preview: marks the file as a preview, never a real number."""


@dataclass(frozen=True)
class PreviewIssue:
    """A validator finding: its short code, its description (codes and the guide's names,
    never values from the file), and the claim whose segments it is about (None: the
    envelope or header)."""

    code: str
    description: str
    level: str
    segment_number: int | None
    segment_id: str | None
    element: str | None
    claim_id: str | None


@dataclass(frozen=True)
class PreviewFile:
    clearinghouse_id: str
    transaction_type: TransactionType
    usage_indicator: UsageIndicator
    claim_ids: tuple[str, ...]
    text: str
    errors: tuple[PreviewIssue, ...]

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class RefusedClaim:
    """A claim that goes in no file: the batcher would reject it before numbering."""

    claim_id: str
    code: str
    message: str


@dataclass(frozen=True)
class Preview:
    files: tuple[PreviewFile, ...]
    refused: tuple[RefusedClaim, ...]


class InterchangePreviewer:
    """Renders and validates claim documents as the batcher would, in a throwaway envelope."""

    def __init__(
        self,
        *,
        renderers: Mapping[TransactionType, TransactionSetRenderer],
        validator: ClaimValidator,
        delimiters: Delimiters | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._renderers = dict(renderers)
        self._validator = validator
        self._delimiters = delimiters or Delimiters()
        self._clock = clock

    async def preview(self, tenant: TenantConfig, claims: Sequence[ClaimSubmitted]) -> Preview:
        """One file per clearinghouse and transaction type (the batcher's grouping; the
        usage indicator is the clearinghouse's), in the order the claims came."""
        return await asyncio.to_thread(self._preview, tenant, list(claims))

    def _preview(self, tenant: TenantConfig, claims: list[ClaimSubmitted]) -> Preview:
        refused: list[RefusedClaim] = []
        groups: dict[tuple[str, TransactionType], list[KeyedClaim]] = {}
        for key, claim in enumerate(claims):
            transaction_type = TransactionType(claim.transaction_type.value)
            if transaction_type not in self._renderers:
                refused.append(
                    RefusedClaim(
                        claim.claim_id, "NO_RENDERER", f"no renderer for {transaction_type}"
                    )
                )
                continue
            groups.setdefault((claim.clearinghouse_id, transaction_type), []).append(
                KeyedClaim(key=key, claim=claim)
            )
        files: list[PreviewFile] = []
        for (clearinghouse_id, transaction_type), keyed in groups.items():
            try:
                clearinghouse = tenant.clearinghouse(clearinghouse_id)
            except ConfigLookupError:
                refused += [
                    RefusedClaim(
                        k.claim.claim_id,
                        "CLEARINGHOUSE_NOT_CONFIGURED",
                        f"the tenant has no clearinghouse '{clearinghouse_id}'",
                    )
                    for k in keyed
                ]
                continue
            usage = UsageIndicator(clearinghouse.usage_indicator)
            request = interchange_request(
                tenant, clearinghouse, usage, self._clock(), self._delimiters
            )
            renderer = self._renderers[transaction_type]
            try:
                refusals = refusals_of(request, renderer, keyed)
            except RenderRefusal as header_refusal:
                refused += [
                    RefusedClaim(k.claim.claim_id, header_refusal.code, header_refusal.message)
                    for k in keyed
                ]
                continue
            refused += [
                RefusedClaim(claims[key].claim_id, refusal.code, refusal.message)
                for key, refusal in refusals.items()
            ]
            remaining = [k for k in keyed if k.key not in refusals]
            if not remaining:
                continue
            numbers = ControlNumbers(
                interchange=PREVIEW_CONTROL_NUMBER,
                group=PREVIEW_CONTROL_NUMBER,
                transaction_sets=tuple(range(1, transaction_sets_needed(len(remaining)) + 1)),
            )
            rendered = render_interchange(request, numbers, renderer, remaining)
            issues = self._validator.validate(rendered.text)
            claim_of = {span.key: claims[span.key].claim_id for span in rendered.claim_spans}
            attribution = attribute_issues(issues, rendered.claim_spans)
            owner: dict[int, str] = {}
            for key, found in attribution.by_claim.items():
                owner.update({id(issue): claim_of[key] for issue in found})
            files.append(
                PreviewFile(
                    clearinghouse_id=clearinghouse_id,
                    transaction_type=transaction_type,
                    usage_indicator=usage,
                    claim_ids=tuple(claims[k.key].claim_id for k in remaining),
                    text=rendered.text,
                    errors=tuple(
                        _issue(issue, rendered.loop_of(issue.segment_number or 0), owner)
                        for issue in issues
                    ),
                )
            )
        return Preview(files=tuple(files), refused=tuple(refused))


def _issue(issue: ValidationIssue, loop: str | None, owner: Mapping[int, str]) -> PreviewIssue:
    return PreviewIssue(
        code=issue.code_in(loop),
        description=issue.describe(),
        level=issue.level.value,
        segment_number=issue.segment_number,
        segment_id=issue.segment_id,
        element=issue.element,
        claim_id=owner.get(id(issue)),
    )
