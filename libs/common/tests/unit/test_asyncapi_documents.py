"""The services' AsyncAPI documents are generated from the code, committed, and checked
for staleness (issue 8: published contracts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from pydantic import Field

from common.asyncapi import DEFAULT_FOLDER, SERVICES, ServiceContract, load_contracts, main
from contracts.events import (
    CLAIM_SUBMITTED_V1,
    CLAIM_WITHDRAWAL_REQUESTED_V1,
    EDI_CLAIM_ACCEPTED_V1,
    EDI_CLAIM_REJECTED_V1,
    EDI_CLAIM_TRANSMITTED_V1,
    EDI_CLAIM_WITHDRAWAL_ANSWERED_V1,
    ClaimSubmitted,
)

COMMITTED = Path(__file__).resolve().parents[4] / "contracts" / "asyncapi"


@pytest.fixture(scope="module")
def contracts() -> list[ServiceContract]:
    return load_contracts()


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def refs_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs_in(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs_in(value)]
    return []


def test_the_documents_are_written_into_contracts_asyncapi() -> None:
    assert DEFAULT_FOLDER == COMMITTED


def test_committed_documents_are_current(
    contracts: list[ServiceContract], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--check"], contracts=contracts) == 0, capsys.readouterr().out
    assert sorted(p.name for p in COMMITTED.glob("*.yaml")) == sorted(
        f"{service}.yaml" for service in SERVICES
    )


def test_the_gateway_receives_what_it_registers_and_sends_what_it_produces() -> None:
    document = yaml.safe_load((COMMITTED / "edi-gateway.yaml").read_text())

    assert document["asyncapi"] == "3.0.0"
    operations = document["operations"]
    assert {k for k, op in operations.items() if op["action"] == "receive"} == {
        f"receive.{CLAIM_SUBMITTED_V1}",
        f"receive.{CLAIM_WITHDRAWAL_REQUESTED_V1}",
    }
    assert {k for k, op in operations.items() if op["action"] == "send"} == {
        f"send.{EDI_CLAIM_ACCEPTED_V1}",
        f"send.{EDI_CLAIM_REJECTED_V1}",
        f"send.{EDI_CLAIM_TRANSMITTED_V1}",
        f"send.{EDI_CLAIM_WITHDRAWAL_ANSWERED_V1}",
        "deadLetter",
    }
    channel = document["channels"][CLAIM_SUBMITTED_V1]
    assert channel["address"] == CLAIM_SUBMITTED_V1  # the routing key
    assert channel["bindings"]["amqp"]["exchange"]["name"] == "rcm.events"
    assert channel["bindings"]["amqp"]["exchange"]["type"] == "topic"


def test_a_message_is_the_cloudevent_with_the_contract_model_as_data() -> None:
    document = yaml.safe_load((COMMITTED / "edi-gateway.yaml").read_text())
    message = document["components"]["messages"][CLAIM_SUBMITTED_V1]

    assert message["contentType"] == "application/cloudevents+json"
    payload = message["payload"]
    assert payload["properties"]["type"] == {"const": CLAIM_SUBMITTED_V1, "title": "Type"}
    assert set(payload["required"]) >= {"id", "source", "type", "time", "tenantid", "data"}
    assert {"tenantid", "correlationid", "traceparent"} <= set(payload["properties"])
    data = resolve(document, payload["properties"]["data"]["$ref"])
    assert set(data["properties"]) == set(ClaimSubmitted.model_json_schema()["properties"])
    headers = resolve(document, message["headers"]["$ref"])
    assert {"x-rcm-tenant", "x-correlation-id", "traceparent"} <= set(headers["properties"])


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_reference_in_a_document_resolves(service: str) -> None:
    document = yaml.safe_load((COMMITTED / f"{service}.yaml").read_text())

    for ref in refs_in(document):
        resolve(document, ref)
    for operation in document["operations"].values():
        channel = resolve(document, operation["channel"]["$ref"])
        for message in operation["messages"]:
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/")
            assert resolve(document, message["$ref"]) in channel["messages"].values()


def test_check_fails_when_a_contract_changes_without_regenerating(
    contracts: list[ServiceContract], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--folder", str(tmp_path)], contracts=contracts) == 0
    assert main(["--check", "--folder", str(tmp_path)], contracts=contracts) == 0

    class ChangedClaimSubmitted(ClaimSubmitted):
        """claims.claim.submitted.v1 with a field added."""

        event_type: ClassVar[str] = CLAIM_SUBMITTED_V1
        priority: int | None = Field(default=None, ge=1)

    ChangedClaimSubmitted.__name__ = "ClaimSubmitted"
    changed = [
        ServiceContract(
            service=c.service,
            title=c.title,
            version=c.version,
            receives={
                t: ChangedClaimSubmitted if t == CLAIM_SUBMITTED_V1 else m
                for t, m in c.receives.items()
            },
            sends=c.sends,
        )
        for c in contracts
    ]
    capsys.readouterr()

    assert main(["--check", "--folder", str(tmp_path)], contracts=changed) == 1
    report = capsys.readouterr().out.splitlines()
    assert "edi-gateway.yaml: out of date" in report
    assert "attendance.yaml: out of date" not in report

    assert main(["--folder", str(tmp_path)], contracts=changed) == 0
    assert main(["--check", "--folder", str(tmp_path)], contracts=changed) == 0


def test_check_names_a_missing_and_a_leftover_document(
    contracts: list[ServiceContract], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--folder", str(tmp_path)], contracts=contracts) == 0
    (tmp_path / "stays.yaml").unlink()
    (tmp_path / "billing.yaml").write_text("asyncapi: 3.0.0\n")
    capsys.readouterr()

    assert main(["--check", "--folder", str(tmp_path)], contracts=contracts) == 1
    report = capsys.readouterr().out.splitlines()
    assert "stays.yaml: missing" in report
    assert "billing.yaml: no longer generated" in report
