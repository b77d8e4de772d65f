"""CloudEvents 1.0 envelope (structured JSON mode) with the `tenantid` extension.

Every message on the broker is one of these. `id` is the idempotency key; `type` is the
routing key and carries the version (``scheduling.group_session.scheduled.v1``).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

CONTENT_TYPE = "application/cloudevents+json"
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+\.v[0-9]+$")
TENANT_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 document. ``data`` stays a plain mapping here; the data model for
    ``type`` (see :mod:`contracts.events`) validates it separately so that an unknown type
    and an invalid payload are two different, coded failures."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=512)
    type: str = Field(min_length=3, max_length=200)
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    subject: str | None = Field(default=None, max_length=200)
    tenantid: str = Field(pattern=TENANT_PATTERN)
    # Extension attributes (lower-case alphanumerics per CloudEvents naming rules).
    correlationid: str | None = Field(default=None, max_length=128)
    causationid: str | None = Field(default=None, max_length=128)
    traceparent: str | None = Field(default=None, max_length=128)
    data: dict[str, Any]

    @field_validator("type")
    @classmethod
    def _versioned_type(cls, value: str) -> str:
        if not TYPE_PATTERN.match(value):
            raise ValueError("type must look like '<producer>.<aggregate>.<event>.v<N>'")
        return value

    @field_validator("time")
    @classmethod
    def _aware_time(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a UTC offset (RFC 3339)")
        return value

    @classmethod
    def new(
        cls,
        *,
        type: str,
        source: str,
        tenantid: str,
        data: BaseModel | dict[str, Any],
        subject: str | None = None,
        correlationid: str | None = None,
        causationid: str | None = None,
        id: str | None = None,
        time: datetime | None = None,
    ) -> CloudEvent:
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
        return cls(
            id=id or str(uuid.uuid4()),
            source=source,
            type=type,
            time=time or datetime.now(UTC),
            tenantid=tenantid,
            subject=subject,
            correlationid=correlationid,
            causationid=causationid,
            data=payload,
        )

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()
