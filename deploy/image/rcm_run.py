#!/usr/bin/env python
"""The image's entry point: ``rcm-run <name> [args...]`` runs one program of the suite.

``docker run rcm-suite attendance serve``, ``... edi-gateway migrate``,
``... clearinghouse-sandbox serve --root ...``; ``rcm-run probe URL`` is the health check
(exit 0 on a 2xx answer). ``scripts/check_deploy.py`` reads ``PROGRAMS`` to check that every
command in docker-compose.yml and k8s/ names a real program, with arguments its parser
accepts and environment variables its settings class knows.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

APP = Path(os.environ.get("RCM_APP_ROOT", "/app"))


@dataclass(frozen=True)
class Program:
    """``module`` runs as ``python -m module``; ``script`` (relative to the source tree) runs
    as ``python script``. ``settings`` is ``module:Class`` of the pydantic settings read from
    the environment (None: the program reads no environment, only its arguments)."""

    module: str | None = None
    script: str | None = None
    settings: str | None = None


PROGRAMS: dict[str, Program] = {
    "attendance": Program("attendance", settings="attendance.settings:AttendanceSettings"),
    "stays": Program("stays", settings="stays.settings:StaysSettings"),
    "charges": Program("charges", settings="charges.settings:ChargesSettings"),
    "claims": Program("claims", settings="claims.settings:ClaimsSettings"),
    "edi-gateway": Program("edi_gateway", settings="edi_gateway.settings:GatewaySettings"),
    "clearinghouse-sandbox": Program("clearinghouse_sandbox"),
    "validate-tenant": Program("contracts.tenant.validate"),
    "sandbox-keys": Program(script="deploy/compose/sandbox_keys.py"),
    "demo-feed": Program(script="deploy/compose/demo_feed.py"),
}

USAGE = "usage: rcm-run {" + ",".join([*PROGRAMS, "probe"]) + "} [args...]"


def probe(url: str, timeout: float = 3.0) -> int:
    if not url.startswith(("http://", "https://")):
        print(f"probe: not an http(s) URL: {url}", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"probe: {url}: {error}", file=sys.stderr)
        return 1


def command_line(name: str, args: list[str]) -> list[str]:
    program = PROGRAMS[name]
    if program.module is not None:
        return [sys.executable, "-m", program.module, *args]
    assert program.script is not None
    return [sys.executable, str(APP / program.script), *args]


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    name, args = argv[0], argv[1:]
    if name == "probe" and len(args) == 1:
        return probe(args[0])
    if name not in PROGRAMS:
        print(f"rcm-run: unknown program {name!r}\n{USAGE}", file=sys.stderr)
        return 2
    line = command_line(name, args)
    os.execv(line[0], line)  # noqa: S606 - replaces this process: signals reach the program


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
