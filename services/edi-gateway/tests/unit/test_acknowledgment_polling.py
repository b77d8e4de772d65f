"""The acknowledgment poller asks an unreachable clearinghouse again with back-off, per
tenant and clearinghouse, and logs the coded error with the next delay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from common.db import UnitOfWork
from common.tenants import TenantDirectory
from common.testing.processes import SAMPLE_TENANTS
from contracts.tenant import Clearinghouse
from edi_gateway.adapters.sftp import SftpError
from edi_gateway.domain.acknowledgments import ParsedAcknowledgment, addressed_to
from edi_gateway.service_layer.acknowledgments import AcknowledgmentPoller
from edi_gateway.service_layer.ports import InboundFile
from edi_gateway.service_layer.retry import RetrySchedule

from ..claim_samples import CLEARINGHOUSE, TENANT

CLEARINGHOUSE_CONFIG = TenantDirectory.load(SAMPLE_TENANTS).get(TENANT).clearinghouse(CLEARINGHOUSE)


class Unreachable:
    kind = CLEARINGHOUSE_CONFIG.transport.kind

    def __init__(self) -> None:
        self.listings: list[str] = []

    async def list_new(self, clearinghouse: Clearinghouse) -> list[InboundFile]:
        self.listings.append(clearinghouse.id)
        raise SftpError("SFTP_UNREACHABLE", "cannot reach sftp.example:22 (OSError)")

    async def mark_processed(self, clearinghouse: Clearinghouse, name: str) -> None:
        raise AssertionError("nothing was read")


class NoReader:
    def read(self, content: bytes) -> ParsedAcknowledgment:
        raise AssertionError("nothing was read")


def no_database() -> UnitOfWork:
    raise AssertionError("a failed listing touches no database")


def poller(source: Unreachable, now: list[float]) -> AcknowledgmentPoller:
    return AcknowledgmentPoller(
        unit_of_work=no_database,
        tenants=TenantDirectory.load(SAMPLE_TENANTS),
        sources={source.kind: source},
        reader=NoReader(),
        retries=RetrySchedule(longest=4.0, clock=lambda: now[0]),
    )


def failures(logs: list[dict[str, Any]]) -> list[tuple[str, float]]:
    return [
        (entry["error_code"], entry["retry_in_seconds"])
        for entry in logs
        if entry["event"] == "acknowledgment_listing_failed"
    ]


async def test_an_unreachable_clearinghouse_is_asked_again_only_after_its_back_off() -> None:
    source, now = Unreachable(), [100.0]
    polling = poller(source, now)
    with capture_logs() as logs:
        for second in (100.0, 100.5, 101.0, 102.0, 103.0, 107.0, 111.0):
            now[0] = second
            assert await polling.poll(TENANT, CLEARINGHOUSE_CONFIG) == []
    # Asked at 100 (wait 1 s), 101 (2 s), 103 (4 s), 107 (4 s, the longest), 111.
    assert len(source.listings) == 5
    assert failures(logs) == [
        ("SFTP_UNREACHABLE", 1.0),
        ("SFTP_UNREACHABLE", 2.0),
        ("SFTP_UNREACHABLE", 4.0),
        ("SFTP_UNREACHABLE", 4.0),
        ("SFTP_UNREACHABLE", 4.0),
    ]
    assert logs[0]["error_message"] == "cannot reach sftp.example:22 (OSError)"


async def test_the_back_off_of_one_tenant_does_not_hold_up_another() -> None:
    source, now = Unreachable(), [100.0]
    polling = poller(source, now)
    with capture_logs() as logs:
        await polling.poll(TENANT, CLEARINGHOUSE_CONFIG)
        await polling.poll(TENANT, CLEARINGHOUSE_CONFIG)  # waiting
        await polling.poll("tenant-b", CLEARINGHOUSE_CONFIG)
    assert len(source.listings) == 2
    assert [(e["tenant_id"], e["clearinghouse_id"]) for e in logs] == [
        (TENANT, CLEARINGHOUSE),
        ("tenant-b", CLEARINGHOUSE),
    ]


def isa_to(receiver: str, separator: str = "*") -> bytes:
    elements = [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SANDBOX".ljust(15), "ZZ",
        receiver.ljust(15), "261123", "1200", "^", "00501", "000000007", "0", "T", ":",
    ]  # fmt: skip
    return (separator.join(elements) + "~GS*FA*SANDBOX*X*20261123*1200*7*X*005010X231A1~").encode()


def test_a_file_is_addressed_to_the_receiver_its_isa_names() -> None:
    assert addressed_to(isa_to("HARBORBH")) == "HARBORBH"
    assert addressed_to(b"\r\n" + isa_to("HARBORMB", separator="|")) == "HARBORMB"
    assert addressed_to(b"not an interchange at all") is None
    assert addressed_to(isa_to("HARBORBH")[:80]) is None


class SharedFolder:
    """One clearinghouse account for two tenants: one outbound folder holding both's."""

    kind = CLEARINGHOUSE_CONFIG.transport.kind

    def __init__(self, files: list[InboundFile]) -> None:
        self.files = files
        self.processed: list[str] = []

    async def list_new(self, clearinghouse: Clearinghouse) -> list[InboundFile]:
        return list(self.files)

    async def mark_processed(self, clearinghouse: Clearinghouse, name: str) -> None:
        self.processed.append(name)


async def test_an_answer_to_another_tenants_interchanges_is_left_for_that_tenant(
    tmp_path: Path,
) -> None:
    text = (SAMPLE_TENANTS / f"{TENANT}.yaml").read_text()
    (tmp_path / f"{TENANT}.yaml").write_text(text)
    other = text.replace(f"tenant_id: {TENANT}\n", "tenant_id: tenant-b\n", 1)
    other = other.replace("id: HARBORBH}", "id: HARBORTB}").replace(
        "sending_facilities: [HARBOR_EHR]", "sending_facilities: [HARBOR_EHR_B]"
    )
    assert "HARBORTB" in other
    (tmp_path / "tenant-b.yaml").write_text(other)
    folder = SharedFolder([InboundFile("999-b.x12", isa_to("HARBORTB"))])
    polling = AcknowledgmentPoller(
        unit_of_work=no_database,  # touched only by a file it applies
        tenants=TenantDirectory.load(tmp_path),
        sources={folder.kind: folder},
        reader=NoReader(),
    )
    assert await polling.poll(TENANT, CLEARINGHOUSE_CONFIG) == []
    assert folder.processed == []  # still there for tenant-b's poll
