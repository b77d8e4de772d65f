"""The tenant configuration (SPEC 2): one YAML document per tenant, mounted into every
service and validated by :class:`TenantConfig`.

Everything that prices or decides billing is effective-dated (see
:mod:`contracts.tenant.effective_dating`): group pricing and institutional billing per
program, billable statuses and supervision ratios, payers' modifier replacements and
bed-hold rates. Ask for the version in force on the date of service
(``program.group_pricing_on(day)``, ``tenant.group_line_modifiers(...)``).

Secrets are never inline: an SFTP private key is named by a file path or an environment
variable, nothing else is accepted.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from contracts.address import PostalAddress
from contracts.codes import (
    AttendanceStatus,
    ClaimFilingIndicator,
    EnvVarName,
    Identifier,
    LeaveReason,
    LoaRevenueCode,
    Modifier,
    Money,
    Npi,
    PhoneNumber,
    PlaceOfService,
    ProcedureCode,
    RevenueCode,
    TaxId,
    TaxonomyCode,
    TimeZoneName,
    UsState,
)
from contracts.envelope import TENANT_PATTERN
from contracts.problems import Problem, duplicate_problems, raise_problems
from contracts.tenant.effective_dating import (
    ConfigLookupError,
    EffectiveDated,
    TenantModel,
    overlap_problems,
    scopes_intersect,
    version_in_force,
)
from contracts.tenant.hl7 import Hl7Interface

__all__ = [
    "AttendancePolicy",
    "BatchLimits",
    "BedHoldRate",
    "BillableStatusesVersion",
    "BillingContact",
    "BillingPeriod",
    "BillingProvider",
    "Clearinghouse",
    "ConfiguredAddress",
    "FilingType",
    "GroupBillingVersion",
    "InstitutionalBillingVersion",
    "InterchangeIdQualifier",
    "InterchangeParty",
    "LoaBilling",
    "LocalFolderTransport",
    "ModifierReplacement",
    "Payer",
    "Program",
    "SftpTransport",
    "SizeBand",
    "SupervisionRatioRule",
    "TenantConfig",
]

ALWAYS_BILLABLE = AttendanceStatus.ATTENDED
MAY_BE_BILLABLE = frozenset(
    {AttendanceStatus.ATTENDED, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY}
)


class ConfiguredAddress(PostalAddress):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


# --------------------------------------------------------------------------- billing provider


class BillingContact(TenantModel):
    """The submitter contact of the 837 (1000A PER*IC)."""

    name: str = Field(min_length=1, max_length=60)
    phone: PhoneNumber
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class BillingProvider(TenantModel):
    """The billing provider (2010AA)."""

    name: str = Field(min_length=1, max_length=60)
    npi: Npi
    tax_id: TaxId
    taxonomy_code: TaxonomyCode
    address: ConfiguredAddress
    contact: BillingContact


# --------------------------------------------------------------------------- payers


class ModifierReplacement(EffectiveDated):
    """A payer's rule replacing an injected modifier, e.g. HQ -> HG for a Medicaid plan.
    Empty ``service_codes`` / ``program_ids`` mean every one."""

    replace: Modifier
    replacement: Modifier
    service_codes: list[ProcedureCode] = Field(default_factory=list)
    program_ids: list[Identifier] = Field(default_factory=list)

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if self.replace == self.replacement:
            raise_problems(type(self).__name__, [(("replacement",), "is the same as replace")])
        return self

    def applies_to(self, program_id: str, service_code: str) -> bool:
        return (not self.service_codes or service_code in self.service_codes) and (
            not self.program_ids or program_id in self.program_ids
        )


class BedHoldRate(EffectiveDated):
    """A payer that pays for leave-of-absence days (a bed-hold) at ``daily_rate``. Empty
    ``program_ids`` / ``revenue_codes`` mean every institutional program / LOA code."""

    daily_rate: Money
    program_ids: list[Identifier] = Field(default_factory=list)
    revenue_codes: list[LoaRevenueCode] = Field(default_factory=list)

    def applies_to(self, program_id: str, revenue_code: str) -> bool:
        return (not self.program_ids or program_id in self.program_ids) and (
            not self.revenue_codes or revenue_code in self.revenue_codes
        )


class Payer(TenantModel):
    id: Identifier = Field(description="Internal id; coverages name it as payer_id.")
    name: str = Field(min_length=1, max_length=60)
    edi_payer_id: str = Field(
        pattern=r"^[A-Za-z0-9-]{2,80}$", description="Payer id on the 837 (2010BB NM109)."
    )
    payer_id_qualifier: Literal["PI", "XV"] = "PI"
    claim_filing_indicator: ClaimFilingIndicator = Field(description="SBR09, e.g. MC, CI, BL.")
    clearinghouse_id: Identifier
    modifier_replacements: list[ModifierReplacement] = Field(default_factory=list)
    bed_hold_rates: list[BedHoldRate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_overlaps(self) -> Self:
        problems = overlap_problems(
            self.modifier_replacements,
            "modifier_replacements",
            conflicting=lambda a, b: (
                a.replace == b.replace
                and scopes_intersect(a.service_codes, b.service_codes)
                and scopes_intersect(a.program_ids, b.program_ids)
            ),
        )
        problems += overlap_problems(
            self.bed_hold_rates,
            "bed_hold_rates",
            conflicting=lambda a, b: (
                scopes_intersect(a.program_ids, b.program_ids)
                and scopes_intersect(a.revenue_codes, b.revenue_codes)
            ),
        )
        raise_problems(type(self).__name__, problems)
        return self

    def replace_modifiers(
        self, modifiers: tuple[str, ...], *, program_id: str, service_code: str, on: date
    ) -> tuple[str, ...]:
        """``modifiers`` with this payer's replacements in force on ``on`` applied."""
        replaced: list[str] = []
        for modifier in modifiers:
            rule = next(
                (
                    rule
                    for rule in self.modifier_replacements
                    if rule.replace == modifier
                    and rule.in_force_on(on)
                    and rule.applies_to(program_id, service_code)
                ),
                None,
            )
            new = rule.replacement if rule else modifier
            if new not in replaced:
                replaced.append(new)
        return tuple(replaced)

    def bed_hold_rate_on(self, *, program_id: str, revenue_code: str, on: date) -> Decimal | None:
        """This payer's bed-hold daily rate for the LOA code, or None when it pays none."""
        rule = next(
            (
                rule
                for rule in self.bed_hold_rates
                if rule.in_force_on(on) and rule.applies_to(program_id, revenue_code)
            ),
            None,
        )
        return rule.daily_rate if rule else None


# --------------------------------------------------------------------------- attendance policy


class BillableStatusesVersion(EffectiveDated):
    """Which attendance statuses make a participant billable. ATTENDED always does;
    LATE and LEFT_EARLY by choice; SCHEDULED and ABSENT never."""

    statuses: list[AttendanceStatus] = Field(min_length=1)

    @field_validator("statuses")
    @classmethod
    def _billable_ones(cls, statuses: list[AttendanceStatus]) -> list[AttendanceStatus]:
        problems: list[Problem] = [
            ((index,), f"{status} is never billable")
            for index, status in enumerate(statuses)
            if status not in MAY_BE_BILLABLE
        ]
        if ALWAYS_BILLABLE not in statuses:
            problems.append(((), "ATTENDED is always billable"))
        if len(set(statuses)) != len(statuses):
            problems.append(((), "lists a status twice"))
        raise_problems(cls.__name__, problems)
        return statuses


def _billable_since_always() -> list[BillableStatusesVersion]:
    return [
        BillableStatusesVersion(
            effective_from=date.min,
            statuses=[AttendanceStatus.ATTENDED, AttendanceStatus.LATE],
        )
    ]


class SupervisionRatioRule(EffectiveDated):
    """At most ``max_participants_per_supervisor`` billable participants per supervisor
    present, for one payer and/or state (absent = any). The most specific rule in force
    applies: payer and state, then payer, then state, then neither."""

    payer_id: Identifier | None = None
    state: UsState | None = None
    max_participants_per_supervisor: int = Field(ge=1)

    @property
    def specificity(self) -> int:
        return (2 if self.payer_id is not None else 0) + (1 if self.state is not None else 0)


class AttendancePolicy(TenantModel):
    billable_statuses: list[BillableStatusesVersion] = Field(
        default_factory=_billable_since_always,
        min_length=1,
        description="Versions; when absent, ATTENDED and LATE since always.",
    )
    supervision_ratios: list[SupervisionRatioRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_overlaps(self) -> Self:
        problems = overlap_problems(self.billable_statuses, "billable_statuses")
        problems += overlap_problems(
            self.supervision_ratios,
            "supervision_ratios",
            conflicting=lambda a, b: (a.payer_id, a.state) == (b.payer_id, b.state),
        )
        raise_problems(type(self).__name__, problems)
        return self

    def billable_statuses_on(self, day: date) -> frozenset[AttendanceStatus]:
        version = version_in_force(self.billable_statuses, day, what="billable statuses")
        return frozenset(version.statuses)

    def supervision_ratio_on(
        self, day: date, *, payer_id: str | None, state: str | None
    ) -> SupervisionRatioRule | None:
        """The most specific rule in force for the payer and the facility's state, or None
        when no rule limits the ratio."""
        candidates = [
            rule
            for rule in self.supervision_ratios
            if rule.in_force_on(day)
            and rule.payer_id in (None, payer_id)
            and rule.state in (None, state)
        ]
        return max(candidates, key=lambda rule: rule.specificity, default=None)


# --------------------------------------------------------------------------- programs


class FilingType(StrEnum):
    PROFESSIONAL = "PROFESSIONAL"  # 837P
    INSTITUTIONAL = "INSTITUTIONAL"  # 837I


class BillingPeriod(StrEnum):
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"  # Monday-anchored weeks
    MONTHLY = "MONTHLY"  # calendar months
    SPAN = "SPAN"  # admission through discharge


class LoaBilling(StrEnum):
    ZERO_CHARGE = "ZERO_CHARGE"  # LOA days bill at $0.00
    BED_HOLD = "BED_HOLD"  # LOA days bill at loa_daily_rate


class SizeBand(TenantModel):
    """Group size band: ``min_participants`` to ``max_participants`` billable participants
    (open-ended when max is absent), each charged ``rate_per_participant``."""

    name: str = Field(min_length=1, max_length=40)
    min_participants: int = Field(ge=1)
    max_participants: int | None = Field(default=None, ge=1)
    rate_per_participant: Money

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.max_participants is not None and self.max_participants < self.min_participants:
            raise_problems(
                type(self).__name__, [(("max_participants",), "is below min_participants")]
            )
        return self

    def holds(self, participants: int) -> bool:
        return self.min_participants <= participants and (
            self.max_participants is None or participants <= self.max_participants
        )


class GroupBillingVersion(EffectiveDated):
    """How a program's group sessions bill, for one period."""

    service_codes: list[ProcedureCode] = Field(min_length=1, examples=[["90853"]])
    size_bands: list[SizeBand] = Field(min_length=1)
    modifiers: list[Modifier] = Field(
        default_factory=lambda: ["HQ"],
        max_length=4,
        description="Modifiers injected on every group line (payers may replace them).",
    )
    modifiers_by_service_code: dict[ProcedureCode, list[Modifier]] = Field(
        default_factory=dict, description="Per service code, instead of modifiers."
    )
    place_of_service: PlaceOfService
    units_per_session: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[Problem] = [
            (("service_codes", index), "lists a service code twice")
            for index, code in enumerate(self.service_codes)
            if code in self.service_codes[:index]
        ]
        problems += duplicate_problems(
            [band.name for band in self.size_bands], "size_bands", "name", "band name"
        )
        ordered = sorted(enumerate(self.size_bands), key=lambda item: item[1].min_participants)
        for (_, lower), (index, upper) in itertools.pairwise(ordered):
            if lower.max_participants is None or upper.min_participants <= lower.max_participants:
                problems.append(
                    (
                        ("size_bands", index, "min_participants"),
                        f"band '{upper.name}' overlaps band '{lower.name}'",
                    )
                )
        if len(set(self.modifiers)) != len(self.modifiers):
            problems.append((("modifiers",), "lists a modifier twice"))
        for code, modifiers in self.modifiers_by_service_code.items():
            if code not in self.service_codes:
                problems.append((("modifiers_by_service_code", code), "not one of service_codes"))
            if len(modifiers) > 4 or len(set(modifiers)) != len(modifiers):
                problems.append(
                    (("modifiers_by_service_code", code), "at most 4 distinct modifiers")
                )
        raise_problems(type(self).__name__, problems)
        return self

    def bands_by_size(self) -> tuple[SizeBand, ...]:
        """The bands, smallest first."""
        return tuple(sorted(self.size_bands, key=lambda band: band.min_participants))

    def modifiers_for(self, service_code: str) -> tuple[str, ...]:
        """The modifiers injected on a line with ``service_code`` (before payer rules)."""
        if service_code not in self.service_codes:
            raise ConfigLookupError(f"service code {service_code} is not billed by this program")
        return tuple(self.modifiers_by_service_code.get(service_code, self.modifiers))


_TYPE_OF_BILL = re.compile(r"^[1-8][1-9]$")


class InstitutionalBillingVersion(EffectiveDated):
    """How a program's stays bill per diem on the 837I, for one period."""

    billing_period: BillingPeriod = BillingPeriod.MONTHLY
    type_of_bill: str = Field(
        pattern=_TYPE_OF_BILL.pattern,
        description="Facility type and bill classification digits (CLM05-1), e.g. 86; the "
        "frequency digit is added per claim.",
    )
    accommodation_revenue_code: RevenueCode = Field(examples=["1001"])
    daily_rate: Money
    loa_revenue_code: LoaRevenueCode = Field(
        description="LOA revenue code for a leave whose reason has no code of its own."
    )
    loa_revenue_codes_by_reason: dict[LeaveReason, LoaRevenueCode] = Field(default_factory=dict)
    loa_billing: LoaBilling = LoaBilling.ZERO_CHARGE
    loa_daily_rate: Money | None = Field(default=None, description="Required for BED_HOLD.")
    discharge_day_billable: bool = False
    auto_build_on_cycle_close: bool = True

    @model_validator(mode="after")
    def _loa_rate(self) -> Self:
        problems: list[Problem] = []
        if self.loa_billing is LoaBilling.BED_HOLD and self.loa_daily_rate is None:
            problems.append((("loa_daily_rate",), "required when loa_billing is BED_HOLD"))
        if self.loa_billing is LoaBilling.ZERO_CHARGE and self.loa_daily_rate is not None:
            problems.append((("loa_daily_rate",), "only with loa_billing BED_HOLD"))
        raise_problems(type(self).__name__, problems)
        return self

    def loa_revenue_code_for(self, reason: LeaveReason) -> str:
        return self.loa_revenue_codes_by_reason.get(reason, self.loa_revenue_code)

    def program_loa_daily_rate(self) -> Decimal:
        """The program's own LOA day rate (payers' bed-hold rates aside)."""
        if self.loa_billing is LoaBilling.BED_HOLD and self.loa_daily_rate is not None:
            return self.loa_daily_rate
        return Decimal("0.00")


class Program(TenantModel):
    """A program (the seeds' PayerProgramConfig). A PROFESSIONAL program may bill group
    sessions (``group``); an INSTITUTIONAL one bills stays per diem (``institutional``)."""

    id: Identifier
    name: str = Field(min_length=1, max_length=80)
    filing_type: FilingType
    group: list[GroupBillingVersion] = Field(default_factory=list)
    institutional: list[InstitutionalBillingVersion] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[Problem] = []
        if self.filing_type is FilingType.INSTITUTIONAL:
            if not self.institutional:
                problems.append((("institutional",), "an INSTITUTIONAL program needs it"))
            if self.group:
                problems.append((("group",), "group billing is for PROFESSIONAL programs"))
        elif self.institutional:
            problems.append((("institutional",), "per-diem billing is for INSTITUTIONAL programs"))
        problems += overlap_problems(self.group, "group")
        problems += overlap_problems(self.institutional, "institutional")
        raise_problems(type(self).__name__, problems)
        return self

    def group_pricing_on(self, day: date) -> GroupBillingVersion:
        """The group billing version in force on ``day`` (``NoVersionInForce`` otherwise)."""
        return version_in_force(self.group, day, what=f"program '{self.id}' group pricing")

    def institutional_billing_on(self, day: date) -> InstitutionalBillingVersion:
        """The institutional billing version in force on ``day``."""
        return version_in_force(
            self.institutional, day, what=f"program '{self.id}' institutional billing"
        )


# --------------------------------------------------------------------------- clearinghouses

_PUBLIC_KEY = re.compile(
    r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521)"
    r" [A-Za-z0-9+/]+={0,3}$"
)
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


class SftpTransport(TenantModel):
    """SFTP with key authentication and a pinned host key (no trust on first use). The
    private key comes from a mounted file or an environment variable holding the PEM text;
    never from this document."""

    kind: Literal["SFTP"]
    host: str = Field(pattern=_HOST.pattern)
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1, max_length=64)
    private_key_file: str | None = Field(default=None, min_length=1, max_length=1024)
    private_key_env: EnvVarName | None = None
    private_key_passphrase_env: EnvVarName | None = None
    host_key: str | None = Field(
        default=None, description="The server's public key: '<type> <base64>'."
    )
    host_key_file: str | None = Field(default=None, min_length=1, max_length=1024)
    upload_folder: str = Field(min_length=1, max_length=1024)
    acknowledgment_folder: str = Field(min_length=1, max_length=1024)
    connect_timeout_seconds: int = Field(default=30, ge=1, le=600)

    @field_validator("private_key_file", "host_key_file")
    @classmethod
    def _a_path_not_a_key(cls, value: str | None) -> str | None:
        if value is not None and ("\n" in value or "-----BEGIN" in value):
            raise ValueError("holds key material; give a file path, never the key itself")
        return value

    @field_validator("host_key")
    @classmethod
    def _public_key(cls, value: str | None) -> str | None:
        if value is not None and not _PUBLIC_KEY.fullmatch(value):
            raise ValueError("a pinned host key is '<key type> <base64>' (ssh-ed25519 AAAA...)")
        return value

    @model_validator(mode="after")
    def _one_of_each(self) -> Self:
        problems: list[Problem] = []
        if (self.private_key_file is None) == (self.private_key_env is None):
            problems.append(((), "give exactly one of private_key_file or private_key_env"))
        if (self.host_key is None) == (self.host_key_file is None):
            problems.append(((), "pin the host key: exactly one of host_key or host_key_file"))
        if self.upload_folder == self.acknowledgment_folder:
            problems.append((("acknowledgment_folder",), "must differ from upload_folder"))
        raise_problems(type(self).__name__, problems)
        return self


class LocalFolderTransport(TenantModel):
    """Development transport: files are written to and acknowledgments read from folders."""

    kind: Literal["LOCAL_FOLDER"]
    upload_folder: str = Field(min_length=1, max_length=1024)
    acknowledgment_folder: str = Field(min_length=1, max_length=1024)

    @model_validator(mode="after")
    def _separate_folders(self) -> Self:
        if self.upload_folder == self.acknowledgment_folder:
            raise_problems(
                type(self).__name__,
                [(("acknowledgment_folder",), "must differ from upload_folder")],
            )
        return self


class InterchangeIdQualifier(StrEnum):
    """ISA05 / ISA07."""

    DUNS = "01"
    DUNS_PLUS_SUFFIX = "14"
    HEALTH_INDUSTRY_NUMBER = "20"
    CARRIER_ID = "27"
    FISCAL_INTERMEDIARY_ID = "28"
    MEDICARE_PROVIDER_ID = "29"
    US_FEDERAL_TAX_ID = "30"
    NAIC_COMPANY_CODE = "33"
    MUTUALLY_DEFINED = "ZZ"


class InterchangeParty(TenantModel):
    qualifier: InterchangeIdQualifier
    id: str = Field(pattern=r"^[A-Za-z0-9]{1,15}$", description="ISA06/ISA08 (unpadded).")


class BatchLimits(TenantModel):
    """An interchange goes out when the window closes or max_claims is reached."""

    window_seconds: int = Field(default=300, ge=1, le=86400)
    max_claims: int = Field(default=5000, ge=1, le=5000)


class Clearinghouse(TenantModel):
    id: Identifier
    name: str = Field(min_length=1, max_length=60)
    transport: Annotated[SftpTransport | LocalFolderTransport, Field(discriminator="kind")]
    sender: InterchangeParty = Field(description="ISA05/ISA06.")
    receiver: InterchangeParty = Field(description="ISA07/ISA08.")
    application_sender_code: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9]{2,15}$", description="GS02; sender.id if absent."
    )
    application_receiver_code: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9]{2,15}$", description="GS03; receiver.id if absent."
    )
    submitter_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9-]{2,80}$",
        description="1000A NM109, as the clearinghouse assigned it; sender.id if absent.",
    )
    receiver_name: str = Field(min_length=1, max_length=60, description="1000B NM103.")
    usage_indicator: Literal["T", "P"] = Field(description="ISA15: T test, P production.")
    acknowledgment_requested: bool = Field(default=False, description="ISA14 (TA1).")
    batch: BatchLimits = Field(default_factory=BatchLimits)


# --------------------------------------------------------------------------- tenant


class TenantConfig(TenantModel):
    """One tenant's whole configuration."""

    tenant_id: str = Field(pattern=TENANT_PATTERN)
    name: str = Field(min_length=1, max_length=80)
    time_zone: TimeZoneName = Field(description="Default for business dates (IANA name).")
    billing_provider: BillingProvider
    pay_to_address: ConfiguredAddress | None = Field(
        default=None, description="2010AB, when payments go elsewhere than the billing address."
    )
    payers: list[Payer] = Field(min_length=1)
    attendance_policy: AttendancePolicy = Field(default_factory=AttendancePolicy)
    programs: list[Program] = Field(min_length=1)
    clearinghouses: list[Clearinghouse] = Field(min_length=1)
    auto_submit_claims: bool = Field(
        default=False,
        description="Submit a claim as soon as it scrubs READY, without an operator's "
        "'submit' (claims then flow to the clearinghouse on the next batch window).",
    )
    hl7: Hl7Interface | None = Field(
        default=None, description="The HL7 v2 ADT feed of the stays service (MLLP)."
    )
    enforce_code_assignment: bool = Field(
        default=False,
        description="A charge whose code is not assigned to its member or rendering staff "
        "on the date of service is NEEDS_FIX.",
    )

    @model_validator(mode="after")
    def _references(self) -> Self:
        problems: list[Problem] = []
        problems += duplicate_problems([p.id for p in self.payers], "payers", "id", "payer id")
        problems += duplicate_problems(
            [p.id for p in self.programs], "programs", "id", "program id"
        )
        problems += duplicate_problems(
            [c.id for c in self.clearinghouses], "clearinghouses", "id", "clearinghouse id"
        )
        clearinghouse_ids = {c.id for c in self.clearinghouses}
        payer_ids = {p.id for p in self.payers}
        program_ids = {p.id for p in self.programs}
        institutional_ids = {
            p.id for p in self.programs if p.filing_type is FilingType.INSTITUTIONAL
        }
        for index, payer in enumerate(self.payers):
            if payer.clearinghouse_id not in clearinghouse_ids:
                problems.append(
                    (
                        ("payers", index, "clearinghouse_id"),
                        f"no clearinghouse '{payer.clearinghouse_id}'",
                    )
                )
            for rule_index, rule in enumerate(payer.modifier_replacements):
                for ref_index, program_id in enumerate(rule.program_ids):
                    if program_id not in program_ids:
                        problems.append(
                            (
                                (
                                    "payers",
                                    index,
                                    "modifier_replacements",
                                    rule_index,
                                    "program_ids",
                                    ref_index,
                                ),
                                f"no program '{program_id}'",
                            )
                        )
            for rule_index, bed_hold in enumerate(payer.bed_hold_rates):
                for ref_index, program_id in enumerate(bed_hold.program_ids):
                    if program_id not in institutional_ids:
                        problems.append(
                            (
                                (
                                    "payers",
                                    index,
                                    "bed_hold_rates",
                                    rule_index,
                                    "program_ids",
                                    ref_index,
                                ),
                                f"no INSTITUTIONAL program '{program_id}'",
                            )
                        )
        if self.hl7 is not None:
            for index, facility in enumerate(self.hl7.facilities):
                if facility.program_id not in institutional_ids:
                    problems.append(
                        (
                            ("hl7", "facilities", index, "program_id"),
                            f"no INSTITUTIONAL program '{facility.program_id}'",
                        )
                    )
        for index, ratio in enumerate(self.attendance_policy.supervision_ratios):
            if ratio.payer_id is not None and ratio.payer_id not in payer_ids:
                problems.append(
                    (
                        ("attendance_policy", "supervision_ratios", index, "payer_id"),
                        f"no payer '{ratio.payer_id}'",
                    )
                )
        raise_problems(type(self).__name__, problems)
        return self

    # Lookups raise ConfigLookupError (NoVersionInForce for dates) with a clear message.

    def payer(self, payer_id: str) -> Payer:
        for payer in self.payers:
            if payer.id == payer_id:
                return payer
        raise ConfigLookupError(f"tenant '{self.tenant_id}' has no payer '{payer_id}'")

    def program(self, program_id: str) -> Program:
        for program in self.programs:
            if program.id == program_id:
                return program
        raise ConfigLookupError(f"tenant '{self.tenant_id}' has no program '{program_id}'")

    def clearinghouse(self, clearinghouse_id: str) -> Clearinghouse:
        for clearinghouse in self.clearinghouses:
            if clearinghouse.id == clearinghouse_id:
                return clearinghouse
        raise ConfigLookupError(
            f"tenant '{self.tenant_id}' has no clearinghouse '{clearinghouse_id}'"
        )

    def clearinghouse_for_payer(self, payer_id: str) -> Clearinghouse:
        return self.clearinghouse(self.payer(payer_id).clearinghouse_id)

    def group_line_modifiers(
        self, *, program_id: str, payer_id: str | None, service_code: str, on: date
    ) -> tuple[str, ...]:
        """The modifiers of a group line: the program's injected modifiers in force on
        ``on``, with the payer's replacements (e.g. HQ -> HG) applied."""
        modifiers = self.program(program_id).group_pricing_on(on).modifiers_for(service_code)
        if payer_id is None:
            return modifiers
        return self.payer(payer_id).replace_modifiers(
            modifiers, program_id=program_id, service_code=service_code, on=on
        )

    def loa_daily_rate(
        self, *, program_id: str, payer_id: str | None, revenue_code: str, on: date
    ) -> Decimal:
        """What an LOA day bills on ``on``: the payer's bed-hold rate when it pays one,
        else the program's (0.00 unless it bills BED_HOLD)."""
        version = self.program(program_id).institutional_billing_on(on)
        if payer_id is not None:
            rate = self.payer(payer_id).bed_hold_rate_on(
                program_id=program_id, revenue_code=revenue_code, on=on
            )
            if rate is not None:
                return rate
        return version.program_loa_daily_rate()
