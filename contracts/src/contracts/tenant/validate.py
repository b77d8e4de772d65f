"""``rcm-validate-tenant FILE``: validate one tenant configuration file.

Prints each problem as ``path.to.field[2].x: message``, one per line, and exits 1; or
prints a one-line summary starting with ``OK`` and exits 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from contracts.tenant.loading import (
    TenantConfigError,
    load_tenant_config,
    load_tenant_configs,
)
from contracts.tenant.model import TenantConfig

__all__ = ["load_tenant_config", "load_tenant_configs", "main", "summary"]


def summary(config: TenantConfig) -> str:
    programs = ", ".join(f"{p.id} {p.filing_type}" for p in config.programs)
    return (
        f"OK {config.tenant_id} ({config.time_zone}): {len(config.payers)} payers, "
        f"{len(config.programs)} programs ({programs}), "
        f"{len(config.clearinghouses)} clearinghouses"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rcm-validate-tenant", description="Validate a tenant configuration YAML file."
    )
    parser.add_argument("file", type=Path, help="the tenant's YAML document")
    arguments = parser.parse_args(argv)
    try:
        config = load_tenant_config(arguments.file)
    except TenantConfigError as error:
        for problem in error.problems:
            print(problem)
        return 1
    print(summary(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
