"""Import every module of the packages named: run inside one package's own environment,
it fails on any import the package uses but does not declare."""

from __future__ import annotations

import importlib
import pkgutil
import sys


def main(names: list[str]) -> int:
    count = 0
    for name in names:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if ".migrations." in info.name or info.name.endswith((".migrations", ".__main__")):
                continue  # alembic scripts import alembic.context, run only by alembic
            if info.name.startswith("common.testing"):
                continue  # test support: needs pytest, declared by the dev group
            importlib.import_module(info.name)
            count += 1
    print(f"imported {count} modules of {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
