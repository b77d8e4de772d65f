"""``attendance migrate | declare-topology | serve``."""

from __future__ import annotations

from typing import Any

from attendance.bootstrap import MIGRATIONS, build_runtime
from attendance.settings import AttendanceSettings
from common.cli import service_main


def main(argv: list[str] | None = None) -> int:
    def runtime(settings: Any) -> Any:
        return build_runtime(settings)

    return service_main(
        settings_factory=AttendanceSettings,
        runtime_factory=runtime,
        migrations=MIGRATIONS,
        argv=argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
