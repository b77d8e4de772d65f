"""The HL7 v2 ADT feed over MLLP: one TCP listener (the ``hl7`` package's asyncio MLLP
server), one acknowledgment per message.

Each message is mapped to the EHR feed's own stay event (``mapping``) and applied by the
same handler the JSON event runs, in one transaction with the inbox row of its control id
(MSH-10, per tenant and sending facility): a message sent twice is applied once and
acknowledged AA twice. AA applied; AE a stay rule refuses it (the rule's code); AR it
cannot be read, lacks a field, is not ours, or could not be processed now (send again).
Logged by control id and message type only, never a field of the message."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from hl7.mllp import InvalidBlockError, start_hl7_server
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from common.db import UnitOfWork, utcnow
from common.errors import DomainError
from common.inbox import claim_event
from common.logging import get_logger
from common.messaging import EventHandlers, HandlerContext
from contracts.envelope import CloudEvent
from stays.domain import errors
from stays.entrypoints.adt_feed.mapping import (
    LeaveStayEvent,
    SenderDirectory,
    StayEvent,
    map_adt,
    refusal_of,
)
from stays.entrypoints.adt_feed.messages import (
    APPLICATION_INTERNAL_ERROR,
    HL7_INTERNAL_ERROR,
    HL7_UNPARSEABLE,
    SEGMENT_SEQUENCE_ERROR,
    UNKNOWN_KEY_IDENTIFIER,
    AckCode,
    AdtRefusal,
    Hl7Header,
    Receiver,
    acknowledgment,
    parse_message,
)
from stays.service_layer.leaves import leave_referred_to

log = get_logger(__name__)

HL7_MESSAGES = Counter(
    "rcm_hl7_messages_total",
    "HL7 v2 messages acknowledged, by message type and MSA-1 code",
    ["service", "message_type", "ack_code"],
)

#: The inbox consumer of the HL7 feed: its rows are the control ids applied.
FEED_CONSUMER = "stays.hl7-adt"
_TRIGGERS_COUNTED = frozenset(
    {"A01", "A03", "A04", "A05", "A11", "A13", "A21", "A22", "A52", "A53"}
)
_UNKNOWN_CODES = frozenset({errors.STAY_UNKNOWN, errors.LEAVE_UNKNOWN})


def control_key(tenant_id: str, sending_facility: str, control_id: str) -> str:
    """The inbox id (and CloudEvent id) of a message: its control id, per tenant and
    sending facility."""
    key = f"hl7:{tenant_id}:{sending_facility}:{control_id}"
    if len(key) <= 128:
        return key
    return f"hl7:{tenant_id}:" + hashlib.sha256(key.encode()).hexdigest()


def _decode(block: bytes) -> str:
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        return block.decode("latin-1")


def _counted_type(header: Hl7Header | None) -> str:
    if header is None:
        return "UNREADABLE"
    if header.message_code == "ADT" and header.trigger_event in _TRIGGERS_COUNTED:
        return header.message_type
    return "OTHER"


class AdtFeed:
    """Answers one ADT message: maps it, applies it, and builds its acknowledgment."""

    def __init__(
        self,
        *,
        service: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        handlers: EventHandlers,
        senders: SenderDirectory,
        receiver: Receiver,
        on_committed: Callable[[], None] | None = None,
    ) -> None:
        self._service = service
        self._sessionmaker = sessionmaker
        self._handlers = handlers
        self._senders = senders
        self._receiver = receiver
        self._on_committed = on_committed

    async def answer(self, block: bytes) -> bytes:
        """The acknowledgment of one MLLP block (never raises but for cancellation)."""
        received_at = utcnow()
        header: Hl7Header | None = None
        refusal: AdtRefusal | None = None
        outcome = "refused"
        tenant_id: str | None = None
        try:
            message = parse_message(_decode(block))
            header = message.header
            tenant = self._senders.tenant_of(header.sending_facility)
            tenant_id = tenant.tenant_id
            instruction = map_adt(message, tenant, received_at=received_at)
            outcome = await self._apply(tenant_id, header, instruction, received_at)
        except AdtRefusal as exc:
            refusal = exc
        except DomainError as exc:
            refusal = AdtRefusal(
                AckCode.ERROR,
                exc.code,
                exc.message,
                condition=(
                    UNKNOWN_KEY_IDENTIFIER
                    if exc.code in _UNKNOWN_CODES
                    else APPLICATION_INTERNAL_ERROR
                ),
            )
        except ValidationError as exc:
            refusal = refusal_of(exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The database or the tenant data failed us, not the message: AR, send again.
            # No traceback: its text may quote the message, and a message holds PHI.
            log.warning("hl7_message_failed", error_type=type(exc).__name__)
            refusal = AdtRefusal(
                AckCode.REJECT,
                HL7_INTERNAL_ERROR,
                "the message could not be processed now; send it again",
            )
        ack = AckCode.ACCEPT if refusal is None else refusal.ack
        HL7_MESSAGES.labels(self._service, _counted_type(header), ack.value).inc()
        log.info(
            "hl7_message_acknowledged",
            control_id=header.control_id if header else None,
            message_type=header.message_type if header else None,
            sending_facility=header.sending_facility if header else None,
            tenant_id=tenant_id,
            ack_code=ack.value,
            code=refusal.code if refusal else None,
            outcome=outcome,
        )
        text = acknowledgment(header, ack, receiver=self._receiver, refusal=refusal)
        return text.encode("utf-8")

    def unreadable(self, why: str) -> bytes:
        """The AR of a frame that is not an MLLP block (or too long to take)."""
        refusal = AdtRefusal(AckCode.REJECT, HL7_UNPARSEABLE, why, condition=SEGMENT_SEQUENCE_ERROR)
        HL7_MESSAGES.labels(self._service, "UNREADABLE", refusal.ack.value).inc()
        log.info("hl7_message_acknowledged", ack_code=refusal.ack.value, code=refusal.code)
        return acknowledgment(None, refusal.ack, receiver=self._receiver, refusal=refusal).encode()

    async def _apply(
        self,
        tenant_id: str,
        header: Hl7Header,
        instruction: StayEvent | LeaveStayEvent,
        received_at: datetime,
    ) -> str:
        event_id = control_key(tenant_id, header.sending_facility, header.control_id)
        source = f"hl7/{header.sending_facility}"
        bound = structlog.contextvars.bound_contextvars(
            event_id=event_id, tenant_id=tenant_id, correlation_id=event_id
        )
        with bound:
            uow = UnitOfWork(
                self._sessionmaker,
                source=f"rcm/{self._service}",
                correlation_id=event_id,
                causation_id=event_id,
            )
            async with uow:
                claim = CloudEvent.new(
                    type=instruction.event_type,
                    source=source,
                    tenantid=tenant_id,
                    data={},
                    id=event_id,
                    time=received_at,
                )
                if not await claim_event(uow.session, FEED_CONSUMER, claim):
                    await uow.rollback()
                    return "duplicate"
                if isinstance(instruction, StayEvent):
                    data = instruction.data
                else:
                    leave = await leave_referred_to(
                        uow, tenant_id, instruction.stay_id, instruction.reference
                    )
                    data = instruction.build(leave)
                event = CloudEvent.new(
                    type=instruction.event_type,
                    source=source,
                    tenantid=tenant_id,
                    data=data,
                    id=event_id,
                    time=received_at,
                )
                # The handler the JSON event of this type runs: one path for both feeds.
                _, handler = self._handlers.handlers[instruction.event_type]
                await handler(HandlerContext(event=event, data=data, uow=uow))
                await uow.commit()
        if self._on_committed is not None:
            self._on_committed()
        return "applied"


@dataclass
class _Connection:
    writer: Any
    busy: bool = False


@dataclass
class MllpListener:
    """Serves the feed on ``host:port`` until cancelled; then it stops accepting, lets a
    message being applied finish (up to ``grace_seconds``), and closes every connection."""

    feed: AdtFeed
    host: str
    port: int
    max_message_bytes: int = 1_048_576
    grace_seconds: float = 10.0
    serving: bool = False
    bound_port: int | None = None
    _connections: dict[asyncio.Task[Any], _Connection] = field(default_factory=dict)
    _stopping: bool = False

    async def run(self) -> None:
        try:
            server = await start_hl7_server(
                self._serve_connection, self.host, self.port, limit=self.max_message_bytes
            )
        except OSError as exc:
            # Readiness stays false (the listener never serves); say why once, here.
            log.error("hl7_listener_failed", port=self.port, error_type=type(exc).__name__)
            raise
        sockets = server.sockets or ()
        self.bound_port = sockets[0].getsockname()[1] if sockets else self.port
        self.serving = True
        log.info("hl7_listener_started", port=self.bound_port)
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            self.serving = False
            self._stopping = True
            server.close()
            await self._close_connections()
            log.info("hl7_listener_stopped")

    async def _close_connections(self) -> None:
        for connection in self._connections.values():
            if not connection.busy:
                connection.writer.close()
        tasks = list(self._connections)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.grace_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _serve_connection(self, reader: Any, writer: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        connection = _Connection(writer)
        self._connections[task] = connection
        try:
            while not self._stopping:
                try:
                    block: bytes = await reader.readblock()
                except (asyncio.IncompleteReadError, ConnectionError):
                    break  # the sender closed the connection (or we did, stopping)
                except InvalidBlockError:
                    writer.writeblock(self.feed.unreadable("the frame has no MLLP start block"))
                    await writer.drain()
                    continue
                except ValueError:
                    writer.writeblock(
                        self.feed.unreadable(
                            f"the message is longer than {self.max_message_bytes} bytes"
                        )
                    )
                    await writer.drain()
                    continue
                connection.busy = True
                try:
                    ack = await self.feed.answer(block)
                finally:
                    connection.busy = False
                writer.writeblock(ack)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._connections.pop(task, None)
            writer.close()
