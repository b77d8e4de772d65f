"""Counts claim status changes when their transaction commits: a change recorded in a
transaction that rolls back (a dry run, a failure) never happened, so it is not counted.

The changes wait in the session's ``info`` until SQLAlchemy's ``after_commit``."""

from __future__ import annotations

from typing import Final

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from claims.service_layer.metrics import STATUS_TRANSITIONS

_PENDING: Final = "rcm_claim_status_transitions"


def count_on_commit(session: AsyncSession, status: str) -> None:
    session.info.setdefault(_PENDING, []).append(status)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for status in session.info.pop(_PENDING, []):
        STATUS_TRANSITIONS.labels(status).inc()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
