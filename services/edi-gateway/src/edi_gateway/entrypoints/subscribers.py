"""Inbound events of the edi-gateway.

None yet: claim ready / void arrive with 837 rendering. The runtime still declares the
gateway's queue (with no bindings) so that adding a handler is the only change then."""

from __future__ import annotations

from common.messaging import EventHandlers


def build_handlers() -> EventHandlers:
    return EventHandlers()
