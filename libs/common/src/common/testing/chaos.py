"""The chaos suite (issue #9, SPEC 9): a scenario of group sessions and stays large enough
to be in flight when faults hit, the fault schedule, and the figures it asserts. Shared by
the CI test (``tests/e2e/test_chaos.py``, profile ``ci``) and the runner
(``bench/chaos.py --profile full|medium|ci``) so both run the same thing.

What runs: the five services as real processes (``common.testing.processes``) on a
database and broker names of the run's own, reaching Postgres and RabbitMQ through TCP
proxies (``common.testing.faults``: a broker or database "restart" is every connection
cut at once and new ones refused for a while; the real, shared servers are never
restarted), and the clearinghouse sandbox over SFTP.

The feed: every inbound event published twice (the second copy a little later), some
adjacent events swapped (a mark before its session, a leave before its admission), and
hypothesis-fuzzed malformed or schema-invalid messages mixed in.

The faults, first alone (one at a time, a few seconds apart), then together (all at
once): each service SIGKILLed and started again; the broker restarted; the database
restarted; the clearinghouse down. A small supervisor starts any service that exits by
itself again (as Kubernetes would) and counts those exits: three or more is a crash loop.

The figures, once the pipeline is idle: charges expected vs written (lost, duplicated),
claims expected vs built, files uploaded once each, control numbers distinct, every
malformed message in a dead-letter queue with its reason and no valid event there, no
crash loop, every outbox drained; and for any claim not ACCEPTED, where its trail stops
(``trails``), with the database sessions stuck on a lock or in an open transaction."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import random
import signal
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
import asyncpg
import httpx
from pydantic import BaseModel, ValidationError

from common.testing.clearinghouse import SandboxProcess, sandbox_tenant
from common.testing.faults import ProxyThread
from common.testing.isolation import (
    asyncpg_dsn,
    create_database,
    delete_broker_names,
    drop_database,
    run_id,
    with_database,
)
from common.testing.messages import publish_raw
from common.testing.processes import PACKAGES, SAMPLE_TENANTS, ServiceProcess, Suite, free_port
from common.testing.scenarios import member_event, retarget, sample
from common.testing.tokens import TEST_JWT_SECRET
from contracts import topology as names
from contracts.envelope import CloudEvent
from contracts.events import data_model_for
from contracts.tenant import TenantConfig
from contracts.topology import Topology

SERVICES = tuple(PACKAGES)
TENANT = "demo-bh-chaos"
SENDER_ID = "HARBORCX"
GROUP_MARKS = ("ATTENDED", "ATTENDED", "LATE", "ABSENT")
GROUP_PAYERS = ("acme-commercial", "il-medicaid")
INBOUND_TYPES = (
    "ehr.member.upserted.v1",
    "ehr.provider.upserted.v1",
    "ehr.facility.upserted.v1",
    "scheduling.group_session.scheduled.v1",
    "scheduling.group_session.attendance_marked.v1",
    "ehr.stay.admitted.v1",
    "ehr.stay.leave_started.v1",
    "ehr.stay.leave_ended.v1",
    "ehr.stay.discharged.v1",
)
CRASH_LOOP_EXITS = 3


# ---------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Profile:
    name: str
    sessions: int  # group sessions of len(GROUP_MARKS) members: 10 inbound events each
    stays: int  # residential stays: 3 inbound events, 5 with a leave (every third)
    malformed: int
    sandbox_outage_seconds: float
    proxy_down_seconds: float  # how long a broker or database "restart" refuses
    fault_gap_seconds: float  # from publishing a chunk of the feed to its step's faults
    settle_seconds: float  # how long the pipeline may take to finish after the faults

    def inbound_events(self) -> int:
        return 2 + self.sessions * (2 * len(GROUP_MARKS) + 2) + Scenario.stay_events(self.stays)


PROFILES = {
    # A few hundred events; keeps the e2e module within ~150 s on two cores.
    "ci": Profile("ci", 20, 16, 1000, 20, 3, 2, 150),
    # As many events as four CI runs; the broker and database as long down as in full.
    "medium": Profile("medium", 80, 60, 1000, 30, 10, 5, 600),
    # 5,000 inbound events (x2 on the wire), two minutes of clearinghouse outage.
    "full": Profile("full", 392, 300, 1000, 120, 10, 10, 1800),
}


# ---------------------------------------------------------------------------- scenario


@dataclass
class Scenario:
    """The inbound feed (each event once, in the order things happened) and what it must
    become, computed from the feed and the tenant's configuration."""

    tenant: str
    run: str
    feed: list[dict[str, Any]]
    #: (source id: session or stay, member id, date of service) of every charge.
    expected_charges: set[tuple[str, str, date]]
    #: Members with exactly one claim each (a member is in one session or one stay).
    expected_claims: set[str]

    @staticmethod
    def stay_events(stays: int) -> int:
        return stays * 3 + 2 * len(range(0, stays, 3))


def build_scenario(profile: Profile, tenant: str, run: str, config: TenantConfig) -> Scenario:
    feed: list[dict[str, Any]] = [
        retarget(sample("ehr.facility.upserted.v1"), tenant, f"{run}-fac"),
        retarget(sample("ehr.provider.upserted.v1"), tenant, f"{run}-prov"),
    ]
    charges: set[tuple[str, str, date]] = set()
    claims: set[str] = set()
    for i in range(profile.sessions):
        day = date(2026, 4, 1) + timedelta(days=i % 150)
        events, billable = group_session_events(tenant, f"{run}-g{i}", day)
        feed += events
        billing_statuses = {str(s) for s in config.attendance_policy.billable_statuses_on(day)}
        for member, mark in billable:
            if mark in billing_statuses:
                charges.add((f"gs-{run}-g{i}", member, day))
                claims.add(member)
    program = next(p for p in config.programs if p.id == "residential")
    # Stays of the last few weeks, discharged before yesterday: the charges' daily sweep
    # writes days up to yesterday for a stay whose discharge has not arrived yet (and
    # voids them at discharge); a stay months ago would make hundreds of those.
    yesterday = datetime.now(ZoneInfo(config.time_zone)).date() - timedelta(days=1)
    anchor = yesterday if yesterday.day >= 12 else yesterday.replace(day=1) - timedelta(1)
    for i in range(profile.stays):
        discharged = anchor - timedelta(days=i % 3)
        admitted = discharged - timedelta(days=3 + i % 6)
        events = stay_events(tenant, f"{run}-s{i}", admitted, discharged, leave=i % 3 == 0)
        feed += events
        member, stay_id = f"m-{run}-s{i}", f"stay-{run}-s{i}"
        billing = program.institutional_billing_on(admitted)
        last = discharged if billing.discharge_day_billable else discharged - timedelta(1)
        day = admitted
        while day <= last:  # one day charge per stay day, LOA days included
            charges.add((stay_id, member, day))
            day += timedelta(days=1)
        # Admission and discharge in one calendar month: one MONTHLY cycle, one claim.
        assert admitted.month == discharged.month and discharged.day > 1
        claims.add(member)
    assert len(feed) == profile.inbound_events()
    return Scenario(tenant, run, feed, charges, claims)


def group_session_events(
    tenant: str, run: str, day: date
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    members = [f"m-{run}-{k}" for k in range(1, len(GROUP_MARKS) + 1)]
    session_id = f"gs-{run}"
    events = [
        member_event(
            tenant,
            m,
            f"{run}-{m}",
            payer_id=GROUP_PAYERS[k % len(GROUP_PAYERS)],
            diagnoses=["F332", "F411"],
        )
        for k, m in enumerate(members)
    ]
    scheduled = retarget(sample("scheduling.group_session.scheduled.v1"), tenant, f"{run}-gs")
    scheduled["subject"] = session_id
    scheduled["data"].update(
        session_id=session_id,
        session_date=day.isoformat(),
        roster=[{"member_id": m, "initial_status": None} for m in members],
    )
    supervisor = scheduled["data"]["supervisors"][0]["provider_id"]
    events.append(scheduled)
    marks = [(None, supervisor, "ATTENDED")] + [
        (m, None, s) for m, s in zip(members, GROUP_MARKS, strict=True)
    ]
    for n, (member, provider, status) in enumerate(marks):
        mark = retarget(
            sample("scheduling.group_session.attendance_marked.v1"), tenant, f"{run}-mk{n}"
        )
        mark["subject"] = session_id
        mark["data"].update(
            session_id=session_id,
            member_id=member,
            provider_id=provider,
            status=status,
            marked_at=f"{day.isoformat()}T09:0{n}:00-05:00",
        )
        events.append(mark)
    return events, list(zip(members, GROUP_MARKS, strict=True))


def stay_events(
    tenant: str, run: str, admitted: date, discharged: date, *, leave: bool
) -> list[dict[str, Any]]:
    member_id, stay_id = f"m-{run}", f"stay-{run}"
    member = member_event(
        tenant, member_id, f"{run}-m", payer_id="acme-commercial", diagnoses=["F332"]
    )
    member["data"]["program_enrollments"] = [
        {"program_id": "residential", "enrolled_from": admitted.isoformat(), "enrolled_to": None}
    ]
    admission = retarget(sample("ehr.stay.admitted.v1"), tenant, f"{run}-adm")
    admission["data"].update(
        stay_id=stay_id,
        member_id=member_id,
        program_id="residential",
        facility_id=sample("ehr.facility.upserted.v1")["data"]["facility_id"],
    )
    admission["data"]["admission"].update(
        admit_date=admitted.isoformat(),
        admit_hour=14,
        drg=None,
        procedures=[],
        admitting_diagnosis=None,
        other_diagnoses=[],
    )
    events = [member, admission]
    if leave:
        started = retarget(sample("ehr.stay.leave_started.v1"), tenant, f"{run}-loa")
        started["data"].update(
            stay_id=stay_id,
            leave_id="loa-1",
            start_date=(admitted + timedelta(days=1)).isoformat(),
            reason="THERAPEUTIC",
            expected_return_date=None,
            note=None,
        )
        ended = retarget(sample("ehr.stay.leave_ended.v1"), tenant, f"{run}-loa-e")
        ended["data"].update(
            stay_id=stay_id,
            leave_id="loa-1",
            return_date=(admitted + timedelta(days=2)).isoformat(),
        )
        events += [started, ended]
    discharge = retarget(sample("ehr.stay.discharged.v1"), tenant, f"{run}-dis")
    discharge["data"].update(
        stay_id=stay_id, discharge_date=discharged.isoformat(), patient_status="01"
    )
    events.append(discharge)
    return events


# ---------------------------------------------------------------------------- the wire


@dataclass(frozen=True)
class Delivery:
    routing_key: str
    body: bytes
    message_id: str
    malformed: str | None = None  # the kind of fuzzed message, None for a valid event


def delivery_order(
    feed: Sequence[dict[str, Any]],
    malformed: Sequence[Delivery],
    rng: random.Random,
    *,
    swap_fraction: float = 0.08,
    echo_window: float = 30.0,
) -> tuple[list[Delivery], int]:
    """Every event twice (the copy up to ``echo_window`` positions later), some adjacent
    events swapped, the malformed messages spread evenly. Returns the order and how many
    pairs were swapped."""
    order = list(feed)
    swapped, i = 0, 0
    while i < len(order) - 1:
        if rng.random() < swap_fraction:
            order[i], order[i + 1] = order[i + 1], order[i]
            swapped += 1
            i += 2
        else:
            i += 1
    keyed: list[tuple[float, Delivery]] = []
    for position, event in enumerate(order):
        wire = Delivery(event["type"], json.dumps(event).encode(), event["id"])
        keyed += [(position, wire), (position + rng.uniform(0.5, echo_window), wire)]
    step = len(order) / max(1, len(malformed))
    keyed += [(n * step + 0.25, message) for n, message in enumerate(malformed)]
    keyed.sort(key=lambda pair: pair[0])
    return [d for _, d in keyed], swapped


def fuzzed_messages(count: int, run: str, seed: int = 9) -> list[Delivery]:
    """``count`` messages every consumer must dead-letter: non-JSON or non-object bodies,
    broken envelopes, unknown types, and data that fails its contract (a required field
    missing, a field of the wrong type), drawn by hypothesis from the contracts' models
    and the golden samples; each checked against the contracts to be invalid."""
    # hypothesis is a test dependency: imported here, not by the services' runtime.
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    samples = {key: sample(key) for key in INBOUND_TYPES}

    def fresh(key: str) -> dict[str, Any]:
        return copy.deepcopy(samples[key])

    kinds = st.sampled_from(INBOUND_TYPES)
    words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=8)
    wrong_values = st.one_of(
        st.lists(st.integers(), min_size=1, max_size=3),
        st.lists(st.lists(st.booleans(), min_size=1), min_size=1, max_size=2),
        st.dictionaries(st.sampled_from(["x", "y"]), st.integers(), min_size=1),
    )

    def non_json(key: str) -> st.SearchStrategy[tuple[str, str, bytes]]:
        bodies = st.one_of(
            st.binary(max_size=48),
            st.text(max_size=48).map(str.encode),
            st.sampled_from([b"[]", b"42", b'"text"', b"null", b"{", b'{"a": 1'] * 1),
        ).filter(lambda b: not _is_json_object(b))
        return bodies.map(lambda b: ("non_json", key, b))

    @st.composite
    def broken_envelope(draw: st.DrawFn, key: str) -> tuple[str, str, bytes]:
        doc = fresh(key)
        field_name = draw(st.sampled_from(["specversion", "id", "type", "tenantid", "time"]))
        if draw(st.booleans()):
            del doc[field_name]
        else:
            doc[field_name] = draw(st.one_of(wrong_values, st.just("0.3"), st.just("")))
        return "invalid_envelope", key, json.dumps(doc).encode()

    @st.composite
    def unknown_type(draw: st.DrawFn, key: str) -> tuple[str, str, bytes]:
        doc = fresh(key)
        prefix = draw(st.sampled_from(["ehr", "scheduling", "stays"]))
        version = draw(st.integers(min_value=2, max_value=9))
        doc["type"] = f"{prefix}.{draw(words)}.{draw(words)}.v{version}"
        return "unknown_type", key, json.dumps(doc).encode()

    @st.composite
    def schema_invalid(draw: st.DrawFn, key: str) -> tuple[str, str, bytes]:
        doc = fresh(key)
        model = data_model_for(key)
        assert model is not None
        required = sorted(n for n, f in model.model_fields.items() if f.is_required())
        field_name = draw(st.sampled_from(required))
        if draw(st.booleans()):
            del doc["data"][field_name]
        else:
            doc["data"][field_name] = draw(wrong_values)
        return "schema_invalid", key, json.dumps(doc).encode()

    messages = kinds.flatmap(
        lambda key: st.one_of(
            non_json(key), broken_envelope(key), unknown_type(key), schema_invalid(key)
        )
    ).filter(lambda m: rejected_by_contracts(m[2]))

    drawn: list[tuple[str, str, bytes]] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(messages)
    def collect(message: tuple[str, str, bytes]) -> None:
        drawn.append(message)

    collect()
    if not drawn:
        raise RuntimeError("hypothesis drew no malformed message")
    rng = random.Random(seed)  # noqa: S311 - a reproducible shuffle, not a secret
    while len(drawn) < count:  # hypothesis may stop early on a small space: reuse
        drawn.append(rng.choice(drawn))
    out = []
    for n, (kind, key, body) in enumerate(drawn[:count]):
        message_id = f"fuzz-{run}-{n}"
        out.append(Delivery(key, _with_id(body, message_id), message_id, kind))
    return out


def _is_json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, UnicodeDecodeError):
        return False


def _with_id(body: bytes, message_id: str) -> bytes:
    """The envelope id set to the message's id when there is an envelope to set it in."""
    if not _is_json_object(body):
        return body
    doc = json.loads(body)
    if isinstance(doc.get("id"), str) and doc["id"]:
        doc["id"] = message_id
    return json.dumps(doc).encode()


def rejected_by_contracts(body: bytes) -> bool:
    """True when a consumer must dead-letter ``body``: not a JSON object, an envelope the
    CloudEvent model refuses, a type without a model, or data its model refuses."""
    if not _is_json_object(body):
        return True
    try:
        event = CloudEvent.model_validate(json.loads(body))
    except ValidationError:
        return True
    model: type[BaseModel] | None = data_model_for(event.type)
    if model is None or event.type not in INBOUND_TYPES:
        return True
    try:
        model.model_validate(event.data)
    except ValidationError:
        return True
    return False


# ---------------------------------------------------------------------------- the rig


@dataclass
class FaultRecord:
    at: float  # seconds since the feed started
    wave: str
    fault: str
    detail: str = ""


@dataclass
class Rig:
    """The services (through the proxies), the sandbox, and the run's own names."""

    suite: Suite
    sandbox: SandboxProcess
    proxies: ProxyThread
    database_url: str  # the real database (for the figures), not the proxy
    amqp_url: str  # the real broker (the feed, the dead-letter queues)
    topology: Topology
    tenant: str
    tenant_config: TenantConfig
    unexpected_exits: Counter[str] = field(default_factory=Counter)
    figures_connection: asyncpg.Connection | None = None
    exit_codes: dict[str, list[int | None]] = field(default_factory=dict)
    _killing: set[str] = field(default_factory=set)
    # Second (third...) copies of every service on the same database and broker: the
    # time-driven work (auto-close, day sweep, cycle close, batch windows) races.
    replicas: list[Suite] = field(default_factory=list)

    def processes(self) -> dict[str, ServiceProcess]:
        """Every service process by label: ``claims`` for the first copy, ``claims#2``
        for the second."""
        labelled = dict(self.suite.processes)
        for n, replica in enumerate(self.replicas, start=2):
            labelled.update({f"{name}#{n}": p for name, p in replica.processes.items()})
        return labelled

    async def kill(self, service: str) -> None:
        """SIGKILL and start the same process again at once (as a supervisor would)."""
        process = self.suite.processes[service]
        self._killing.add(service)
        try:
            await asyncio.to_thread(process.stop, signal.SIGKILL)
            process.start()
        finally:
            self._killing.discard(service)

    async def supervise(self, stop: asyncio.Event) -> None:
        """Start again any service that exited by itself, and count it."""
        while not stop.is_set():
            for name, process in self.processes().items():
                running = process.process
                if name in self._killing or running is None or running.poll() is None:
                    continue
                self.unexpected_exits[name] += 1
                self.exit_codes.setdefault(name, []).append(running.returncode)
                await asyncio.sleep(1.0)
                # A kill may have started it again meanwhile: a second start would orphan
                # that process (an untracked replica, never stopped).
                if not stop.is_set() and name not in self._killing and process.process is running:
                    process.start()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)


def migrate(process: ServiceProcess, attempts: int = 3) -> None:
    """The service's one-shot migration, straight to the real servers (the migration is
    not under test), again if it times out: on a machine shared by several runs, five
    migrations at once can take longer than ``ServiceProcess.migrate``'s two minutes
    (they are idempotent)."""
    env = process.env
    process.env = {**env, "DATABASE_URL": env["CHAOS_DIRECT_DATABASE_URL"]}
    process.env["AMQP_URL"] = env["CHAOS_DIRECT_AMQP_URL"]
    try:
        for attempt in range(attempts):
            try:
                process.migrate()
                return
            except subprocess.TimeoutExpired:
                if attempt == attempts - 1:
                    raise
    finally:
        process.env = env


@contextlib.asynccontextmanager
async def chaos_rig(
    *,
    admin_database_url: str,
    amqp_url: str,
    sandbox: SandboxProcess,
    work_dir: Path,
    tenant: str = TENANT,
    sender_id: str = SENDER_ID,
    keep_database: bool = False,
    replicas: int = 1,
) -> AsyncIterator[Rig]:
    """Create the run's database, broker prefix, tenant and proxies; migrate and start
    the five services through the proxies (``replicas`` copies of each, as a platform
    team scales them); stop and remove everything at the end (but the database with
    ``keep_database``, to look at its rows after a failed run)."""
    run = run_id()
    database = f"rcm_chaos_{run}"
    topology = Topology(prefix=f"chaos{run}.")
    await create_database(admin_database_url, database)
    database_url = with_database(admin_database_url, database)
    tenants = work_dir / "tenants"
    tenants.mkdir(parents=True, exist_ok=True)
    text = (SAMPLE_TENANTS / "demo-bh.yaml").read_text()
    (tenants / f"{tenant}.yaml").write_text(
        sandbox_tenant(text, tenant_id=tenant, sender_id=sender_id, sandbox=sandbox)
    )
    from common.tenants import TenantDirectory

    config = TenantDirectory.load(tenants).get(tenant)
    proxies = ProxyThread()
    proxies.__enter__()
    suites: list[Suite] = []
    rig: Rig | None = None
    # The shared Postgres has a connection limit (other runs use it too): at most 5 per
    # service, 3 per copy when there are several (and no more messages in hand than
    # connections); a service that cannot connect is never ready.
    pool = {"DB_POOL_SIZE": "3", "DB_MAX_OVERFLOW": "2", "PREFETCH": "4"}
    if replicas > 1:
        pool = {"DB_POOL_SIZE": "2", "DB_MAX_OVERFLOW": "1", "PREFETCH": "3"}
    try:
        proxied_database = proxies.add("database", database_url, 5432)
        proxied_broker = proxies.add("broker", amqp_url, 5672)
        for copy in range(1, replicas + 1):
            suites.append(
                Suite(
                    database_url=proxied_database,
                    amqp_url=proxied_broker,
                    topology_prefix=topology.prefix,
                    jwt_secret=TEST_JWT_SECRET,
                    log_dir=work_dir / "logs" if copy == 1 else work_dir / "logs" / f"copy-{copy}",
                    extra_env={
                        "TENANT_CONFIG_DIR": str(tenants),
                        "EDI_LOCAL_ROOT": str(work_dir / "edi"),
                        "EDI_ACK_POLL_SECONDS": "1",
                        "EDI_RETRY_MAX_SECONDS": "4",
                        "AUTO_CLOSE_INTERVAL_SECONDS": "1",
                        "HL7_MLLP_PORT": str(free_port()),
                        "CHAOS_DIRECT_DATABASE_URL": database_url,
                        "CHAOS_DIRECT_AMQP_URL": amqp_url,
                        **pool,
                    },
                )
            )
        suite = suites[0]
        await asyncio.gather(*(asyncio.to_thread(migrate, p) for p in suite.processes.values()))
        for each in suites:
            await asyncio.to_thread(each.start, 180)
        rig = Rig(suite, sandbox, proxies, database_url, amqp_url, topology, tenant, config)
        rig.replicas = suites[1:]
        yield rig
    finally:
        for each in suites:
            await asyncio.to_thread(each.stop)
        if rig is not None and rig.figures_connection is not None:
            with contextlib.suppress(Exception):
                await rig.figures_connection.close()
        proxies.close()
        with contextlib.suppress(Exception):
            await delete_broker_names(amqp_url, topology)
        if keep_database:
            print(f"[chaos] database {database} kept", flush=True)
        else:
            with contextlib.suppress(Exception):
                await drop_database(admin_database_url, database)


# ---------------------------------------------------------------------------- the run


@dataclass
class Figures:
    profile: str
    copies: int = 1  # of each service
    inbound_events: int = 0
    deliveries: int = 0
    swapped_pairs: int = 0
    charges_expected: int = 0
    charges_written: int = 0
    charges_lost: list[tuple[str, str, str]] = field(default_factory=list)
    charges_duplicated: list[tuple[str, str, str]] = field(default_factory=list)
    charges_unexpected: list[tuple[str, str, str]] = field(default_factory=list)
    charges_not_ready: Counter[str] = field(default_factory=Counter)
    claims_expected: int = 0
    claims_built: int = 0
    claims_lost: list[str] = field(default_factory=list)
    claims_duplicated: list[str] = field(default_factory=list)
    claim_statuses: Counter[str] = field(default_factory=Counter)
    files_uploaded: int = 0
    files_repeated: list[str] = field(default_factory=list)
    claims_in_no_file: int = 0
    claims_in_several_files: int = 0
    control_numbers: int = 0
    control_numbers_repeated: list[int] = field(default_factory=list)
    malformed_sent: int = 0
    malformed_kinds: Counter[str] = field(default_factory=Counter)
    malformed_dead_lettered: int = 0
    malformed_missing: list[str] = field(default_factory=list)
    dead_letters_without_reason: list[str] = field(default_factory=list)
    valid_events_dead_lettered: list[str] = field(default_factory=list)
    dead_letter_copies: Counter[str] = field(default_factory=Counter)
    dead_letter_codes: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    unexpected_exits: Counter[str] = field(default_factory=Counter)
    figures_connection: asyncpg.Connection | None = None
    not_running_at_end: list[str] = field(default_factory=list)
    outbox_pending: dict[str, int] = field(default_factory=dict)
    queues_not_empty: dict[str, int] = field(default_factory=dict)
    faults: list[FaultRecord] = field(default_factory=list)
    seconds_feed: float = 0.0
    seconds_to_settle: float = 0.0
    settled: bool = False
    #: Where each live claim that is not ACCEPTED stands, one line each (see ``trails``).
    unaccepted_trails: list[str] = field(default_factory=list)
    #: Database sessions of the run waiting on a lock or in an open transaction (>10 s).
    stuck_sessions: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        """What SPEC 9 forbids, in words; empty when the run is clean."""
        problems = []
        if self.charges_lost or self.charges_duplicated or self.charges_unexpected:
            problems.append(
                f"charges: {len(self.charges_lost)} lost {self.charges_lost[:5]}, "
                f"{len(self.charges_duplicated)} duplicated {self.charges_duplicated[:5]}, "
                f"{len(self.charges_unexpected)} not in the scenario "
                f"{self.charges_unexpected[:5]}"
            )
        if self.charges_not_ready:
            problems.append(f"charges not billable: {dict(self.charges_not_ready)}")
        if self.claims_lost or self.claims_duplicated or self.claims_built != self.claims_expected:
            problems.append(
                f"claims: expected {self.claims_expected}, built {self.claims_built}, "
                f"lost {self.claims_lost[:5]}, duplicated {self.claims_duplicated[:5]}"
            )
        if set(self.claim_statuses) - {"ACCEPTED"}:
            problems.append(f"claims not accepted: {dict(self.claim_statuses)}")
        if self.files_repeated or self.claims_in_several_files or self.claims_in_no_file:
            problems.append(
                f"files: repeated {self.files_repeated[:5]}, claims in several files "
                f"{self.claims_in_several_files}, in none {self.claims_in_no_file}"
            )
        if self.control_numbers_repeated:
            problems.append(f"control numbers repeated: {self.control_numbers_repeated[:10]}")
        if self.malformed_missing or self.dead_letters_without_reason:
            problems.append(
                f"malformed not dead-lettered: {len(self.malformed_missing)} "
                f"{self.malformed_missing[:5]}; without a reason: "
                f"{self.dead_letters_without_reason[:5]}"
            )
        if self.valid_events_dead_lettered:
            problems.append(f"valid events dead-lettered: {self.valid_events_dead_lettered[:10]}")
        loops = {s: n for s, n in self.unexpected_exits.items() if n >= CRASH_LOOP_EXITS}
        if loops or self.not_running_at_end:
            problems.append(f"crash loop {loops}, not running at the end {self.not_running_at_end}")
        if any(self.outbox_pending.values()):
            problems.append(f"outbox not drained: {self.outbox_pending}")
        if any(self.queues_not_empty.values()):
            problems.append(f"queues not empty: {self.queues_not_empty}")
        return problems

    def table(self) -> str:
        def row(name: str, expected: object, actual: object, verdict: str = "") -> str:
            return f"{name:<34}{expected!s:>12}{actual!s:>12}  {verdict}"

        def ok(clean: bool) -> str:
            return "ok" if clean else "FAIL"

        dups = len(self.charges_duplicated) + len(self.charges_unexpected)
        # A claim in no file fails the row too: its claim never reached the clearinghouse.
        files_clean = not (
            self.files_repeated or self.claims_in_several_files or self.claims_in_no_file
        )
        lines = [
            f"chaos profile {self.profile}, {self.copies} of each service: "
            f"{self.inbound_events} inbound events, "
            f"{self.deliveries} deliveries ({self.swapped_pairs} pairs swapped), "
            f"feed {self.seconds_feed:.0f}s, settled {self.settled} "
            f"{self.seconds_to_settle:.0f}s after the feed",
            row("figure", "expected", "actual"),
            row(
                "charges written",
                self.charges_expected,
                self.charges_written,
                f"{ok(not self.charges_lost and not dups)} "
                f"lost {len(self.charges_lost)} duplicated {len(self.charges_duplicated)} "
                f"not in the scenario {len(self.charges_unexpected)}",
            ),
            row(
                "claims built",
                self.claims_expected,
                self.claims_built,
                f"{ok(self.claims_built == self.claims_expected and not self.claims_lost)} "
                f"lost {len(self.claims_lost)} duplicated {len(self.claims_duplicated)} "
                f"{dict(self.claim_statuses)}",
            ),
            row(
                "files uploaded once each",
                self.files_uploaded,
                self.files_uploaded - len(self.files_repeated),
                f"{ok(files_clean)} "
                f"claims in 2+ files {self.claims_in_several_files}, "
                f"in none {self.claims_in_no_file}",
            ),
            row(
                "control numbers distinct",
                self.control_numbers,
                self.control_numbers - len(self.control_numbers_repeated),
                ok(not self.control_numbers_repeated),
            ),
            row(
                "malformed dead-lettered",
                self.malformed_sent,
                self.malformed_dead_lettered,
                f"{ok(not self.malformed_missing and not self.dead_letters_without_reason)} "
                f"{dict(self.malformed_kinds)}",
            ),
            row(
                "valid events dead-lettered",
                0,
                len(self.valid_events_dead_lettered),
                ok(not self.valid_events_dead_lettered),
            ),
            row(
                "unexpected exits (crash loop >=3)",
                0,
                sum(self.unexpected_exits.values()),
                f"{ok(not self.failures_of_processes())} {dict(self.unexpected_exits)}",
            ),
            row(
                "outbox rows pending",
                0,
                sum(self.outbox_pending.values()),
                ok(not any(self.outbox_pending.values())),
            ),
            row(
                "service queues not empty",
                0,
                sum(self.queues_not_empty.values()),
                ok(not any(self.queues_not_empty.values())),
            ),
            f"dead-letter copies by service {dict(self.dead_letter_copies)}; "
            f"codes {dict(self.dead_letter_codes)}",
            "faults: "
            + "; ".join(f"{f.at:.0f}s {f.wave} {f.fault} {f.detail}".strip() for f in self.faults),
        ]
        if self.unaccepted_trails:
            lines.append(
                f"claims not accepted ({len(self.unaccepted_trails)}), where each stopped:"
            )
            lines += [f"  {trail}" for trail in self.unaccepted_trails[:40]]
        lines += self.stuck_sessions
        return "\n".join(lines)

    def failures_of_processes(self) -> bool:
        loops = any(n >= CRASH_LOOP_EXITS for n in self.unexpected_exits.values())
        return loops or bool(self.not_running_at_end)


@dataclass(frozen=True)
class Fault:
    wave: str  # alone | together
    kind: str  # kill | broker | database | clearinghouse
    target: str = ""


def fault_schedule() -> list[list[Fault]]:
    """Steps of faults: each fault alone, one step at a time; then one step of all of
    them at once (every service killed, the broker and the database restarted, the
    clearinghouse down)."""
    alone = [[Fault("alone", "kill", s)] for s in SERVICES]
    alone += [[Fault("alone", kind)] for kind in ("broker", "database", "clearinghouse")]
    together = [Fault("together", "kill", s) for s in SERVICES]
    together += [Fault("together", k) for k in ("broker", "database", "clearinghouse")]
    return [*alone, together]


async def run_chaos(
    rig: Rig, profile: Profile, *, seed: int = 9, log: Callable[[str], None] = print
) -> Figures:
    """Feed the scenario while the faults hit, wait for the pipeline to finish, measure.

    The deliveries are cut into one chunk per step (and one after the last): a chunk is
    published, the consumers start on it, then the step's faults hit while it is in
    flight; the next step starts once every service answers ``/readyz`` again (a fault
    that hits a service still starting would test nothing)."""
    run = uuid.uuid4().hex[:6]
    scenario = build_scenario(profile, rig.tenant, run, rig.tenant_config)
    rng = random.Random(seed)  # noqa: S311 - a reproducible shuffle, not a secret
    malformed = await asyncio.to_thread(fuzzed_messages, profile.malformed, run, seed)
    deliveries, swapped = delivery_order(scenario.feed, malformed, rng)
    steps = fault_schedule()
    figures = Figures(
        profile=profile.name,
        copies=1 + len(rig.replicas),
        inbound_events=len(scenario.feed),
        deliveries=len(deliveries),
        swapped_pairs=swapped,
        malformed_sent=len(malformed),
        malformed_kinds=Counter(m.malformed for m in malformed if m.malformed),
    )
    stop = asyncio.Event()
    supervisor = asyncio.create_task(rig.supervise(stop))
    started = time.monotonic()
    size = -(-len(deliveries) // (len(steps) + 1))
    chunks = [deliveries[n : n + size] for n in range(0, len(deliveries), size)]

    async def hit(item: Fault) -> None:
        at = time.monotonic() - started
        detail = ""
        if item.kind == "kill":
            await rig.kill(item.target)
            figures.kills += 1
        elif item.kind in ("broker", "database"):
            down = profile.proxy_down_seconds
            cut = await rig.proxies.restart(item.kind, down)
            detail = f"({cut} connections cut, {down:g}s refused)"
        else:
            await rig.sandbox.outage(profile.sandbox_outage_seconds)
            detail = f"({profile.sandbox_outage_seconds:g}s)"
        record = FaultRecord(round(at, 1), item.wave, f"{item.kind} {item.target}".strip(), detail)
        figures.faults.append(record)
        log(f"[chaos] {record.at:6.1f}s {record.wave} {record.fault} {record.detail}")

    try:
        async with feed_channel(rig) as publish:
            for n, step in enumerate(steps):
                await publish(chunks[n] if n < len(chunks) else [])
                await asyncio.sleep(profile.fault_gap_seconds)  # consumers are on it now
                await asyncio.gather(*(hit(f) for f in step))
                if any(f.kind == "clearinghouse" for f in step):
                    # Files pile up while it is down; the feed goes on meanwhile.
                    outage_ends = time.monotonic() + profile.sandbox_outage_seconds
                    await asyncio.sleep(profile.fault_gap_seconds)
                    await publish(chunks[n + 1] if n + 1 < len(chunks) else [])
                    chunks[n + 1 : n + 2] = [[]] if n + 1 < len(chunks) else []
                    if n + 1 < len(steps):  # alone: over before the next fault
                        await asyncio.sleep(max(0.0, outage_ends - time.monotonic()))
                await all_ready(rig, 180)
            for chunk in chunks[len(steps) :]:
                await publish(chunk)
        figures.seconds_feed = time.monotonic() - started
        log(f"[chaos] feed and faults done in {figures.seconds_feed:.0f}s; settling")
        settle_started = time.monotonic()
        figures.settled = await settle(rig, scenario, profile.settle_seconds, log)
        figures.seconds_to_settle = time.monotonic() - settle_started
    finally:
        stop.set()
        await supervisor
        with contextlib.suppress(Exception):
            await rig.sandbox.end_outage()
    await measure(rig, scenario, malformed, figures)
    return figures


@contextlib.asynccontextmanager
async def feed_channel(
    rig: Rig,
) -> AsyncIterator[Callable[[Sequence[Delivery]], Awaitable[None]]]:
    """Publishes to the real broker: the feeds are outside the suite, not behind the
    proxy."""
    connection = await aio_pika.connect(rig.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)

        async def publish(deliveries: Sequence[Delivery]) -> None:
            for delivery in deliveries:
                await publish_raw(
                    channel,
                    rig.topology,
                    delivery.body,
                    delivery.routing_key,
                    message_id=delivery.message_id,
                )

        yield publish


async def all_ready(rig: Rig, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    processes = rig.processes()
    waiting = set(processes)
    while waiting and time.monotonic() < deadline:
        for name in list(waiting):
            if await _ready(processes[name].base_url):
                waiting.discard(name)
        if waiting:
            await asyncio.sleep(0.5)
    if waiting:
        raise TimeoutError(
            f"not ready after {seconds:g}s: {sorted(waiting)}; the database says: "
            f"{await database_health(rig)}; "
            + " | ".join(processes[n].logs()[-1500:] for n in sorted(waiting))
        )


async def database_health(rig: Rig) -> str:
    """What a new connection to the real database gets (e.g. too many clients)."""
    try:
        connection = await asyncpg.connect(asyncpg_dsn(rig.database_url), timeout=10)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        total = await connection.fetchval("SELECT count(*) FROM pg_stat_activity")
        limit = await connection.fetchval("SHOW max_connections")
        return f"{total} connections of {limit}"
    finally:
        await connection.close()


async def settle(
    rig: Rig, scenario: Scenario, seconds: float, log: Callable[[str], None] = print
) -> bool:
    """Until every expected claim is ACCEPTED, no outbox row waits and the service queues
    are empty (True), or ``seconds`` pass (False). Says how far it got every 10 s."""
    started = time.monotonic()
    said = started
    while time.monotonic() - started < seconds:
        claims = await live_claims(rig)
        statuses = Counter(r["status"] for rows in claims.values() for r in rows)
        accepted = {m for m, rows in claims.items() if rows and rows[0]["status"] == "ACCEPTED"}
        pending = await outbox_pending(rig)
        queued = await queue_depths(rig)
        done = accepted >= scenario.expected_claims
        if done and not any(pending.values()) and not any(queued.values()):
            return True
        if time.monotonic() - said >= 10:
            said = time.monotonic()
            log(
                f"[chaos] settling {said - started:.0f}s: claims {dict(statuses)} of "
                f"{len(scenario.expected_claims)}, outbox {pending}, queues {queued}"
            )
        await asyncio.sleep(2)
    return False


async def _fetch(rig: Rig, query: str, *args: Any) -> list[asyncpg.Record]:
    """One query on the real database (not the proxy), on one connection kept for the
    run: the server is shared and may be near its connection limit, so a refused or lost
    connection is retried for a while rather than failing the figures."""
    for attempt in range(30):
        try:
            if rig.figures_connection is None or rig.figures_connection.is_closed():
                rig.figures_connection = await asyncpg.connect(asyncpg_dsn(rig.database_url))
            rows: list[asyncpg.Record] = await rig.figures_connection.fetch(query, *args)
            return rows
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.TooManyConnectionsError):
            if attempt == 29:
                raise
            rig.figures_connection = None
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


async def live_claims(rig: Rig) -> dict[str, list[asyncpg.Record]]:
    """Each member's claims that stand (not replaced, reversed, cancelled or let go)."""
    rows = await _fetch(
        rig,
        "SELECT claim_id, member_id, status, patient_control_number FROM claims.claim "
        "WHERE tenant_id = $1 AND superseded_by IS NULL AND NOT released "
        "AND status NOT IN ('REVERSED', 'REPLACED', 'CANCELLED')",
        rig.tenant,
    )
    by_member: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        by_member.setdefault(row["member_id"], []).append(row)
    return by_member


async def outbox_pending(rig: Rig) -> dict[str, int]:
    schemas = await _fetch(
        rig,
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox'",
    )
    pending = {}
    for row in schemas:
        schema = row["table_schema"]
        [count] = await _fetch(
            # A schema name read from the catalog, quoted: not user input.
            rig,
            f'SELECT count(*) AS n FROM "{schema}".outbox WHERE published_at IS NULL',  # noqa: S608
        )
        pending[schema] = int(count["n"])
    return pending


async def queue_depths(rig: Rig) -> dict[str, int]:
    """Ready messages in each service queue (unacked ones are not counted by the broker
    here; settled claims and a drained outbox cover those)."""
    depths = {}
    connection = await aio_pika.connect(rig.amqp_url)
    async with connection:
        for service in SERVICES:
            channel = await connection.channel()
            queue = await channel.declare_queue(rig.topology.service_queue(service), passive=True)
            depths[service] = int(queue.declaration_result.message_count or 0)
    return depths


async def measure(
    rig: Rig, scenario: Scenario, malformed: Sequence[Delivery], figures: Figures
) -> None:
    # Charges: one current row per (source, member, day); VOID ones are not charges.
    rows = await _fetch(
        rig,
        "SELECT source_id, member_id, date_of_service, status FROM charges.charge "
        "WHERE tenant_id = $1 AND status <> 'VOID'",
        rig.tenant,
    )
    written = Counter((r["source_id"], r["member_id"], r["date_of_service"]) for r in rows)
    figures.charges_expected = len(scenario.expected_charges)
    figures.charges_written = sum(written.values())
    figures.charges_lost = sorted(
        (s, m, d.isoformat()) for s, m, d in scenario.expected_charges - set(written)
    )
    figures.charges_duplicated = sorted(
        (s, m, d.isoformat()) for (s, m, d), n in written.items() for _ in range(n - 1)
    )
    figures.charges_unexpected = sorted(
        (s, m, d.isoformat()) for s, m, d in set(written) - scenario.expected_charges
    )
    figures.charges_not_ready = Counter(
        r["status"] for r in rows if r["status"] not in ("READY", "ON_CLAIM", "BILLED")
    )

    claims = await live_claims(rig)
    figures.claims_expected = len(scenario.expected_claims)
    figures.claims_built = sum(len(v) for m, v in claims.items() if m in scenario.expected_claims)
    figures.claims_lost = sorted(scenario.expected_claims - set(claims))
    figures.claims_duplicated = sorted(
        m for m, v in claims.items() if len(v) > 1 or m not in scenario.expected_claims
    )
    figures.claim_statuses = Counter(r["status"] for v in claims.values() for r in v)
    figures.unaccepted_trails = await trails(
        rig, [r for v in claims.values() for r in v if r["status"] != "ACCEPTED"]
    )
    if figures.unaccepted_trails or not figures.settled:
        figures.stuck_sessions = await stuck_backends(rig)

    received = [r for r in await rig.sandbox.received() if r["name"].startswith(f"{rig.tenant}_")]
    figures.files_uploaded = len(received)
    by_name = Counter(r["name"] for r in received)
    figures.files_repeated = sorted(n for n, c in by_name.items() if c > 1)
    in_files = Counter(c["patient_control_number"] for r in received for c in r["claims"])
    pcns = {r["patient_control_number"] for v in claims.values() for r in v}
    figures.claims_in_several_files = sum(1 for p in pcns if in_files[p] > 1)
    figures.claims_in_no_file = sum(1 for p in pcns if in_files[p] == 0)

    interchanges = await _fetch(
        rig, "SELECT isa13 FROM edi_gateway.interchange WHERE tenant_id = $1", rig.tenant
    )
    isa13 = Counter(int(r["isa13"]) for r in interchanges)
    isa13.update(int(r["isa13"]) for r in received if r.get("isa13"))
    figures.control_numbers = len(interchanges)
    # Each interchange once in the gateway and once at the clearinghouse: 2 is right.
    figures.control_numbers_repeated = sorted(n for n, c in isa13.items() if c > 2)

    await read_dead_letters(rig, malformed, figures)

    figures.unexpected_exits = Counter(rig.unexpected_exits)
    figures.not_running_at_end = [
        name
        for name, p in rig.processes().items()
        if p.process is None or p.process.poll() is not None or not await _ready(p.base_url)
    ]
    figures.outbox_pending = await outbox_pending(rig)
    figures.queues_not_empty = {k: v for k, v in (await queue_depths(rig)).items() if v}


async def trails(rig: Rig, unaccepted: Sequence[asyncpg.Record]) -> list[str]:
    """For each claim not ACCEPTED: how far it got, from the claims service's version to
    the gateway's submission, interchange, delivery and acknowledgment items, to the
    acceptance event in the gateway's outbox and the claims service's inbox."""
    out = []
    for claim in sorted(unaccepted, key=lambda r: str(r["claim_id"])):
        claim_id = claim["claim_id"]
        [row] = await _fetch(
            rig,
            "SELECT c.version, "
            "(SELECT string_agg(s.claim_version || ':' || s.status || "
            "  coalesce('@' || i.isa13 || ':' || i.status || "
            "  coalesce(' sent ' || to_char(i.sent_at, 'HH24:MI:SS'), ''), ''), ', ') "
            "  FROM edi_gateway.claim_submission s LEFT JOIN edi_gateway.interchange i "
            "  ON i.tenant_id = s.tenant_id AND i.interchange_id = s.interchange_id "
            "  WHERE s.tenant_id = c.tenant_id AND s.claim_id = c.claim_id) AS gateway, "
            "(SELECT string_agg(a.kind || ':' || it.match_status || ':' || it.effect || "
            "  ':' || it.outcome, ', ') FROM edi_gateway.acknowledgment_item it "
            "  JOIN edi_gateway.acknowledgment a ON a.tenant_id = it.tenant_id "
            "  AND a.acknowledgment_id = it.acknowledgment_id "
            "  WHERE it.tenant_id = c.tenant_id AND (it.claims @> jsonb_build_array("
            "  jsonb_build_object('claim_id', c.claim_id)) OR (it.item_kind = '277CA_CLAIM' "
            "  AND it.patient_control_number = c.patient_control_number))) AS items, "
            "(SELECT string_agg(o.event_type || CASE WHEN o.published_at IS NULL "
            "  THEN ' unpublished' ELSE ' published' END || CASE WHEN EXISTS ("
            "  SELECT 1 FROM claims.inbox n WHERE n.event_id = o.event_id) "
            "  THEN ' consumed' ELSE ' not consumed' END, ', ') "
            "  FROM edi_gateway.outbox o WHERE o.tenant_id = c.tenant_id "
            "  AND o.event_type <> 'edi.claim.transmitted.v1' "
            "  AND o.payload -> 'data' ->> 'claim_id' = c.claim_id) AS events, "
            "(SELECT string_agg(k.claim_version || ':' || k.outcome || ':' || k.effect, ', ') "
            "  FROM claims.claim_acknowledgment k WHERE k.tenant_id = c.tenant_id "
            "  AND k.claim_id = c.claim_id) AS recorded "
            "FROM claims.claim c WHERE c.tenant_id = $1 AND c.claim_id = $2",
            rig.tenant,
            claim_id,
        )
        out.append(
            f"{claim_id} v{row['version']} {claim['status']} pcn {claim['patient_control_number']}"
            f" | gateway {row['gateway'] or 'no submission'} | acknowledgment items "
            f"{row['items'] or 'none'} | events {row['events'] or 'none'} | claims recorded "
            f"{row['recorded'] or 'none'}"
        )
    return out


async def stuck_backends(rig: Rig) -> list[str]:
    """The run database's sessions that have waited on a lock or sat in an open
    transaction for more than 10 s (a stuck poller or batcher shows here). Statement text
    only: its values are bound parameters, never in the text."""
    rows = await _fetch(
        rig,
        "SELECT pid, state, wait_event_type, wait_event, "
        "round(extract(epoch FROM now() - coalesce(xact_start, query_start))) AS age, "
        "left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query "
        "FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND (wait_event_type = 'Lock' "
        "OR state LIKE 'idle in transaction%') "
        "AND now() - coalesce(xact_start, query_start) > interval '10 seconds'",
    )
    return [
        f"database session {r['pid']} {r['state']} {r['wait_event_type'] or ''}"
        f"{':' + r['wait_event'] if r['wait_event'] else ''} for {r['age']}s: {r['query']}"
        for r in rows
    ]


async def read_dead_letters(rig: Rig, malformed: Sequence[Delivery], figures: Figures) -> None:
    """Take every message off the services' dead-letter queues: each malformed one must
    be there (in the queue of every service it was routed to) with a code and reason."""
    fuzz_ids = {m.message_id for m in malformed}
    seen: set[str] = set()
    connection = await aio_pika.connect(rig.amqp_url)
    async with connection:
        channel = await connection.channel()
        for service in SERVICES:
            queue = await channel.declare_queue(
                rig.topology.dead_letter_queue(service), passive=True
            )
            while (message := await queue.get(fail=False, no_ack=True)) is not None:
                headers = message.headers or {}
                message_id = message.message_id or "?"
                code = headers.get(names.HEADER_ERROR_CODE)
                reason = headers.get(names.HEADER_ERROR_REASON)
                # A quorum queue's own dead-lettering (delivery limit) says so in x-death.
                code = str(code or _x_death_reason(headers) or "NONE")
                figures.dead_letter_copies[service] += 1
                figures.dead_letter_codes[code] += 1
                if message_id in fuzz_ids:
                    seen.add(message_id)
                    if not (code and reason):
                        figures.dead_letters_without_reason.append(f"{service}:{message_id}")
                else:
                    figures.valid_events_dead_lettered.append(f"{service}:{message_id}:{code}")
    figures.malformed_dead_lettered = len(seen)
    figures.malformed_missing = sorted(fuzz_ids - seen)


def _x_death_reason(headers: dict[str, Any]) -> str | None:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return f"x-death:{deaths[0].get('reason')}"
    return None


async def _ready(base_url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            return (await client.get(f"{base_url}/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


def work_dir(prefix: str = "rcm-chaos-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
