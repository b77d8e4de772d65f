"""Load tenant configuration from YAML and report every problem with its path in the
document (``payers[1].clearinghouse_id: no clearinghouse 'x'``).

The YAML reader differs from ``yaml.safe_load`` in two ways that matter for billing
configuration: a number with a fraction (``300.00``) is read as a ``Decimal``, never a
float, and a key given twice in one mapping is an error rather than the last one winning.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from yaml.constructor import ConstructorError

from contracts.tenant.model import TenantConfig

__all__ = [
    "ConfigProblem",
    "TenantConfigError",
    "document_path",
    "load_tenant_config",
    "load_tenant_configs",
    "parse_tenant_config",
]

DOCUMENT = "(document)"
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ConfigProblem:
    """One problem: where in the document (``payers[1].name``) and what is wrong."""

    path: str
    message: str
    file: str | None = None

    def __str__(self) -> str:
        located = f"{self.path}: {self.message}"
        return f"{self.file}: {located}" if self.file else located


class TenantConfigError(ValueError):
    """A tenant configuration that cannot be used, with every problem found."""

    def __init__(self, source: Path, problems: Sequence[ConfigProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"invalid tenant configuration {source}:\n{lines}")


# --------------------------------------------------------------------------- YAML


class _TenantYamlLoader(yaml.SafeLoader):
    pass


def _decimal_scalar(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return loader.construct_yaml_float(node)
    return value if value.is_finite() else loader.construct_yaml_float(node)


def _unique_key_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"key '{key}' appears twice",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_TenantYamlLoader.add_constructor("tag:yaml.org,2002:float", _decimal_scalar)
_TenantYamlLoader.add_constructor("tag:yaml.org,2002:map", _unique_key_mapping)


def _read_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_TenantYamlLoader)  # noqa: S506 (a SafeLoader subclass)


# --------------------------------------------------------------------------- error paths


def _child(node: Any, element: str | int) -> tuple[bool, Any]:
    if isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node):
        return True, node[element]
    if isinstance(node, dict):
        for key, value in node.items():
            if key == element or str(key) == str(element):
                return True, value
    return False, None


def document_path(loc: Sequence[str | int], document: Any) -> str:
    """Render a pydantic error location as a path in ``document``: ``programs[0].group[1]``.

    Location elements that are not in the document (the tag pydantic adds for the member
    of a tagged union, ``[key]`` for a bad mapping key) are left out; a missing key, which
    is never in the document, is kept when it is the last element."""
    path = ""
    node: Any = document
    for position, element in enumerate(loc):
        found, child = _child(node, element)
        is_last = position == len(loc) - 1
        if found:
            node = child
        elif isinstance(element, int) and isinstance(node, list):
            node = None
        elif is_last and isinstance(node, dict) and element not in node.values():
            node = None  # a missing key (a union tag is the value of the mapping's tag key)
        else:
            continue
        path += (
            f"[{element}]"
            if isinstance(element, int)
            else (f".{element}" if path else str(element))
        )
    return path or DOCUMENT


_FRIENDLY_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown key (misspelt, or not allowed here)",
}


def _message(error: ErrorDetails) -> str:
    friendly = _FRIENDLY_MESSAGES.get(error["type"])
    if friendly:
        return friendly
    message = error["msg"]
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def problems_of(error: ValidationError, document: Any) -> list[ConfigProblem]:
    return [
        ConfigProblem(document_path(detail["loc"], document), _message(detail))
        for detail in error.errors(include_url=False, include_input=False)
    ]


# --------------------------------------------------------------------------- loading


def parse_tenant_config(text: str, *, source: Path) -> TenantConfig:
    """Validate one tenant's YAML text; ``TenantConfigError`` lists every problem."""
    try:
        document = _read_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise TenantConfigError(
            source, [ConfigProblem(DOCUMENT, f"not valid YAML: {problem}{where}")]
        ) from error
    if not isinstance(document, dict):
        raise TenantConfigError(
            source, [ConfigProblem(DOCUMENT, "a tenant configuration is a YAML mapping")]
        )
    try:
        return TenantConfig.model_validate(document)
    except ValidationError as error:
        raise TenantConfigError(source, problems_of(error, document)) from error


def load_tenant_config(path: str | Path) -> TenantConfig:
    """Read and validate one tenant's YAML file."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TenantConfigError(
            source, [ConfigProblem(DOCUMENT, f"cannot read the file: {error}")]
        ) from error
    return parse_tenant_config(text, source=source)


def load_tenant_configs(folder: str | Path) -> dict[str, TenantConfig]:
    """Read every ``*.yaml`` / ``*.yml`` file of ``folder`` (one tenant each; hidden
    entries, such as a Kubernetes ConfigMap's ``..data``, are skipped), keyed by tenant id.
    Every file is checked; ``TenantConfigError`` lists the problems of all of them."""
    root = Path(folder)
    if not root.is_dir():
        raise TenantConfigError(root, [ConfigProblem(DOCUMENT, "not a folder")])
    files = sorted(
        entry
        for entry in root.iterdir()
        if entry.suffix in YAML_SUFFIXES and not entry.name.startswith(".") and entry.is_file()
    )
    if not files:
        raise TenantConfigError(
            root, [ConfigProblem(DOCUMENT, "no tenant configuration (*.yaml) in the folder")]
        )
    configs: dict[str, TenantConfig] = {}
    defined_in: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    for file in files:
        try:
            config = load_tenant_config(file)
        except TenantConfigError as error:
            problems += [
                ConfigProblem(problem.path, problem.message, file.name)
                for problem in error.problems
            ]
            continue
        if config.tenant_id in configs:
            problems.append(
                ConfigProblem(
                    "tenant_id",
                    f"tenant '{config.tenant_id}' is also in {defined_in[config.tenant_id]}",
                    file.name,
                )
            )
            continue
        configs[config.tenant_id] = config
        defined_in[config.tenant_id] = file.name
    if problems:
        raise TenantConfigError(root, problems)
    return configs
