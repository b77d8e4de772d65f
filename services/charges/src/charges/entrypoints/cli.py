"""``charges migrate | declare-topology | serve``."""

from __future__ import annotations

from charges.bootstrap import MIGRATIONS, build_runtime
from charges.settings import ChargesSettings
from common.cli import service_main
from common.runtime import ServiceRuntime
from common.settings import ServiceSettings


def main(argv: list[str] | None = None) -> int:
    def runtime(settings: ServiceSettings) -> ServiceRuntime:
        if not isinstance(settings, ChargesSettings):
            raise TypeError("the charges service runs with ChargesSettings")
        return build_runtime(settings)

    return service_main(
        settings_factory=ChargesSettings,
        runtime_factory=runtime,
        migrations=MIGRATIONS,
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
