"""Golden samples: one full CloudEvent per registered type, round-tripping exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.envelope import TYPE_PATTERN, CloudEvent
from contracts.events import (
    EVENT_DATA_MODELS,
    GROUP_SESSION_CLOSED_V1,
    GROUP_SESSION_SCHEDULED_V1,
    STAY_ADMITTED_V1,
    STAYS_STAY_ADMITTED_V1,
    EhrStayAdmitted,
    GroupSessionClosed,
    GroupSessionScheduled,
    StayAdmitted,
    data_model_for,
    event_types,
)

SAMPLE_FILES = sorted((Path(__file__).resolve().parents[1] / "samples").glob("*.json"))


def test_every_registered_type_has_a_sample_and_every_sample_a_registered_type() -> None:
    sample_types = {path.name.removesuffix(".json") for path in SAMPLE_FILES}
    assert sample_types == set(EVENT_DATA_MODELS)
    # ... and every type constant the contracts define is registered.
    declared = {v for k, v in vars(event_types).items() if k.endswith(("_V1", "_V2"))}
    assert declared == set(EVENT_DATA_MODELS)


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda path: path.stem)
def test_sample_round_trips_through_envelope_and_data_model(sample: Path) -> None:
    document = json.loads(sample.read_text(encoding="utf-8"))
    event = CloudEvent.model_validate(document)
    assert event.type == sample.name.removesuffix(".json")
    assert event.tenantid == "demo-bh"

    model = data_model_for(event.type)
    assert model is not None
    data = model.model_validate(event.data)
    rebuilt = event.model_copy(update={"data": data.model_dump(mode="json")})

    assert json.loads(rebuilt.to_json()) == document


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda path: path.stem)
def test_sample_data_parses_the_same_from_json_text_as_from_a_mapping(sample: Path) -> None:
    document = json.loads(sample.read_text(encoding="utf-8"))
    model = data_model_for(document["type"])
    assert model is not None
    from_text = model.model_validate_json(json.dumps(document["data"]))
    assert from_text == model.model_validate(document["data"])


def test_registry_keys_are_routing_keys_of_their_models() -> None:
    for event_type, model in EVENT_DATA_MODELS.items():
        assert TYPE_PATTERN.match(event_type)
        assert getattr(model, "event_type") == event_type  # noqa: B009


def test_type_constants_name_the_inbound_and_outbound_types() -> None:
    assert GROUP_SESSION_SCHEDULED_V1 == "scheduling.group_session.scheduled.v1"
    assert STAY_ADMITTED_V1 == "ehr.stay.admitted.v1"
    assert STAYS_STAY_ADMITTED_V1 == "stays.stay.admitted.v1"
    assert GROUP_SESSION_CLOSED_V1 == "attendance.group_session.closed.v1"
    assert data_model_for(GROUP_SESSION_SCHEDULED_V1) is GroupSessionScheduled
    assert data_model_for(STAY_ADMITTED_V1) is EhrStayAdmitted
    assert data_model_for(STAYS_STAY_ADMITTED_V1) is StayAdmitted
    assert data_model_for(GROUP_SESSION_CLOSED_V1) is GroupSessionClosed


def test_an_unknown_type_has_no_data_model() -> None:
    assert data_model_for("scheduling.group_session.scheduled.v9") is None
    assert data_model_for("") is None


def test_closed_sample_is_reference_vector_1_with_five_billable_of_seven() -> None:
    document = json.loads((SAMPLE_FILES[0].parent / f"{GROUP_SESSION_CLOSED_V1}.json").read_text())
    closed = GroupSessionClosed.model_validate(document["data"])
    assert len(closed.roster) == 7
    assert [row.member_id for row in closed.billable_participants] == [
        "m-10001",
        "m-10002",
        "m-10003",
        "m-10004",
        "m-10005",
    ]
    assert closed.supervisors_present == ["prov-ann-jones"]
