"""AsyncAPI 3.0 documents of the services, generated from the code.

    python -m common.asyncapi            # (re)write contracts/asyncapi/<service>.yaml
    python -m common.asyncapi --check    # exit 1 when a committed document is stale

What a service receives is what its composition root registers (``build_runtime()``'s
``EventHandlers``: event type -> data model); what it sends is the runtime's
``published_event_types`` (the contracts' types it produces). Payloads are the whole
CloudEvents 1.0 document (structured mode) with ``data`` described by the contract's
pydantic model, the same models ``contracts/schemas/`` is written from. A channel is the
events topic exchange with one routing key (the CloudEvent ``type``).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from contracts import topology as names
from contracts.envelope import CONTENT_TYPE, CloudEvent
from contracts.events import EVENT_DATA_MODELS

ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING_VERSION = "0.3.0"
DEFAULT_FOLDER = Path(__file__).resolve().parents[4] / "contracts" / "asyncapi"
SCHEMA_REF = "#/components/schemas/{model}"
HEADER = "# Generated from the code by `python -m common.asyncapi`: do not edit.\n"

#: The suite's services and the packages whose ``bootstrap.build_runtime()`` wires them.
SERVICES: dict[str, str] = {
    "attendance": "attendance",
    "stays": "stays",
    "charges": "charges",
    "claims": "claims",
    "edi-gateway": "edi_gateway",
}

TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
AMQP_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "AMQP application headers set by the outbox relay.",
    "properties": {
        names.HEADER_TENANT: {"type": "string", "description": "the CloudEvent's tenantid"},
        names.HEADER_CORRELATION: {
            "type": "string",
            "description": "correlation id: the first event's id, carried through the chain",
        },
        "traceparent": {
            "type": "string",
            "pattern": TRACEPARENT_PATTERN,
            "description": "W3C trace context of the publishing span (OpenTelemetry)",
        },
        "tracestate": {"type": "string", "description": "W3C trace state, when any"},
    },
}
DEAD_LETTER_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "The original message's headers, plus why it was dead-lettered.",
    "properties": {
        names.HEADER_ERROR_CODE: {
            "type": "string",
            "description": "stable code, e.g. SCHEMA_INVALID, UNKNOWN_EVENT_TYPE",
        },
        names.HEADER_ERROR_REASON: {"type": "string", "description": "reason, without PHI"},
        names.HEADER_ORIGINAL_ROUTING_KEY: {"type": "string"},
        names.HEADER_SERVICE: {"type": "string"},
        names.HEADER_ATTEMPTS: {"type": "integer", "minimum": 1},
        names.HEADER_TENANT: {"type": "string"},
    },
    "required": [
        names.HEADER_ERROR_CODE,
        names.HEADER_ERROR_REASON,
        names.HEADER_ORIGINAL_ROUTING_KEY,
        names.HEADER_SERVICE,
        names.HEADER_ATTEMPTS,
    ],
}


@dataclass(frozen=True)
class ServiceContract:
    """What one service receives and sends: event type -> data model."""

    service: str
    title: str
    version: str
    receives: Mapping[str, type[BaseModel]]
    sends: Mapping[str, type[BaseModel]]


def contract_of(runtime: Any) -> ServiceContract:
    """The contract of a :class:`common.runtime.ServiceRuntime`."""
    sends: dict[str, type[BaseModel]] = {}
    for event_type in runtime.published_event_types:
        model = EVENT_DATA_MODELS.get(event_type)
        if model is None:
            raise ValueError(f"{event_type} is published but has no contract model")
        sends[event_type] = model
    return ServiceContract(
        service=runtime.settings.service_name,
        title=runtime.title or f"rcm {runtime.settings.service_name}",
        version=runtime.version,
        receives={t: model for t, (model, _) in runtime.handlers.handlers.items()},
        sends=sends,
    )


def load_contracts(services: Iterable[str] = SERVICES) -> list[ServiceContract]:
    """Build each service's runtime as its ``serve`` command would (nothing connects)
    and read its contract."""
    contracts = []
    for service in services:
        bootstrap = importlib.import_module(f"{SERVICES[service]}.bootstrap")
        contracts.append(contract_of(bootstrap.build_runtime()))
    return contracts


def _summary(model: type[BaseModel]) -> str:
    doc = inspect.cleandoc(model.__doc__ or "")
    return doc.split("\n\n", 1)[0].replace("\n", " ")


def _payload(event_type: str, data_ref: dict[str, Any]) -> dict[str, Any]:
    envelope = CloudEvent.model_json_schema()
    properties = dict(envelope["properties"])
    properties["type"] = {"const": event_type, "title": "Type"}
    properties["data"] = data_ref
    return {
        "type": "object",
        "description": "CloudEvents 1.0, structured mode, with the tenantid extension",
        "properties": properties,
        "required": envelope.get("required", []),
    }


def _message_id(event_type: str) -> str:
    return event_type


def document(contract: ServiceContract) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of one service."""
    event_types = sorted({*contract.receives, *contract.sends})
    models = {t: contract.receives.get(t) or contract.sends[t] for t in event_types}
    unique = list(dict.fromkeys(models.values()))
    refs, definitions = models_json_schema(
        [(model, "validation") for model in unique], ref_template=SCHEMA_REF
    )
    ref_of = {model: refs[(model, "validation")] for model in unique}
    schemas: dict[str, Any] = dict(sorted(definitions.get("$defs", {}).items()))
    schemas["AmqpHeaders"] = AMQP_HEADERS

    exchange = {
        "name": names.EVENTS_EXCHANGE,
        "type": "topic",
        "durable": True,
        "autoDelete": False,
        "vhost": "/",
    }
    queue = f"rcm.{contract.service}"
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for event_type in event_types:
        model = models[event_type]
        message_id = _message_id(event_type)
        messages[message_id] = {
            "name": event_type,
            "title": model.__name__,
            "summary": _summary(model),
            "contentType": CONTENT_TYPE,
            "correlationId": {"location": f"$message.header#/{names.HEADER_CORRELATION}"},
            "headers": {"$ref": "#/components/schemas/AmqpHeaders"},
            "payload": _payload(event_type, dict(ref_of[model])),
            "bindings": {
                "amqp": {"messageType": event_type, "bindingVersion": AMQP_BINDING_VERSION}
            },
        }
        channels[event_type] = {
            "address": event_type,
            "title": f"{names.EVENTS_EXCHANGE} / {event_type}",
            "description": f"The events topic exchange, routing key {event_type}.",
            "messages": {message_id: {"$ref": f"#/components/messages/{message_id}"}},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": exchange,
                    "bindingVersion": AMQP_BINDING_VERSION,
                }
            },
        }
        channel_ref = {"$ref": f"#/channels/{event_type}"}
        message_ref = [{"$ref": f"#/channels/{event_type}/messages/{message_id}"}]
        if event_type in contract.receives:
            operations[f"receive.{event_type}"] = {
                "action": "receive",
                "channel": channel_ref,
                "summary": f"Applied once (inbox) from the queue {queue}.",
                "messages": message_ref,
                "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
            }
        if event_type in contract.sends:
            operations[f"send.{event_type}"] = {
                "action": "send",
                "channel": channel_ref,
                "summary": "Published from the transactional outbox with publisher confirms.",
                "messages": message_ref,
                "bindings": {
                    "amqp": {
                        "deliveryMode": 2,
                        "mandatory": False,
                        "bindingVersion": AMQP_BINDING_VERSION,
                    }
                },
            }
    if contract.receives:
        _add_dead_letter(channels, messages, operations, queue, names.DELIVERY_LIMIT)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": f"{contract.title} events",
            "version": contract.version,
            "description": (
                f"Events the {contract.service} service receives (queue {queue}, a quorum "
                f"queue bound to {names.EVENTS_EXCHANGE} by each routing key below, "
                f"delivery limit {names.DELIVERY_LIMIT}, dead-letter queue "
                f"{queue}.dead-letter) and sends (through its transactional outbox). "
                "Exchange and queue names take TOPOLOGY_PREFIX in front when it is set."
            ),
        },
        "servers": {
            "rabbitmq": {
                "host": "rabbitmq:5672",
                "pathname": "/",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The suite's RabbitMQ (AMQP_URL).",
            }
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _add_dead_letter(
    channels: dict[str, Any],
    messages: dict[str, Any],
    operations: dict[str, Any],
    queue: str,
    delivery_limit: int,
) -> None:
    channels["dead-letter"] = {
        "address": queue,
        "title": f"{names.DEAD_LETTER_EXCHANGE} / {queue}",
        "description": (
            "What the service could not apply: malformed JSON, an invalid envelope, an "
            "unknown type, a schema violation, a permanent refusal, or a delivery that "
            f"failed {delivery_limit} times. Read with the operator CLI; replayable."
        ),
        "messages": {"deadLetter": {"$ref": "#/components/messages/deadLetter"}},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": names.DEAD_LETTER_EXCHANGE,
                    "type": "direct",
                    "durable": True,
                    "autoDelete": False,
                    "vhost": "/",
                },
                "bindingVersion": AMQP_BINDING_VERSION,
            }
        },
    }
    messages["deadLetter"] = {
        "name": "dead-letter",
        "title": "Dead-lettered delivery",
        "summary": "The delivery's body unchanged, with the reason in its headers.",
        "headers": DEAD_LETTER_HEADERS,
        "payload": {"description": "the original body, as received (it may not be JSON)"},
    }
    operations["deadLetter"] = {
        "action": "send",
        "channel": {"$ref": "#/channels/dead-letter"},
        "summary": "A delivery the service gives up on, with the reason.",
        "messages": [{"$ref": "#/channels/dead-letter/messages/deadLetter"}],
    }


class _Dumper(yaml.SafeDumper):
    """Repeated parts written out in full: no YAML anchors for readers to chase."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(contract: ServiceContract) -> str:
    text = yaml.dump(
        document(contract), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )
    return HEADER + text


def rendered_documents(contracts: Sequence[ServiceContract]) -> dict[str, str]:
    """File name -> text."""
    return {f"{contract.service}.yaml": render(contract) for contract in contracts}


def stale_documents(folder: Path, contracts: Sequence[ServiceContract]) -> list[str]:
    expected = rendered_documents(contracts)
    differences = [
        f"{name}: {'missing' if not (folder / name).is_file() else 'out of date'}"
        for name, text in expected.items()
        if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != text
    ]
    present = {path.name for path in folder.glob("*.yaml")}
    differences += [f"{name}: no longer generated" for name in sorted(present - set(expected))]
    return differences


def write_documents(folder: Path, contracts: Sequence[ServiceContract]) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    rendered = rendered_documents(contracts)
    for name, text in rendered.items():
        (folder / name).write_text(text, encoding="utf-8")
    for leftover in folder.glob("*.yaml"):
        if leftover.name not in rendered:
            leftover.unlink()
    return len(rendered)


def main(argv: list[str] | None = None, contracts: Sequence[ServiceContract] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.asyncapi")
    parser.add_argument("--check", action="store_true", help="exit 1 if a document is stale")
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    arguments = parser.parse_args(argv)
    if contracts is None:
        from common.logging import configure_logging

        # Building the runtimes logs (reference tables loaded): keep the output the check's.
        configure_logging("asyncapi", "WARNING", json=True)
        contracts = load_contracts()
    if arguments.check:
        differences = stale_documents(arguments.folder, contracts)
        for difference in differences:
            print(difference)
        if differences:
            print("AsyncAPI documents are stale: run python -m common.asyncapi")
            return 1
        print(f"AsyncAPI documents are current ({arguments.folder})")
        return 0
    count = write_documents(arguments.folder, contracts)
    print(f"wrote {count} AsyncAPI documents to {arguments.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
