"""Write the JSON Schemas of every event type and of the tenant configuration.

    python -m contracts.export_schemas           # (re)write contracts/schemas/
    python -m contracts.export_schemas --check   # exit 1 when the files there are stale

An event's schema describes the whole CloudEvent document: the envelope with ``type``
fixed to the event type and ``data`` the event's data model. Files:
``schemas/events/<type>.schema.json`` and ``schemas/tenant-config.schema.json``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contracts.envelope import CloudEvent
from contracts.events import EVENT_DATA_MODELS
from contracts.tenant.model import TenantConfig

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "schemas"
SCHEMA_ID_BASE = "https://rcm.example.com/contracts/schemas/"


def event_document_schema(event_type: str, model: type[BaseModel]) -> dict[str, Any]:
    """The schema of a whole CloudEvent of ``event_type`` carrying ``model`` as data."""
    envelope = CloudEvent.model_json_schema()
    data = model.model_json_schema(ref_template="#/$defs/{model}")
    definitions: dict[str, Any] = dict(envelope.pop("$defs", {}))
    definitions.update(data.pop("$defs", {}))
    definitions[model.__name__] = data
    properties = dict(envelope["properties"])
    properties["type"] = {"const": event_type, "title": "Type"}
    properties["data"] = {"$ref": f"#/$defs/{model.__name__}"}
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{SCHEMA_ID_BASE}events/{event_type}.schema.json",
        "title": event_type,
        "description": inspect.cleandoc(model.__doc__ or ""),
        "type": "object",
        "properties": properties,
        "required": envelope.get("required", []),
        "$defs": dict(sorted(definitions.items())),
    }


def tenant_config_schema() -> dict[str, Any]:
    schema = TenantConfig.model_json_schema()
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{SCHEMA_ID_BASE}tenant-config.schema.json",
        **schema,
    }


def rendered_schemas() -> dict[Path, str]:
    """Relative path -> file text, for every schema this package publishes."""
    documents: dict[Path, dict[str, Any]] = {
        Path("events") / f"{event_type}.schema.json": event_document_schema(event_type, model)
        for event_type, model in sorted(EVENT_DATA_MODELS.items())
    }
    documents[Path("tenant-config.schema.json")] = tenant_config_schema()
    return {
        path: json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        for path, document in documents.items()
    }


def stale_files(folder: Path) -> list[str]:
    """What differs between ``folder`` and the schemas the code would write."""
    expected = rendered_schemas()
    differences = [
        f"{path}: {'missing' if not (folder / path).is_file() else 'out of date'}"
        for path, text in expected.items()
        if not (folder / path).is_file() or (folder / path).read_text(encoding="utf-8") != text
    ]
    present = {path.relative_to(folder) for path in folder.rglob("*.schema.json")}
    differences += [f"{path}: no longer generated" for path in sorted(present - set(expected))]
    return differences


def write_schemas(folder: Path) -> int:
    """Write every schema into ``folder``, remove ones no longer generated; the count."""
    rendered = rendered_schemas()
    for path, text in rendered.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for leftover in sorted(folder.rglob("*.schema.json")):
        if leftover.relative_to(folder) not in rendered:
            leftover.unlink()
    return len(rendered)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.export_schemas")
    parser.add_argument("--check", action="store_true", help="exit 1 if files are stale")
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    arguments = parser.parse_args(argv)
    if arguments.check:
        differences = stale_files(arguments.folder)
        for difference in differences:
            print(difference)
        if differences:
            print("schemas are stale: run python -m contracts.export_schemas")
            return 1
        print(f"schemas are current ({arguments.folder})")
        return 0
    count = write_schemas(arguments.folder)
    print(f"wrote {count} schemas to {arguments.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
