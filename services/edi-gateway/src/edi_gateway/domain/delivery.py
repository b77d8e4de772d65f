"""The recorded delivery protocol's decisions (SPEC 7, 9). Pure rules, no I/O.

A file reaches a clearinghouse folder in two server operations: an upload under a
temporary name the clearinghouse ignores (``.<file_name>.part``, the same for every
attempt at one file), then a rename to the final name, which the clearinghouse picks up
(and may move away at once). Around them a durable delivery record per interchange says
how far an attempt got, committed before each step:

    UPLOADING  an upload under the temporary name is about to start (or started)
    UPLOADED   the temporary file is complete; the rename comes next
    RENAMED    the rename returned (the interchange's SENT state comes next)

The next attempt (after a failure or a crash, on any replica) first looks at the server
and decides with :func:`next_step`:

- the final name holds the same bytes: the file arrived, mark the interchange SENT;
- the final name holds other bytes: a conflict, never overwritten;
- the temporary name exists (and no final file): a partial or complete upload that was
  never renamed, so never processed; remove it and upload again;
- neither exists: the record decides. UPLOADED or RENAMED means a complete temporary file
  was renamed and the clearinghouse already took it: SENT without uploading again.
  No record or UPLOADING means nothing complete ever left: upload.

UPLOADED is recorded only after the temporary file is complete, and UPLOADING is recorded
again before a temporary file is removed, so "neither exists" after UPLOADED can only mean
the rename happened."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

TEMPORARY_SUFFIX: Final = ".part"


class DeliveryState(StrEnum):
    """How far the last recorded delivery attempt of an interchange got."""

    UPLOADING = "UPLOADING"
    UPLOADED = "UPLOADED"
    RENAMED = "RENAMED"


class RemoteState(StrEnum):
    """What the clearinghouse's upload folder holds for one file."""

    DELIVERED = "DELIVERED"  # the final name, with the same bytes
    CONFLICT = "CONFLICT"  # the final name, with other bytes
    TEMPORARY = "TEMPORARY"  # the temporary name only
    ABSENT = "ABSENT"  # neither


class DeliveryStep(StrEnum):
    ALREADY_DELIVERED = "ALREADY_DELIVERED"  # the final file is there
    TAKEN_BY_CLEARINGHOUSE = "TAKEN_BY_CLEARINGHOUSE"  # renamed before, since moved away
    CONFLICT = "CONFLICT"  # another file holds the name
    UPLOAD = "UPLOAD"  # nothing there: upload, rename
    REPLACE_TEMPORARY = "REPLACE_TEMPORARY"  # remove the stale temporary file, upload, rename


def temporary_name(file_name: str) -> str:
    """The name a file is uploaded under before its rename: a dot file the clearinghouse
    ignores, the same for every attempt at this file (a stale one is found and removed)."""
    return f".{file_name}{TEMPORARY_SUFFIX}"


def is_temporary_name(name: str) -> bool:
    return name.startswith(".") or name.endswith((TEMPORARY_SUFFIX, ".tmp"))


def next_step(recorded: DeliveryState | None, remote: RemoteState) -> DeliveryStep:
    """What the next attempt does, from the record and what the server holds."""
    if remote is RemoteState.DELIVERED:
        return DeliveryStep.ALREADY_DELIVERED
    if remote is RemoteState.CONFLICT:
        return DeliveryStep.CONFLICT
    if remote is RemoteState.TEMPORARY:
        return DeliveryStep.REPLACE_TEMPORARY
    if recorded in (DeliveryState.UPLOADED, DeliveryState.RENAMED):
        return DeliveryStep.TAKEN_BY_CLEARINGHOUSE
    return DeliveryStep.UPLOAD
