"""The broker side of the CLI: peek at and replay dead letters, publish a feed.

Peeking takes each message of a dead-letter queue without acknowledging it, holds it
until the whole queue was read (so it is not served twice) and rejects it with requeue.
Replaying publishes a copy to the events exchange with its original routing key on a
channel with publisher confirms and ``mandatory`` (an unroutable copy is an error), and
acknowledges the dead letter only once the broker confirmed the copy."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from contracts import topology as names
from contracts.envelope import CONTENT_TYPE, CloudEvent
from contracts.topology import Topology

SERVICES = ("attendance", "stays", "charges", "claims", "edi-gateway")

# Headers of a dead letter that describe its failure, not the event: not copied on replay.
FAILURE_HEADERS = (
    names.HEADER_ERROR_CODE,
    names.HEADER_ERROR_REASON,
    names.HEADER_ORIGINAL_ROUTING_KEY,
    names.HEADER_SERVICE,
    names.HEADER_ATTEMPTS,
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-exchange",
    "x-last-death-queue",
    "x-last-death-reason",
    "x-delivery-count",
)


@dataclass(frozen=True)
class DeadLetter:
    """What an operator may see of a dead letter: never its payload."""

    service: str
    event_id: str | None
    event_type: str | None
    tenant: str | None
    error_code: str | None
    reason: str | None
    routing_key: str | None
    attempts: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "id": self.event_id,
            "type": self.event_type,
            "tenant": self.tenant,
            "error_code": self.error_code,
            "reason": self.reason,
            "routing_key": self.routing_key,
            "attempts": self.attempts,
        }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _envelope_fields(body: bytes) -> dict[str, Any]:
    """id, type and tenant from the body when it is a JSON object (the payload stays unread)."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(document, dict):
        return {}
    return {
        k: document.get(k) for k in ("id", "type", "tenantid") if isinstance(document.get(k), str)
    }


def _death(headers: dict[str, Any]) -> dict[str, Any]:
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        return deaths[0]
    return {}


def describe(service: str, message: AbstractIncomingMessage) -> DeadLetter:
    """Read a dead letter's headers (ours, or the queue's ``x-death`` when the delivery
    limit dead-lettered it) and the envelope's id, type and tenant."""
    headers = dict(message.headers or {})
    envelope = _envelope_fields(message.body)
    death = _death(headers)
    routing_key = _text(headers.get(names.HEADER_ORIGINAL_ROUTING_KEY))
    if not routing_key:
        keys = death.get("routing-keys")
        routing_key = _text(keys[0]) if isinstance(keys, list) and keys else None
    if not routing_key:
        routing_key = envelope.get("type")
    code = _text(headers.get(names.HEADER_ERROR_CODE))
    reason = _text(headers.get(names.HEADER_ERROR_REASON))
    if code is None and death:
        code = f"QUEUE_{str(_text(death.get('reason')) or 'dead_lettered').upper()}"
        reason = reason or f"dead-lettered by queue {_text(death.get('queue'))}"
    attempts = headers.get(names.HEADER_ATTEMPTS, death.get("count"))
    return DeadLetter(
        service=service,
        event_id=_text(message.message_id) or envelope.get("id"),
        event_type=envelope.get("type") or routing_key,
        tenant=_text(headers.get(names.HEADER_TENANT)) or envelope.get("tenantid"),
        error_code=code,
        reason=reason,
        routing_key=routing_key,
        attempts=int(attempts) if isinstance(attempts, int) else None,
    )


@asynccontextmanager
async def connected(amqp_url: str) -> AsyncIterator[AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(amqp_url, timeout=10)
    try:
        yield connection
    finally:
        await connection.close()


async def _take_all(channel: AbstractChannel, queue_name: str) -> list[AbstractIncomingMessage]:
    """Every message the queue held when we looked, unacknowledged (held by this channel).
    Bounded by the count at the start: a message dead-lettered meanwhile waits its turn."""
    queue = await channel.declare_queue(queue_name, passive=True)
    held: list[AbstractIncomingMessage] = []
    for _ in range(queue.declaration_result.message_count or 0):
        message = await queue.get(no_ack=False, fail=False, timeout=10)
        if message is None:
            break
        held.append(message)
    return held


async def peek_dead_letters(amqp_url: str, topology: Topology, service: str) -> list[DeadLetter]:
    async with connected(amqp_url) as connection:
        channel = await connection.channel()
        held = await _take_all(channel, topology.dead_letter_queue(service))
        try:
            return [describe(service, message) for message in held]
        finally:
            for message in held:
                await message.reject(requeue=True)


@dataclass(frozen=True)
class Replayed:
    dead_letter: DeadLetter
    exchange: str


async def replay_dead_letters(
    amqp_url: str,
    topology: Topology,
    service: str,
    *,
    event_ids: Sequence[str] | None,
    on_replayed: Callable[[Replayed], None],
) -> list[Replayed]:
    """Republish the dead letters whose id is in ``event_ids`` (every one when None) to the
    events exchange; each is removed from the DLQ only after the broker confirmed its copy
    (``on_replayed`` runs in between, so the audit line exists before the ack)."""
    replayed: list[Replayed] = []
    async with connected(amqp_url) as connection:
        consume = await connection.channel()
        publish = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await publish.get_exchange(topology.events_exchange, ensure=True)
        held = await _take_all(consume, topology.dead_letter_queue(service))
        try:
            for message in list(held):
                letter = describe(service, message)
                if event_ids is not None and letter.event_id not in event_ids:
                    continue
                if not letter.routing_key:
                    raise ReplayError(f"{letter.event_id}: no routing key to replay it with")
                headers = {
                    k: v for k, v in (message.headers or {}).items() if k not in FAILURE_HEADERS
                }
                await exchange.publish(
                    aio_pika.Message(
                        message.body,
                        headers=headers,
                        message_id=message.message_id,
                        correlation_id=message.correlation_id,
                        content_type=message.content_type or CONTENT_TYPE,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=letter.routing_key,
                    mandatory=True,
                    timeout=10,
                )
                done = Replayed(letter, exchange.name)
                on_replayed(done)
                await message.ack()
                held.remove(message)
                replayed.append(done)
        finally:
            for message in held:
                await message.reject(requeue=True)
    return replayed


class ReplayError(RuntimeError):
    pass


async def publish_events(
    amqp_url: str, topology: Topology, events: Sequence[tuple[CloudEvent, bytes]]
) -> list[str]:
    """Publish each event's original line as a producer would, confirmed; answer the
    problems (``id: unroutable``) of events the broker could not route."""
    problems: list[str] = []
    async with connected(amqp_url) as connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(topology.events_exchange, ensure=True)
        for event, body in events:
            try:
                await exchange.publish(
                    aio_pika.Message(
                        body,
                        message_id=event.id,
                        content_type=CONTENT_TYPE,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        headers={
                            names.HEADER_TENANT: event.tenantid,
                            names.HEADER_CORRELATION: event.correlationid or event.id,
                        },
                    ),
                    routing_key=event.type,
                    mandatory=True,
                    timeout=10,
                )
            except aio_pika.exceptions.PublishError:
                problems.append(f"{event.id}: no queue is bound to {event.type}")
    return problems
