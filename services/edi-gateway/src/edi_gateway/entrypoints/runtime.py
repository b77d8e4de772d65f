"""The gateway's runtime: the shared service runtime plus what its routes and background
work use and the composition root picks, carried per app (two runtimes in one process,
as in tests, share nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from common.http.problems import Problem
from common.runtime import ServiceRuntime
from edi_gateway.service_layer.acknowledgments import AcknowledgmentReader
from edi_gateway.service_layer.preview import InterchangePreviewer


@dataclass(kw_only=True)
class GatewayRuntime(ServiceRuntime):
    acknowledgment_reader: AcknowledgmentReader
    #: Renders the dry run's 837 with the batcher's renderers, validator and delimiters.
    previewer: InterchangePreviewer | None = None


def gateway_runtime(request: Request) -> GatewayRuntime:
    runtime = request.app.state.runtime
    if not isinstance(runtime, GatewayRuntime):
        raise Problem(503, "ACKNOWLEDGMENTS_NOT_CONFIGURED", "No acknowledgment reader")
    return runtime


def acknowledgment_reader(request: Request) -> AcknowledgmentReader:
    """The reader the app's runtime applies hand-uploaded files with (a dependency)."""
    return gateway_runtime(request).acknowledgment_reader


def interchange_previewer(request: Request) -> InterchangePreviewer:
    """The previewer the app's runtime renders dry runs with (a dependency)."""
    runtime = request.app.state.runtime
    previewer = runtime.previewer if isinstance(runtime, GatewayRuntime) else None
    if previewer is None:
        raise Problem(503, "PREVIEW_NOT_CONFIGURED", "No interchange previewer")
    return previewer
