"""docs/messages.md is generated from the contracts and the code (``python -m
common.message_catalogue``), and the committed file is current."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.asyncapi import ServiceContract, load_contracts
from common.message_catalogue import DEFAULT_FILE, main, render
from contracts.events import EVENT_DATA_MODELS

COMMITTED = Path(__file__).resolve().parents[4] / "docs" / "messages.md"


@pytest.fixture(scope="module")
def contracts() -> list[ServiceContract]:
    return load_contracts()


def test_the_catalogue_is_written_into_docs() -> None:
    assert DEFAULT_FILE == COMMITTED


def test_the_committed_catalogue_is_current(contracts: list[ServiceContract]) -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(contracts), (
        "docs/messages.md is stale: run `uv run --frozen python -m common.message_catalogue`"
    )


def test_every_event_type_has_a_section_with_its_schema_and_asyncapi_links(
    contracts: list[ServiceContract],
) -> None:
    text = render(contracts)
    for event_type in EVENT_DATA_MODELS:
        section = text.split(f"\n## {event_type}\n", 1)[1].split("\n## ", 1)[0]
        assert f"- routing key: `{event_type}`" in section
        assert f"(../contracts/schemas/events/{event_type}.schema.json)" in section
        assert "| field | type | required | description |" in section
        assert (
            Path(COMMITTED.parent) / f"../contracts/schemas/events/{event_type}.schema.json"
        ).is_file()


def test_the_claim_submitted_section_names_producer_consumer_and_fields(
    contracts: list[ServiceContract],
) -> None:
    text = render(contracts)
    section = text.split("\n## claims.claim.submitted.v1\n", 1)[1].split("\n## ", 1)[0]
    assert "- producer: claims\n- consumers: edi-gateway\n" in section
    assert "[claims](../contracts/asyncapi/claims.yaml)" in section
    assert "[edi-gateway](../contracts/asyncapi/edi-gateway.yaml)" in section
    assert "| `patient_control_number` | string" in section
    inbound = text.split("\n## ehr.stay.admitted.v1\n", 1)[1].split("\n## ", 1)[0]
    assert "- producer: EHR (outside the suite)\n- consumers: stays\n" in inbound


def test_check_fails_on_a_stale_file_and_passes_once_written(
    contracts: list[ServiceContract], tmp_path: Path
) -> None:
    target = tmp_path / "messages.md"
    target.write_text("# Message catalogue\n", encoding="utf-8")
    assert main(["--check", "--file", str(target)], contracts=contracts) == 1
    assert main(["--file", str(target)], contracts=contracts) == 0
    assert main(["--check", "--file", str(target)], contracts=contracts) == 0
