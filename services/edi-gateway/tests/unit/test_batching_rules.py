from __future__ import annotations

import pytest

from edi_gateway.domain.batching import interchange_file_name, is_batch_due
from edi_gateway.domain.model import TransactionType
from edi_gateway.service_layer.retry import RetrySchedule


@pytest.mark.parametrize(
    ("age", "pending", "due"),
    [
        (2.9, 5, False),  # inside the 3-second window, below max_claims
        (3.0, 5, True),  # the window closed
        (0.1, 500, True),  # max_claims reached before the window closed
        (9.0, 0, False),  # nothing to send
    ],
)
def test_a_batch_goes_when_its_window_closes_or_it_is_full(
    age: float, pending: int, due: bool
) -> None:
    assert (
        is_batch_due(oldest_age_seconds=age, pending=pending, window_seconds=3, max_claims=500)
        is due
    )


def test_the_file_is_named_by_tenant_clearinghouse_type_and_isa13() -> None:
    name = interchange_file_name("demo-bh", "local-dev", TransactionType.PROFESSIONAL, 42)
    assert name == "demo-bh_local-dev_837P_000000042.x12"


def test_an_id_that_is_not_file_name_safe_is_neutralised() -> None:
    name = interchange_file_name("demo-bh", "../x", TransactionType.PROFESSIONAL, 1)
    assert "/" not in name and name == "demo-bh_-x_837P_000000001.x12"


def test_failed_work_waits_longer_each_time_up_to_the_limit() -> None:
    now = [0.0]
    schedule = RetrySchedule(longest=4.0, clock=lambda: now[0])
    assert [schedule.failed("g") for _ in range(4)] == [1.0, 2.0, 4.0, 4.0]
    assert not schedule.due("g")
    now[0] = 4.0
    assert schedule.due("g")
    schedule.succeeded("g")
    assert schedule.failed("g") == 1.0
