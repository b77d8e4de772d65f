"""The five services as real processes on this run's database and broker names."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from common.testing.clearinghouse import SandboxProcess, sandbox_tenant
from common.testing.isolation import delete_broker_names
from common.testing.messages import publish_raw
from common.testing.processes import Suite, free_port
from common.testing.tokens import TEST_JWT_SECRET
from contracts.topology import Topology

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"


LEFT_EARLY_TENANT = "demo-bh-le"
SFTP_TENANT = "demo-bh-sftp"  # every payer goes to the clearinghouse sandbox over SFTP
WRONG_HOST_KEY_TENANT = "demo-bh-badkey"  # the same, pinning a host key that is not the sandbox's
# Sends to the sandbox too, but no program builds its cycle claims by itself: an operator
# builds them (the console's Build claim).
MANUAL_BUILD_TENANT = "demo-bh-manual"
# Sends to the sandbox with a 30 s batch window: time for a claim to be asked back.
HOLD_TENANT = "demo-bh-hold"
HL7_PORT = free_port()  # the stays service's HL7 v2 ADT (MLLP) listener


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: Any) -> Iterator[SandboxProcess]:
    """The clearinghouse sandbox as a real process (SFTP in, TA1/999/277CA out)."""
    running = SandboxProcess(folder=tmp_path_factory.mktemp("sandbox"))
    running.start()
    try:
        yield running
    finally:
        code = running.stop()
    assert code in (0, -15), running.logs()[-3000:]


@pytest.fixture(scope="session")
def tenant_dir(tmp_path_factory: Any, sandbox: SandboxProcess) -> Path:
    """The sample tenant; a copy of it whose policy bills LEFT_EARLY too; and four copies
    sending to the sandbox over SFTP: one pinning the sandbox's host key, one another, one
    whose programs leave cycle claims to an operator's build, and one with a 30 s batch
    window."""
    folder: Path = tmp_path_factory.mktemp("tenants")
    text = (SAMPLES / "tenants" / "demo-bh.yaml").read_text()
    (folder / "demo-bh.yaml").write_text(text)
    left_early = text.replace("tenant_id: demo-bh", f"tenant_id: {LEFT_EARLY_TENANT}", 1)
    left_early = left_early.replace(
        "statuses: [ATTENDED, LATE]", "statuses: [ATTENDED, LATE, LEFT_EARLY]", 1
    )
    # A tenant of its own has its own interchange sender id (ISA06): control numbers are
    # unique per sender.
    left_early = left_early.replace("id: HARBORBH}", "id: HARBORLE}")
    assert left_early.count(LEFT_EARLY_TENANT) == 1 and "LATE, LEFT_EARLY]" in left_early
    # An HL7 sending facility (MSH-4) belongs to one tenant: each copy has its own.
    left_early = own_hl7_sender(left_early, "HARBOR_EHR_LE")
    (folder / f"{LEFT_EARLY_TENANT}.yaml").write_text(left_early)
    (folder / f"{SFTP_TENANT}.yaml").write_text(
        own_hl7_sender(
            sandbox_tenant(text, tenant_id=SFTP_TENANT, sender_id="HARBORSF", sandbox=sandbox),
            "HARBOR_EHR_SF",
        )
    )
    (folder / f"{WRONG_HOST_KEY_TENANT}.yaml").write_text(
        own_hl7_sender(
            sandbox_tenant(
                text,
                tenant_id=WRONG_HOST_KEY_TENANT,
                sender_id="HARBORBK",
                sandbox=sandbox,
                # A real ed25519 public key, just not the server's.
                host_key_file=sandbox.keys / "client_key.pub",
            ),
            "HARBOR_EHR_BK",
        )
    )
    manual = sandbox_tenant(
        text, tenant_id=MANUAL_BUILD_TENANT, sender_id="HARBORMB", sandbox=sandbox
    )
    assert manual.count("auto_build_on_cycle_close: true") == 2, (
        "the sample tenant's programs changed"
    )
    manual = manual.replace("auto_build_on_cycle_close: true", "auto_build_on_cycle_close: false")
    (folder / f"{MANUAL_BUILD_TENANT}.yaml").write_text(own_hl7_sender(manual, "HARBOR_EHR_MB"))
    hold = sandbox_tenant(
        text, tenant_id=HOLD_TENANT, sender_id="HARBORHD", sandbox=sandbox, window_seconds=30
    )
    (folder / f"{HOLD_TENANT}.yaml").write_text(own_hl7_sender(hold, "HARBOR_EHR_HD"))
    return folder


def own_hl7_sender(text: str, sender: str) -> str:
    old = "sending_facilities: [HARBOR_EHR]"
    assert text.count(old) == 1, "the sample tenant's HL7 sender changed"
    return text.replace(old, f"sending_facilities: [{sender}]")


@pytest.fixture(scope="session")
def edi_root(tmp_path_factory: Any) -> Path:
    root: Path = tmp_path_factory.mktemp("edi-root")
    return root


@pytest.fixture(scope="session")
def clearinghouse_folder(edi_root: Path) -> Path:
    """Where the gateway's local-folder transport drops files for `local-dev`."""
    folder = edi_root / "var" / "clearinghouse" / "upload"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def e2e_topology(rcm_amqp_url: str, rcm_topology: Topology) -> Iterator[Topology]:
    """Broker names of the e2e suite's own: the services' integration tests declare the
    same queues with other settings (a smaller delivery limit), and a queue's arguments
    cannot change once declared."""
    topology = Topology(prefix=f"{rcm_topology.prefix}e2e.")
    try:
        yield topology
    finally:
        asyncio.run(delete_broker_names(rcm_amqp_url, topology))


@pytest.fixture(scope="session")
def suite(
    rcm_database_url: str,
    rcm_amqp_url: str,
    e2e_topology: Topology,
    tmp_path_factory: Any,
    tenant_dir: Path,
    edi_root: Path,
) -> Iterator[Suite]:
    running = Suite(
        database_url=rcm_database_url,
        amqp_url=rcm_amqp_url,
        topology_prefix=e2e_topology.prefix,
        jwt_secret=TEST_JWT_SECRET,
        log_dir=tmp_path_factory.mktemp("suite-logs"),
        extra_env={
            "TENANT_CONFIG_DIR": str(tenant_dir),
            "EDI_LOCAL_ROOT": str(edi_root),
            "EDI_ACK_POLL_SECONDS": "1",
            "EDI_RETRY_MAX_SECONDS": "4",
            "HL7_MLLP_PORT": str(HL7_PORT),
        },
    )
    running.migrate()
    try:
        running.start()
        yield running
    finally:
        codes = running.stop()
    # Graceful shutdown: on SIGTERM each service stops consuming, finishes in-flight work
    # and logs service_stopped; uvicorn then re-raises the signal (exit -15) or exits 0.
    failed = {
        name: code
        for name, code in codes.items()
        if code not in (0, -15) or '"service_stopped"' not in running.processes[name].logs()
    }
    assert not failed, {n: running.processes[n].logs()[-3000:] for n in failed}


@pytest.fixture(scope="session")
def sample() -> Callable[[str], dict[str, Any]]:
    """``sample(type)``: a fresh copy of the golden sample of that event type."""

    def load(event_type: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((SAMPLES / f"{event_type}.json").read_text())
        return document

    return load


@pytest.fixture(scope="session")
def publish(rcm_amqp_url: str, e2e_topology: Topology) -> Callable[..., Coroutine[Any, Any, None]]:
    """``await publish(*documents)``: CloudEvent documents onto the events exchange."""

    async def send(*documents: dict[str, Any]) -> None:
        connection = await aio_pika.connect(rcm_amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            for document in documents:
                await publish_raw(
                    channel,
                    e2e_topology,
                    json.dumps(document).encode(),
                    document["type"],
                    message_id=document.get("id"),
                )

    return send
