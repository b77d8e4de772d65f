"""``claims migrate | declare-topology | serve``."""

from __future__ import annotations

from claims.bootstrap import MIGRATIONS, build_runtime
from claims.settings import ClaimsSettings
from common.cli import service_main
from common.runtime import ServiceRuntime
from common.settings import ServiceSettings


def main(argv: list[str] | None = None) -> int:
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
