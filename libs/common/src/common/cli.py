"""The command every service ships: ``<service> migrate | serve | declare-topology |
asyncapi``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path

import uvicorn

from common.asyncapi import contract_of, render
from common.logging import configure_logging, get_logger
from common.migrations import migrate
from common.runtime import ServiceRuntime
from common.settings import ServiceSettings


def service_main(
    *,
    settings_factory: Callable[[], ServiceSettings],
    runtime_factory: Callable[[ServiceSettings], ServiceRuntime],
    migrations: Path,
    argv: list[str] | None = None,
) -> int:
    settings = settings_factory()
    parser = argparse.ArgumentParser(prog=settings.service_name)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the service's schema, then the topology")
    sub.add_parser("declare-topology", help="declare exchanges, queues and bindings")
    sub.add_parser("asyncapi", help="print the service's AsyncAPI 3.0 document (YAML)")
    serve = sub.add_parser("serve", help="run the service (HTTP, consumer, outbox relay)")
    serve.add_argument("--host", default=settings.http_host)
    serve.add_argument("--port", type=int, default=settings.http_port)
    args = parser.parse_args(argv)

    if args.command == "asyncapi":
        configure_logging(settings.service_name, "WARNING", settings.log_json)
        print(render(contract_of(runtime_factory(settings))), end="")
        return 0
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    log = get_logger("cli")
    if args.command in ("migrate", "declare-topology"):
        runtime = runtime_factory(settings)

        async def run() -> None:
            try:
                if args.command == "migrate":
                    await migrate(
                        settings.migration_database_url or settings.database_url,
                        settings.db_schema,
                        migrations,
                        runtime_role=settings.db_runtime_role,
                    )
                    log.info(
                        "migrated",
                        schema=settings.db_schema,
                        runtime_role=settings.db_runtime_role,
                    )
                await runtime.declare_topology()
                log.info(
                    "topology_declared", queue=runtime.topology.service_queue(settings.service_name)
                )
            finally:
                await runtime.engine.dispose()

        asyncio.run(run())
        return 0
    app = runtime_factory(settings).create_app()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.graceful_timeout_seconds),
    )
    return 0
