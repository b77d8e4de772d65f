"""The message catalogue (``docs/messages.md``), generated from the contracts and the code.

    python -m common.message_catalogue            # (re)write docs/messages.md
    python -m common.message_catalogue --check    # exit 1 when the committed file is stale

Every event type of ``contracts.events.EVENT_DATA_MODELS``: its routing key, who sends it
(the service whose runtime publishes it, or the outside system its key names), who
consumes it (the services whose composition roots register a handler for it, read as
:mod:`common.asyncapi` reads them), its payload's fields with their types and
descriptions (from the pydantic model, the one ``contracts/schemas/`` is written from),
and links to its JSON Schema, its golden sample and the AsyncAPI documents."""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from common.asyncapi import ServiceContract, load_contracts
from contracts import topology as names
from contracts.envelope import CONTENT_TYPE
from contracts.events import EVENT_DATA_MODELS

ROOT = Path(__file__).resolve().parents[4]
DEFAULT_FILE = ROOT / "docs" / "messages.md"
ENVELOPE = ROOT / "contracts" / "src" / "contracts" / "envelope.py"
REF_PREFIX = "#/$defs/"
HEADER = (
    "<!-- Generated from contracts/ and the services' code by "
    "`python -m common.message_catalogue`: do not edit. -->\n"
)
#: The outside systems whose events come in (the first part of their routing keys).
EXTERNAL_PRODUCERS = {"scheduling": "scheduling system", "ehr": "EHR"}
ENUM_SHOWN = 8  # longer code lists (states, ...) are in the JSON Schema


def _anchor(text: str) -> str:
    """GitHub's heading anchor: lower case, spaces to dashes, punctuation dropped."""
    kept = "".join(c for c in text.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _type_of(schema: Mapping[str, Any], models: set[str]) -> str:
    """A field's type as a reader says it: ``string (date)``, ``list of [Line](#line)``."""
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix(REF_PREFIX)
        return f"[{name}](#{_anchor(name)})" if name in models else name
    if "anyOf" in schema:
        parts = [_type_of(s, models) for s in schema["anyOf"]]
        return " or ".join(dict.fromkeys(parts))
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _type_of(schema["allOf"][0], models)
    if "const" in schema:
        return f"`{schema['const']}`"
    if "enum" in schema:
        values = [f"`{v}`" for v in schema["enum"]]
        if len(values) > ENUM_SHOWN:
            return f"one of {len(values)} codes ({', '.join(values[:ENUM_SHOWN])}, ...)"
        return "one of " + ", ".join(values)
    kind = schema.get("type")
    if kind == "array":
        return "list of " + _type_of(schema.get("items", {}), models)
    if kind == "object" and "additionalProperties" in schema:
        values = schema["additionalProperties"]
        return "map of " + (_type_of(values, models) if isinstance(values, dict) else "any")
    if kind is None:
        return "any"
    shown = str(kind)
    if "format" in schema:
        shown += f" ({schema['format']})"
    elif "pattern" in schema:
        shown += f" (`{schema['pattern']}`)"
    return shown


def _fields(schema: Mapping[str, Any], models: set[str]) -> list[str]:
    required = set(schema.get("required", []))
    rows = [
        "| field | type | required | description |",
        "|---|---|---|---|",
    ]
    for name, field in schema.get("properties", {}).items():
        description = field.get("description") or ""
        rows.append(
            f"| `{name}` | {_cell(_type_of(field, models))} | "
            f"{'yes' if name in required else 'no'} | {_cell(description)} |"
        )
    return rows


def _first_paragraph(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__ or "").split("\n\n", 1)[0].replace("\n", " ")


def _link(text: str, target: Path) -> str:
    return f"[{text}](../{target.relative_to(ROOT).as_posix()})"


def render(contracts: Sequence[ServiceContract]) -> str:
    """The whole catalogue, one section per event type (sorted by routing key), then the
    types their payloads share."""
    producers: dict[str, list[str]] = {}
    consumers: dict[str, list[str]] = {}
    for contract in contracts:
        for event_type in contract.sends:
            producers.setdefault(event_type, []).append(contract.service)
        for event_type in contract.receives:
            consumers.setdefault(event_type, []).append(contract.service)
    event_types = sorted(EVENT_DATA_MODELS)
    unique = list(dict.fromkeys(EVENT_DATA_MODELS[t] for t in event_types))
    refs, definitions = models_json_schema(
        [(model, "validation") for model in unique], ref_template=REF_PREFIX + "{model}"
    )
    defs: dict[str, Any] = definitions.get("$defs", {})
    top = {model.__name__ for model in unique}
    shared = sorted(set(defs) - top)
    linkable = set(shared)

    def asyncapi(service: str) -> str:
        return _link(service, ROOT / "contracts" / "asyncapi" / f"{service}.yaml")

    lines = [
        HEADER,
        "# Message catalogue",
        "",
        "Every event on the broker: a CloudEvents 1.0 JSON document (structured mode, "
        f"`{CONTENT_TYPE}`) on the topic exchange `{names.EVENTS_EXCHANGE}`, routed by its "
        "`type`, which names the event and its version. The envelope (`id`, `source`, "
        "`type`, `time`, `tenantid`, ...) is described in "
        f"{_link(ENVELOPE.relative_to(ROOT).as_posix(), ENVELOPE)}"
        "; below is each event's `data`. Consumers are the services whose queue binds the "
        "routing key; each has its AsyncAPI document under "
        f"{_link('contracts/asyncapi/', ROOT / 'contracts' / 'asyncapi')}.",
        "",
        "| routing key | producer | consumers | data model |",
        "|---|---|---|---|",
    ]
    for event_type in event_types:
        model = EVENT_DATA_MODELS[event_type]
        lines.append(
            f"| [`{event_type}`](#{_anchor(event_type)}) | {_producer(event_type, producers)} | "
            f"{', '.join(sorted(consumers.get(event_type, []))) or '(none yet)'} | "
            f"{model.__name__} |"
        )
    lines.append("")
    for event_type in event_types:
        model = EVENT_DATA_MODELS[event_type]
        schema = defs.get(model.__name__) or refs[(model, "validation")]
        sample = ROOT / "contracts" / "samples" / f"{event_type}.json"
        sent_by = producers.get(event_type, [])
        taken_by = sorted(consumers.get(event_type, []))
        documents = [asyncapi(s) for s in [*sent_by, *taken_by]]
        links = [
            _link(
                "JSON Schema",
                ROOT / "contracts" / "schemas" / "events" / f"{event_type}.schema.json",
            ),
            *([_link("sample", sample)] if sample.is_file() else []),
            *([f"AsyncAPI: {', '.join(dict.fromkeys(documents))}"] if documents else []),
        ]
        lines += [
            f"## {event_type}",
            "",
            _first_paragraph(model),
            "",
            f"- routing key: `{event_type}`",
            f"- producer: {_producer(event_type, producers)}",
            f"- consumers: {', '.join(taken_by) or '(none yet)'}",
            f"- data: `{model.__name__}`; {'; '.join(links)}",
            "",
            *_fields(schema, linkable),
            "",
        ]
    lines += [
        "## Types the payloads share",
        "",
        "Objects named in the fields above (the JSON Schemas hold them under `$defs`).",
        "",
    ]
    for name in shared:
        definition = defs[name]
        lines += [f"### {name}", ""]
        if definition.get("description"):
            lines += [_cell(definition["description"]), ""]
        if "properties" in definition:
            lines += [*_fields(definition, linkable), ""]
        else:
            lines += [f"{_type_of(definition, linkable)}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _producer(event_type: str, producers: Mapping[str, list[str]]) -> str:
    services = producers.get(event_type)
    if services:
        return ", ".join(services)
    outside = EXTERNAL_PRODUCERS.get(event_type.split(".", 1)[0])
    return f"{outside} (outside the suite)" if outside else "(nobody yet)"


def is_stale(path: Path, contracts: Sequence[ServiceContract]) -> bool:
    return not path.is_file() or path.read_text(encoding="utf-8") != render(contracts)


def main(argv: list[str] | None = None, contracts: Sequence[ServiceContract] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.message_catalogue")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    arguments = parser.parse_args(argv)
    if contracts is None:
        from common.logging import configure_logging

        # Building the runtimes logs (reference tables loaded): keep the output the check's.
        configure_logging("message-catalogue", "WARNING", json=True)
        contracts = load_contracts()
    if arguments.check:
        if is_stale(arguments.file, contracts):
            print(f"{arguments.file} is stale: run python -m common.message_catalogue")
            return 1
        print(f"the message catalogue is current ({arguments.file})")
        return 0
    arguments.file.parent.mkdir(parents=True, exist_ok=True)
    arguments.file.write_text(render(contracts), encoding="utf-8")
    print(f"wrote {len(EVENT_DATA_MODELS)} event types to {arguments.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
