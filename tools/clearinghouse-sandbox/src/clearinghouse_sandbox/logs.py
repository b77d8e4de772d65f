"""One JSON line per event, with ids only: file names, control numbers and patient control
numbers, never a name or a birth date."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger("clearinghouse_sandbox")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        return json.dumps(line, default=str)


def event(name: str, **fields: Any) -> None:
    logger.info(name, extra={"fields": fields})


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines())
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    # asyncssh logs peer addresses and user names at INFO; keep it to warnings.
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
