"""``claims migrate | declare-topology | serve | refresh-reference NAME FILE``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from claims.adapters.reference_data import FILES, ReferenceCatalog
from claims.bootstrap import MIGRATIONS, build_runtime
from claims.domain.reference import ReferenceDataInvalid
from claims.service_layer.dependencies import ClaimsDependencies
from claims.service_layer.reference import refresh_reference_table
from claims.settings import ClaimsSettings
from common.cli import service_main
from common.db import UnitOfWork, create_engine, create_sessionmaker
from common.logging import configure_logging
from common.runtime import ServiceRuntime
from common.settings import ServiceSettings
from contracts.tenant import TenantConfig

REFRESH = "refresh-reference"


def _no_tenant(tenant_id: str) -> TenantConfig:
    raise LookupError("refreshing reference data needs no tenant")


async def refresh(settings: ClaimsSettings, name: str, path: Path, text: str) -> int:
    """Store FILE as the reference table's next version (the running replicas read it on
    their next build). Prints every bad line and applies nothing when one is bad."""
    engine = create_engine(settings.database_url, settings.db_schema, pool_size=1)
    reference = ReferenceCatalog.load_packaged()
    deps = ClaimsDependencies(
        tenant_config=_no_tenant, diagnoses=_NoDiagnoses(), reference=reference
    )
    try:
        async with UnitOfWork(create_sessionmaker(engine), source="claims/cli") as uow:
            info = await refresh_reference_table(uow, deps, name, text, f"file {path.name}")
            await uow.commit()
    except ReferenceDataInvalid as exc:
        print(f"{path}: {exc.message}", file=sys.stderr)
        for line in exc.details.get("errors", []):
            print(f"  {line}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    print(f"{info.name}: version {info.version}, {info.rows} rows, from {info.source}")
    return 0


class _NoDiagnoses:
    name = "none"

    def is_billable(self, code: str) -> bool:
        return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == [REFRESH]:
        parser = argparse.ArgumentParser(prog=f"claims {REFRESH}")
        parser.add_argument("name", choices=sorted(FILES), help="which reference table")
        parser.add_argument("file", type=Path, help="the new table (CSV, as the packaged one)")
        parsed = parser.parse_args(args[1:])
        settings = ClaimsSettings()
        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        text = parsed.file.read_text(encoding="utf-8-sig")
        return asyncio.run(refresh(settings, parsed.name, parsed.file, text))

    def runtime(settings: ServiceSettings) -> ServiceRuntime:
        if not isinstance(settings, ClaimsSettings):
            raise TypeError("the claims service runs with ClaimsSettings")
        return build_runtime(settings)

    return service_main(
        settings_factory=ClaimsSettings,
        runtime_factory=runtime,
        migrations=MIGRATIONS,
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
