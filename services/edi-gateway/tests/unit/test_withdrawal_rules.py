from __future__ import annotations

import pytest

from edi_gateway.domain.model import ClaimSubmissionStatus, withdrawable

S = ClaimSubmissionStatus


@pytest.mark.parametrize(
    ("status", "kept_back"),
    [
        (S.PENDING, True),  # still waiting for its batch window
        (S.WITHDRAWN, True),  # an earlier request withdrew it: a repeat gets the same
        (S.BATCHED, False),  # in a rendered file, its control numbers spent
        (S.TRANSMITTED, False),
        (S.REJECTED, False),
    ],
)
def test_only_a_version_waiting_for_its_batch_can_be_withdrawn(
    status: ClaimSubmissionStatus, kept_back: bool
) -> None:
    assert withdrawable(status) is kept_back


def test_every_submission_status_is_decided() -> None:
    assert {s.value for s in S} == {
        "PENDING",
        "BATCHED",
        "TRANSMITTED",
        "REJECTED",
        "WITHDRAWN",
    }
