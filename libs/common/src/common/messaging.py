"""Broker side of a service: topology, the confirmed publisher the outbox relay uses, and
the consumer that turns deliveries into handler calls guarded by the inbox.

Failure policy (SPEC 8, 9):
- malformed JSON, an invalid envelope, an unknown ``type`` or a ``data`` that fails its
  schema are dead-lettered at once, with the code and reason in the headers, and acked;
- a handler raising :class:`PermanentEventError` (an event for an unknown stay, dates out
  of order) is dead-lettered the same way; its transaction rolls back;
- any other exception is transient: the transaction rolls back, the delivery is nacked
  after a back-off and redelivered; after ``delivery_limit`` attempts the quorum queue
  dead-letters it itself.
"""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractChannel
from faststream.middlewares import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage
from faststream.rabbit.schemas import Channel, ExchangeType, QueueType
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pydantic import BaseModel, ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import UnitOfWork
from common.errors import DomainError
from common.inbox import claim_event
from common.logging import get_logger, safe_validation_errors
from common.metrics import (
    HANDLER_SECONDS,
    MESSAGES_CONSUMED,
    MESSAGES_DEAD_LETTERED,
    MESSAGES_FAILED,
)
from common.telemetry import (
    context_from_headers,
    context_from_traceparent,
    inject_headers,
    trace_ids,
    tracer,
)
from contracts import topology as names
from contracts.envelope import CONTENT_TYPE, CloudEvent
from contracts.topology import Topology

log = get_logger(__name__)


class PermanentEventError(Exception):
    """The event is well formed but can never be applied (retrying will not help)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class HandlerContext:
    event: CloudEvent
    data: BaseModel
    uow: UnitOfWork
    #: False while a retryable refusal (NotYetKnown) will still be retried; a handler that
    #: answers refusals with an event (instead of raising) waits for the last attempt.
    final_attempt: bool = True

    @property
    def session(self) -> AsyncSession:
        return self.uow.session

    @property
    def tenant_id(self) -> str:
        return self.event.tenantid


EventHandler = Callable[[HandlerContext], Awaitable[None]]
#: Whether an event's (validated) data concerns the service at all; one that does not is
#: acknowledged as ``ignored`` without a transaction (nor an inbox row).
EventFilter = Callable[[Any], bool]


@dataclass
class EventHandlers:
    """Which handler applies which event type, and the data model that validates it."""

    handlers: dict[str, tuple[type[BaseModel], EventHandler]] = field(default_factory=dict)
    filters: dict[str, EventFilter] = field(default_factory=dict)

    def register(
        self,
        event_type: str,
        model: type[BaseModel],
        handler: EventHandler,
        *,
        applies: EventFilter | None = None,
    ) -> None:
        """``applies``: for an event type the queue receives whole but the service acts on
        only in part (routing is by type), which events are its; the rest cost no
        transaction. It must judge from the event alone, never from stored state."""
        if event_type in self.handlers:
            raise ValueError(f"{event_type} already has a handler")
        self.handlers[event_type] = (model, handler)
        if applies is not None:
            self.filters[event_type] = applies

    def applies(self, event_type: str, data: BaseModel) -> bool:
        concerns = self.filters.get(event_type)
        return concerns is None or concerns(data)

    def on(self, event_type: str, model: type[BaseModel]) -> Callable[[EventHandler], EventHandler]:
        def decorator(handler: EventHandler) -> EventHandler:
            self.register(event_type, model, handler)
            return handler

        return decorator

    @property
    def routing_keys(self) -> list[str]:
        return sorted(self.handlers)


def queue_arguments(topology: Topology, service: str, delivery_limit: int) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": topology.dead_letter_exchange,
        "x-dead-letter-routing-key": topology.service_queue(service),
        # RabbitMQ 3.10-3.13 quorum queues have no delivery limit unless one is set.
        "x-delivery-limit": delivery_limit,
        # Dead-letter at least once: a poison message is never dropped on the way to the DLQ.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


async def declare_topology(
    channel: AbstractChannel,
    topology: Topology,
    service: str,
    routing_keys: Iterable[str],
    delivery_limit: int = names.DELIVERY_LIMIT,
) -> None:
    """Declare the exchanges, the service's quorum queue with its bindings, and its DLQ.
    Idempotent; run by every replica at start and by the ``migrate`` command."""
    events = await channel.declare_exchange(
        topology.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    dlx = await channel.declare_exchange(
        topology.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    dlq = await channel.declare_queue(
        topology.dead_letter_queue(service),
        durable=True,
        arguments={"x-queue-type": "quorum"},
    )
    await dlq.bind(dlx, routing_key=topology.service_queue(service))
    queue = await channel.declare_queue(
        topology.service_queue(service),
        durable=True,
        arguments=queue_arguments(topology, service, delivery_limit),
    )
    for key in routing_keys:
        await queue.bind(events, routing_key=key)


async def declare_topology_at(
    amqp_url: str, topology: Topology, service: str, routing_keys: Iterable[str], limit: int
) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await declare_topology(channel, topology, service, routing_keys, limit)


class BrokerEventPublisher:
    """Publishes CloudEvents to the events exchange with publisher confirms."""

    def __init__(self, broker: RabbitBroker, topology: Topology, *, timeout: float = 10.0) -> None:
        self._broker = broker
        self._timeout = timeout
        self._exchange = RabbitExchange(
            topology.events_exchange, type=ExchangeType.TOPIC, durable=True, declare=False
        )

    async def publish(self, event: CloudEvent) -> None:
        # The whole call, not only the confirm: while the robust connection is
        # reconnecting, aio-pika waits for it without limit, and the relay would hold its
        # transaction (and the rows' locks) for as long as the broker is down.
        async with asyncio.timeout(self._timeout):
            await self._publish(event)

    async def _publish(self, event: CloudEvent) -> None:
        # Under the context stored with the event when it was written (not the relay's):
        # the producer span continues the trace of the change that caused the event.
        with tracer().start_as_current_span(
            f"{event.type} publish",
            context=context_from_traceparent(event.traceparent),
            kind=SpanKind.PRODUCER,
            attributes={
                **message_attributes(event),
                "messaging.operation.type": "send",
                "messaging.destination.name": self._exchange.name,
            },
        ):
            headers: dict[str, Any] = {
                names.HEADER_TENANT: event.tenantid,
                names.HEADER_CORRELATION: event.correlationid or event.id,
            }
            inject_headers(headers)
            await self._broker.publish(
                event.to_json(),
                exchange=self._exchange,
                routing_key=event.type,
                persist=True,
                mandatory=False,
                message_id=event.id,
                correlation_id=event.correlationid or event.id,
                content_type=CONTENT_TYPE,
                headers=headers,
                timeout=10,
            )


def message_attributes(event: CloudEvent) -> dict[str, str]:
    """Span attributes of an event: ids only (never its data, which may hold PHI)."""
    return {
        "messaging.system": "rabbitmq",
        "messaging.message.id": event.id,
        "messaging.rabbitmq.destination.routing_key": event.type,
        "cloudevents.event_id": event.id,
        "cloudevents.event_type": event.type,
        "cloudevents.event_source": event.source,
        "rcm.tenant_id": event.tenantid,
        "rcm.correlation_id": event.correlationid or event.id,
    }


# SQLSTATE classes of a database that is unreachable, restarting, full or that chose this
# transaction as a victim: none says anything about the event.
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "40001", "40P01")
_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.EPIPE,
}


def infrastructure_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the database or the network is down,
    restarting or out of connections, not that the event is wrong."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | TimeoutError | socket.gaierror):
            return True
        if isinstance(current, OSError) and current.errno in _NETWORK_ERRNOS:
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (sa_exc.OperationalError, sa_exc.TimeoutError)):
            return True
        if isinstance(current, asyncpg.PostgresConnectionError | asyncpg.InterfaceError):
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


# How long one delivery waits in place for the database before it is handed back to the
# queue like any failure (and counted against the delivery limit).
INFRASTRUCTURE_WAIT_SECONDS = 300.0


def retry_delay(delivery_count: int) -> float:
    """Back-off before handing a transiently failed delivery back to the queue."""
    return float(min(10.0, 0.2 * (2**delivery_count)))


class EventConsumer:
    """Consumes the service queue and applies each event once."""

    def __init__(
        self,
        *,
        service: str,
        topology: Topology,
        handlers: EventHandlers,
        sessionmaker: async_sessionmaker[AsyncSession],
        prefetch: int,
        on_committed: Callable[[], None] | None = None,
        delivery_limit: int = names.DELIVERY_LIMIT,
    ) -> None:
        self.service = service
        self.delivery_limit = delivery_limit
        self.topology = topology
        self.handlers = handlers
        self._sessionmaker = sessionmaker
        self._prefetch = prefetch
        self._on_committed = on_committed
        self._broker: RabbitBroker | None = None

    def attach(self, broker: RabbitBroker) -> None:
        self._broker = broker
        queue = RabbitQueue(
            self.topology.service_queue(self.service),
            queue_type=QueueType.QUORUM,
            durable=True,
            declare=False,  # declared with its arguments and bindings by declare_topology
        )
        subscriber = broker.subscriber(
            queue,
            channel=Channel(prefetch_count=self._prefetch),
            ack_policy=AckPolicy.MANUAL,
            title=f"{self.service}:events",
            description=(
                f"The {self.service} service's queue, bound to: "
                + ", ".join(self.handlers.routing_keys)
            ),
        )

        async def on_delivery(message: RabbitMessage) -> None:
            await self.process(message)

        subscriber(on_delivery)

    async def process(self, message: Any) -> None:
        try:
            await self._process_in_span(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # E.g. the dead-letter copy could not be published. The subscriber acks
            # manually, so a delivery left here would stay unacked (and hold a prefetch
            # slot) until the channel closes: hand it back to be tried again instead.
            count = delivery_count(message)
            log.warning(
                "event_delivery_failed_will_retry",
                delivery_count=count,
                error_type=type(exc).__name__,
            )
            await asyncio.sleep(retry_delay(count))
            await message.nack(requeue=True)

    async def _process_in_span(self, message: Any) -> None:
        raw = message.raw_message
        routing_key = getattr(raw, "routing_key", "") or ""
        # The producer's span travels in the message headers; an event published by a
        # system outside the suite may carry it in its envelope only (``traceparent``).
        parent = context_from_headers(getattr(raw, "headers", None)) or (
            context_from_traceparent(envelope_traceparent(message.body))
        )
        with tracer().start_as_current_span(
            f"{routing_key or 'event'} process",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "process",
                "messaging.destination.name": self.topology.service_queue(self.service),
                "messaging.rabbitmq.destination.routing_key": routing_key,
                "rcm.service": self.service,
            },
        ) as span:
            await self._process(message, span)

    async def _process(self, message: Any, span: Span) -> None:
        raw = message.raw_message
        routing_key = getattr(raw, "routing_key", "") or ""
        try:
            document = json.loads(message.body)
            if not isinstance(document, dict):
                raise ValueError("the body is not a JSON object")
        except (ValueError, UnicodeDecodeError) as exc:
            await self._dead_letter(message, "MALFORMED_JSON", str(exc)[:300], routing_key)
            return
        try:
            event = CloudEvent.model_validate(document)
        except ValidationError as exc:
            await self._dead_letter(
                message, "INVALID_ENVELOPE", json.dumps(safe_validation_errors(exc)), routing_key
            )
            return
        span.update_name(f"{event.type} process")
        span.set_attributes(message_attributes(event))
        registered = self.handlers.handlers.get(event.type)
        if registered is None:
            await self._dead_letter(
                message, "UNKNOWN_EVENT_TYPE", f"no handler for {event.type}", routing_key, event
            )
            return
        model, handler = registered
        try:
            data = model.model_validate(event.data)
        except ValidationError as exc:
            await self._dead_letter(
                message,
                "SCHEMA_INVALID",
                json.dumps(safe_validation_errors(exc)),
                routing_key,
                event,
            )
            return

        bound = structlog.contextvars.bound_contextvars(
            event_id=event.id,
            event_type=event.type,
            tenant_id=event.tenantid,
            correlation_id=event.correlationid or event.id,
            **trace_ids(),
        )
        with bound:
            await self._apply(message, event, data, handler, routing_key)

    async def _apply(
        self,
        message: Any,
        event: CloudEvent,
        data: BaseModel,
        handler: EventHandler,
        routing_key: str,
    ) -> None:
        started = time.perf_counter()
        if not self.handlers.applies(event.type, data):
            await self._acknowledge(message, event, "ignored", started)
            return
        waited, attempt = 0.0, 0
        while True:
            try:
                outcome = await self._attempt(message, event, data, handler)
                break
            except PermanentEventError as exc:
                await self._dead_letter(message, exc.code, exc.reason, routing_key, event)
                return
            except DomainError as exc:
                if not (exc.retryable and delivery_count(message) < self.delivery_limit):
                    await self._dead_letter(message, exc.code, exc.message, routing_key, event)
                    return
                # An event about something not recorded yet (it may be on its way, out of
                # order): retry with back-off; dead-lettered with its code on the last attempt.
                await self._retry_later(message, event, exc)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if infrastructure_unavailable(exc) and waited < INFRASTRUCTURE_WAIT_SECONDS:
                    # The database (or the network to it) is down or full, not the event
                    # wrong: wait here, the delivery held, instead of handing it back to
                    # the queue, which counts each return against the delivery limit and
                    # would dead-letter a valid event during a long enough outage.
                    attempt += 1
                    pause = min(5.0, 0.2 * 2**attempt)
                    MESSAGES_FAILED.labels(
                        self.service, self._type_label(event), "INFRASTRUCTURE_UNAVAILABLE"
                    ).inc()
                    log.warning(
                        "event_waiting_for_infrastructure",
                        attempt=attempt,
                        waited_seconds=round(waited, 1),
                        error_type=type(exc).__name__,
                    )
                    await asyncio.sleep(pause)
                    waited += pause
                    continue
                await self._retry_later(message, event, exc)
                return
        await self._acknowledge(message, event, outcome, started)
        if outcome == "applied" and self._on_committed is not None:
            self._on_committed()

    async def _acknowledge(
        self, message: Any, event: CloudEvent, outcome: str, started: float
    ) -> None:
        HANDLER_SECONDS.labels(self.service, event.type).observe(time.perf_counter() - started)
        MESSAGES_CONSUMED.labels(self.service, event.type, outcome).inc()
        trace.get_current_span().set_attribute("rcm.outcome", outcome)
        log.info("event_" + outcome)
        await message.ack()

    async def _attempt(
        self, message: Any, event: CloudEvent, data: BaseModel, handler: EventHandler
    ) -> str:
        """One transaction: the inbox claim and the handler's effect, committed together."""
        uow = UnitOfWork(
            self._sessionmaker,
            source=f"rcm/{self.service}",
            correlation_id=event.correlationid or event.id,
            causation_id=event.id,
        )
        async with uow:
            if not await claim_event(uow.session, self.service, event):
                await uow.rollback()
                return "duplicate"
            context = HandlerContext(
                event=event,
                data=data,
                uow=uow,
                final_attempt=delivery_count(message) >= self.delivery_limit,
            )
            await handler(context)
            await uow.commit()
            return "applied"

    async def _retry_later(self, message: Any, event: CloudEvent, exc: Exception) -> None:
        count = delivery_count(message)
        code = str(getattr(exc, "code", None) or type(exc).__name__)
        MESSAGES_CONSUMED.labels(self.service, self._type_label(event), "retried").inc()
        MESSAGES_FAILED.labels(self.service, self._type_label(event), code).inc()
        span = trace.get_current_span()
        span.set_status(Status(StatusCode.ERROR, code))
        span.set_attribute("rcm.error_code", code)
        log.warning(
            "event_failed_will_retry",
            delivery_count=count,
            error_type=type(exc).__name__,
            code=getattr(exc, "code", None),
            exc_info=exc,
        )
        await asyncio.sleep(retry_delay(count))
        await message.nack(requeue=True)

    def _type_label(self, event: CloudEvent | None) -> str:
        """A metric label: the event's type when this service handles it. A type off the
        feed that nobody handles is not a label of its own (unbounded series)."""
        if event is None:
            return "unparsed"
        return event.type if event.type in self.handlers.handlers else "unknown"

    async def _dead_letter(
        self,
        message: Any,
        code: str,
        reason: str,
        routing_key: str,
        event: CloudEvent | None = None,
    ) -> None:
        assert self._broker is not None
        raw = message.raw_message
        headers = dict(getattr(raw, "headers", None) or {})
        headers.update(
            {
                names.HEADER_ERROR_CODE: code,
                names.HEADER_ERROR_REASON: reason[:2000],
                names.HEADER_ORIGINAL_ROUTING_KEY: routing_key,
                names.HEADER_SERVICE: self.service,
                # The DLQ is a quorum queue too and restarts x-delivery-count: keep how
                # many times this service tried.
                names.HEADER_ATTEMPTS: delivery_count(message) + 1,
            }
        )
        if event is not None:
            headers[names.HEADER_TENANT] = event.tenantid
        # Bounded as a whole: aio-pika waits for a reconnecting connection without limit.
        async with asyncio.timeout(10):
            await self._broker.publish(
                message.body,
                exchange=RabbitExchange(
                    self.topology.dead_letter_exchange,
                    type=ExchangeType.DIRECT,
                    durable=True,
                    declare=False,
                ),
                routing_key=self.topology.service_queue(self.service),
                persist=True,
                headers=headers,
                message_id=getattr(raw, "message_id", None),
                content_type=getattr(raw, "content_type", None),
                timeout=10,
            )
        MESSAGES_DEAD_LETTERED.labels(self.service, self._type_label(event), code).inc()
        MESSAGES_CONSUMED.labels(self.service, self._type_label(event), "dead_lettered").inc()
        span = trace.get_current_span()
        span.set_status(Status(StatusCode.ERROR, code))
        span.set_attribute("rcm.error_code", code)
        log.warning(
            "event_dead_lettered",
            code=code,
            event_id=event.id if event else None,
            event_type=event.type if event else None,
            routing_key=routing_key,
        )
        # Only after the dead-letter copy is confirmed: nothing is lost between the two.
        await message.ack()


def envelope_traceparent(body: bytes) -> str | None:
    """The envelope's ``traceparent`` extension, if the body is a JSON object with one."""
    if b'"traceparent"' not in body:
        return None
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    value = document.get("traceparent") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def delivery_count(message: Any) -> int:
    headers = getattr(message.raw_message, "headers", None) or {}
    value = headers.get("x-delivery-count", 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
