"""``edi-gateway migrate | declare-topology | serve``."""

from __future__ import annotations

from common.cli import service_main
from common.runtime import ServiceRuntime
from common.settings import ServiceSettings
from edi_gateway.bootstrap import MIGRATIONS, build_runtime
from edi_gateway.settings import GatewaySettings


def main(argv: list[str] | None = None) -> int:
    def runtime(settings: ServiceSettings) -> ServiceRuntime:
        if not isinstance(settings, GatewaySettings):
            raise TypeError("the edi-gateway runs with GatewaySettings")
        return build_runtime(settings)

    return service_main(
        settings_factory=GatewaySettings,
        runtime_factory=runtime,
        migrations=MIGRATIONS,
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
