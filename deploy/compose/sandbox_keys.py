"""One-shot key set-up for the clearinghouse sandbox under docker-compose.

Generates the sandbox's host key and the gateway's client key once (kept in a named volume,
so a restart keeps them), and hands the gateway what its tenant file names: the client
private key and the sandbox's host public key line to pin. Run as ``rcm-run sandbox-keys``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from clearinghouse_sandbox import keys

HOST_KEY_LINE = "sandbox_host_key.pub"
CLIENT_KEY = "client_key"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sandbox-keys", description=__doc__)
    parser.add_argument("--sandbox-dir", type=Path, required=True, help="the sandbox's keys")
    parser.add_argument(
        "--gateway-dir", type=Path, required=True, help="what the gateway mounts (read-only)"
    )
    args = parser.parse_args(argv)
    sandbox_dir: Path = args.sandbox_dir
    gateway_dir: Path = args.gateway_dir
    if (sandbox_dir / "host_key").exists():
        print(f"keys already in {sandbox_dir}: kept")
        files = keys.KeyFiles(
            host_key=sandbox_dir / "host_key",
            client_key=sandbox_dir / "client_key",
            client_public_key=sandbox_dir / "client_key.pub",
            authorized_keys=sandbox_dir / "authorized_keys",
        )
    else:
        files = keys.generate(sandbox_dir)
        print(f"keys written to {sandbox_dir}")
    gateway_dir.mkdir(parents=True, exist_ok=True)
    line = keys.public_key_line(files.host_key)
    (gateway_dir / HOST_KEY_LINE).write_text(line + "\n")
    client_key = gateway_dir / CLIENT_KEY
    shutil.copyfile(files.client_key, client_key)
    client_key.chmod(0o600)
    print(f"host key pinned for the gateway: {line[:40]}...")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
