"""Committed JSON Schemas are current, and ``--check`` notices when they are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.events import EVENT_DATA_MODELS
from contracts.export_schemas import DEFAULT_FOLDER, main

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def test_export_writes_into_contracts_schemas() -> None:
    assert DEFAULT_FOLDER == SCHEMAS


def test_committed_schemas_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0, capsys.readouterr().out


def test_there_is_one_schema_per_event_type_and_one_for_the_tenant_config() -> None:
    event_schemas = {path.name for path in (SCHEMAS / "events").glob("*.schema.json")}
    assert event_schemas == {f"{event_type}.schema.json" for event_type in EVENT_DATA_MODELS}
    assert (SCHEMAS / "tenant-config.schema.json").is_file()


def test_an_event_schema_fixes_the_type_and_describes_the_data() -> None:
    schema = json.loads((SCHEMAS / "events" / "ehr.member.upserted.v1.schema.json").read_text())
    assert schema["properties"]["type"]["const"] == "ehr.member.upserted.v1"
    assert schema["properties"]["data"] == {"$ref": "#/$defs/MemberUpserted"}
    member = schema["$defs"]["MemberUpserted"]
    assert member["properties"]["birth_date"]["phi"] is True
    assert "phi" not in member["properties"]["member_id"]
    assert schema["required"] == ["id", "source", "type", "time", "tenantid", "data"]


def test_check_fails_on_an_edited_missing_or_extra_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--folder", str(tmp_path)]) == 0
    assert main(["--check", "--folder", str(tmp_path)]) == 0

    edited = tmp_path / "tenant-config.schema.json"
    edited.write_text(edited.read_text().replace('"TenantConfig"', '"Tenant"', 1))
    (tmp_path / "events" / "ehr.stay.admitted.v1.schema.json").unlink()
    (tmp_path / "events" / "ehr.stay.admitted.v0.schema.json").write_text("{}\n")
    capsys.readouterr()

    assert main(["--check", "--folder", str(tmp_path)]) == 1
    report = capsys.readouterr().out.splitlines()
    assert "tenant-config.schema.json: out of date" in report
    assert "events/ehr.stay.admitted.v1.schema.json: missing" in report
    assert "events/ehr.stay.admitted.v0.schema.json: no longer generated" in report

    assert main(["--folder", str(tmp_path)]) == 0
    assert main(["--check", "--folder", str(tmp_path)]) == 0
