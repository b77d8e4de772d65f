"""``console serve [--host H] [--port P]``: the console as a process, served as the other
services are (uvicorn, logs as configured, graceful shutdown)."""

from __future__ import annotations

import argparse

import uvicorn

from common.logging import configure_logging
from console.app import create_app
from console.settings import ConsoleSettings


def main(argv: list[str] | None = None) -> int:
    settings = ConsoleSettings()
    parser = argparse.ArgumentParser(prog=settings.service_name)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the console (HTTP)")
    serve.add_argument("--host", default=settings.http_host)
    serve.add_argument("--port", type=int, default=settings.http_port)
    sub.add_parser("migrate", help="nothing to migrate: the console keeps no data")
    args = parser.parse_args(argv)
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    if args.command == "migrate":
        return 0
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.graceful_timeout_seconds),
    )
    return 0
