"""The HTTP control API: switches, outages, and what was received and answered. No
authentication; it listens on localhost unless told otherwise."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from clearinghouse_sandbox.sandbox import Sandbox


class SwitchesIn(BaseModel):
    """``PUT /switches``: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    reject_pattern: str | None = None
    delay_seconds: float | None = Field(default=None, ge=0)
    payer_277ca: bool | None = None
    upload_delay_seconds: float | None = Field(default=None, ge=0)

    @field_validator("reject_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
        return value


class OutageIn(BaseModel):
    seconds: float = Field(gt=0, le=86_400)


def control_app(sandbox: Sandbox) -> FastAPI:
    app = FastAPI(title="clearinghouse sandbox control", docs_url=None, redoc_url=None)

    def switches() -> dict[str, Any]:
        current = sandbox.switches
        until = sandbox.outage_until
        return {
            "reject_pattern": current.reject_pattern,
            "delay_seconds": current.delay_seconds,
            "payer_277ca": current.payer_277ca,
            "upload_delay_seconds": current.upload_delay_seconds,
            "outage": until is not None,
            "outage_until": until.isoformat() if until else None,
        }

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "sftp_port": sandbox.sftp_port, "outage": switches()["outage"]}

    @app.get("/switches")
    async def get_switches() -> dict[str, Any]:
        return switches()

    @app.put("/switches")
    async def put_switches(body: SwitchesIn) -> dict[str, Any]:
        try:
            sandbox.set_switches(**body.model_dump(exclude_unset=True))
        except (TypeError, ValueError, re.error) as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return switches()

    @app.post("/outage")
    async def start_outage(body: OutageIn) -> dict[str, Any]:
        await sandbox.outage(body.seconds)
        return switches()

    @app.delete("/outage")
    async def end_outage() -> dict[str, Any]:
        await sandbox.end_outage()
        return switches()

    @app.get("/received")
    async def received() -> dict[str, Any]:
        return {"items": [record.to_json() for record in sandbox.received()]}

    @app.get("/acknowledgments")
    async def acknowledgments() -> dict[str, Any]:
        return {"items": [ack.to_json() for ack in sandbox.acknowledgments()]}

    return app
