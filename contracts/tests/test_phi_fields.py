"""PHI field names for the logging redactor."""

from __future__ import annotations

from contracts.events import EVENT_DATA_MODELS, phi_field_names


def test_phi_names_cover_names_birth_dates_subscriber_ids_addresses_and_diagnoses() -> None:
    assert {
        "first_name",
        "last_name",
        "middle_name",
        "birth_date",
        "subscriber_id",
        "subscriber",
        "address",
        "principal_diagnosis",
        "admitting_diagnosis",
        "other_diagnoses",
        "procedures",
        "drg",
        "note",
        "override_reason",
    } <= phi_field_names()


def test_ids_statuses_and_codes_needed_in_logs_are_not_phi() -> None:
    loggable = {
        "member_id",
        "session_id",
        "stay_id",
        "provider_id",
        "payer_id",
        "status",
        "code",
        "message",
        "reason",
        "npi",
    }
    assert not loggable & phi_field_names()


def test_every_phi_name_is_marked_on_some_field_of_an_event_model() -> None:
    schemas = [model.model_json_schema() for model in EVENT_DATA_MODELS.values()]
    marked: set[str] = set()
    for schema in schemas:
        for definition in [schema, *schema.get("$defs", {}).values()]:
            for name, field in definition.get("properties", {}).items():
                if field.get("phi") is True:
                    marked.add(name)
    assert marked == phi_field_names()
