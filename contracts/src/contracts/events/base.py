"""The base of every event data model and of the parts they are built from."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class ContractModel(BaseModel):
    """Frozen, and a tolerant reader: unknown keys are ignored, because within a version a
    producer may add optional fields and a consumer must accept both old and new messages
    (SPEC 8, STYLE 4). Producers are held to the JSON Schemas and golden samples instead."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class EventData(ContractModel):
    """The ``data`` of one CloudEvent type; ``event_type`` is that type string."""

    event_type: ClassVar[str]
