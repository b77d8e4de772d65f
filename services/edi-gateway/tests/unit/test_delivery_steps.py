"""What the next delivery attempt does, from its record and what the server holds."""

from __future__ import annotations

import pytest

from edi_gateway.domain.delivery import (
    DeliveryState,
    DeliveryStep,
    RemoteState,
    is_temporary_name,
    next_step,
    temporary_name,
)


@pytest.mark.parametrize("recorded", [None, *DeliveryState])
def test_a_final_file_with_the_same_bytes_is_delivered_whatever_was_recorded(
    recorded: DeliveryState | None,
) -> None:
    assert next_step(recorded, RemoteState.DELIVERED) is DeliveryStep.ALREADY_DELIVERED
    assert next_step(recorded, RemoteState.CONFLICT) is DeliveryStep.CONFLICT
    assert next_step(recorded, RemoteState.TEMPORARY) is DeliveryStep.REPLACE_TEMPORARY


@pytest.mark.parametrize(
    ("recorded", "step"),
    [
        (None, DeliveryStep.UPLOAD),
        (DeliveryState.UPLOADING, DeliveryStep.UPLOAD),
        (DeliveryState.UPLOADED, DeliveryStep.TAKEN_BY_CLEARINGHOUSE),
        (DeliveryState.RENAMED, DeliveryStep.TAKEN_BY_CLEARINGHOUSE),
    ],
)
def test_with_nothing_on_the_server_only_a_completed_upload_counts_as_delivered(
    recorded: DeliveryState | None, step: DeliveryStep
) -> None:
    assert next_step(recorded, RemoteState.ABSENT) is step


def test_the_temporary_name_is_a_fixed_dot_file_the_clearinghouse_ignores() -> None:
    name = "demo-bh_local-dev_837P_000000001.x12"
    assert temporary_name(name) == ".demo-bh_local-dev_837P_000000001.x12.part"
    assert is_temporary_name(temporary_name(name))
    assert not is_temporary_name(name)
