"""US postal address, as the 837's N3/N4 segments carry it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from contracts.codes import PostalCode, UsState


class PostalAddress(BaseModel):
    # Events read tolerantly (unknown keys ignored); the tenant configuration subclasses
    # this with extra="forbid" so that a misspelt key is an error there.
    model_config = ConfigDict(frozen=True, extra="ignore")

    line1: str = Field(min_length=1, max_length=55)
    line2: str | None = Field(default=None, min_length=1, max_length=55)
    city: str = Field(min_length=2, max_length=30)
    state: UsState
    postal_code: PostalCode
