"""Broker topology names shared by every service.

One durable topic exchange carries every event (routing key = CloudEvent ``type``); one
durable quorum queue per consuming service; one dead-letter exchange with a dead-letter
queue per service. A ``prefix`` isolates a test run (or a second suite on one broker)."""

from __future__ import annotations

from dataclasses import dataclass

EVENTS_EXCHANGE = "rcm.events"
DEAD_LETTER_EXCHANGE = "rcm.dead-letter"
DELIVERY_LIMIT = 5

# Headers written on a dead-lettered message.
HEADER_ERROR_CODE = "x-rcm-error-code"
HEADER_ERROR_REASON = "x-rcm-error-reason"
HEADER_ORIGINAL_ROUTING_KEY = "x-rcm-original-routing-key"
HEADER_SERVICE = "x-rcm-service"
HEADER_ATTEMPTS = "x-rcm-attempts"
HEADER_TENANT = "x-rcm-tenant"
HEADER_CORRELATION = "x-correlation-id"


@dataclass(frozen=True)
class Topology:
    prefix: str = ""

    @property
    def events_exchange(self) -> str:
        return f"{self.prefix}{EVENTS_EXCHANGE}"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}{DEAD_LETTER_EXCHANGE}"

    def service_queue(self, service: str) -> str:
        return f"{self.prefix}rcm.{service}"

    def dead_letter_queue(self, service: str) -> str:
        return f"{self.prefix}rcm.{service}.dead-letter"
