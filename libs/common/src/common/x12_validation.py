"""pyx12, the real X12 validator, for every package that runs it: its implementation maps
parsed once per process, and a file's errors as lines (the CLI's check of a downloaded
837, the tests' check of every 837 the suite writes).

``pyx12.x12n_document`` (and ``x12context``) parse the XML maps they need on every call
through ``pyx12.map_if.load_map_file``: about 0.1 s for the control map and 0.8 s for the
837P map, most of the cost of validating a small file. In pyx12 4 a map is read-only while
a file is walked (the walk's counts live in the walker's ``NodeCounter``; the map's only
write is the idempotent path cache of ``get_path``), so one parsed map can serve every
validation, from any thread. ``map_cache()`` puts a memo in place of ``load_map_file``
for the process (idempotent); pyx12 is imported only then, so this module costs nothing
to a package that does not validate X12."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

MapLoader = Callable[[str, Any, "str | None"], Any]


class MapCache:
    """Stands in for ``pyx12.map_if.load_map_file``: the first call for a map file, a
    map folder and a set of parameters parses it, the later ones get the same object."""

    def __init__(self, load: MapLoader) -> None:
        self.load = load
        self.loads = 0  # maps parsed (for tests)
        self._maps: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, map_file: str, param: Any, map_path: str | None = None) -> Any:
        settings = tuple(sorted((k, repr(v)) for k, v in vars(param).get("params", {}).items()))
        key = (map_file, map_path, settings)
        with self._lock:
            cached = self._maps.get(key)
            if cached is None:
                cached = self._maps[key] = self.load(map_file, param, map_path)
                self.loads += 1
            return cached


def map_cache() -> MapCache:
    """The process's map cache, installed on first use."""
    import pyx12.map_if

    current = pyx12.map_if.load_map_file
    if isinstance(current, MapCache):
        return current
    cache = MapCache(current)
    pyx12.map_if.load_map_file = cache  # type: ignore[assignment]
    return cache


def pyx12_errors(path: Path) -> list[str]:
    """Every error pyx12 finds in the file, at any level; empty means valid."""
    import pyx12.params
    import pyx12.x12n_document

    map_cache()
    report = io.StringIO()
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)  # its lines can quote values
    valid = pyx12.x12n_document.x12n_document(
        param=pyx12.params.params(),
        src_file=str(path),
        fd_997=None,
        fd_html=None,
        fd_json=report,
    )
    errors: list[str] = []
    _collect(json.loads(report.getvalue() or "{}"), errors)
    if not valid and not errors:
        errors.append("pyx12 rejected the file without a located error")
    return errors


def _collect(node: Any, errors: list[str]) -> None:
    if isinstance(node, dict):
        for error in node.get("errors") or []:
            where = node.get("seg_id") or node.get("trn_set_id") or node.get("gs_control_num")
            errors.append(f"{where}: {error.get('err_cde')} {error.get('err_str')}")
        for value in node.values():
            if isinstance(value, list | dict):
                _collect(value, errors)
    elif isinstance(node, list):
        for item in node:
            _collect(item, errors)
