"""``clearinghouse-sandbox keygen --dir DIR`` and ``clearinghouse-sandbox serve ...``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from clearinghouse_sandbox import keys, logs
from clearinghouse_sandbox.sandbox import Sandbox, SandboxConfig
from clearinghouse_sandbox.state import Switches


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clearinghouse-sandbox",
        description="An SFTP clearinghouse for demos and tests: 837 in, TA1/999/277CA out.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    keygen = commands.add_parser("keygen", help="write host and client keys")
    keygen.add_argument("--dir", type=Path, required=True)
    keygen.add_argument("--force", action="store_true", help="replace existing keys")

    serve = commands.add_parser("serve", help="run the SFTP server and the control API")
    serve.add_argument("--root", type=Path, required=True)
    serve.add_argument("--sftp-port", type=int, default=2222)
    serve.add_argument("--control-port", type=int, default=8099)
    serve.add_argument("--host-key", type=Path, required=True)
    serve.add_argument("--authorized-keys", type=Path, required=True)
    serve.add_argument("--username", default="rcm")
    serve.add_argument("--reject-pattern", default=None)
    serve.add_argument("--delay-seconds", type=float, default=0.0)
    serve.add_argument("--payer-277ca", action="store_true")
    serve.add_argument(
        "--upload-delay-seconds", type=float, default=0.0, help="slow every SFTP write"
    )
    serve.add_argument("--bind", default="127.0.0.1")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    config = SandboxConfig(
        root=args.root,
        host_key=args.host_key,
        authorized_keys=args.authorized_keys,
        username=args.username,
        sftp_port=args.sftp_port,
        control_port=args.control_port,
        bind=args.bind,
        switches=Switches(
            reject_pattern=args.reject_pattern,
            delay_seconds=args.delay_seconds,
            payer_277ca=args.payer_277ca,
            upload_delay_seconds=args.upload_delay_seconds,
        ),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    sandbox = Sandbox(config)
    await sandbox.start()
    try:
        await stop.wait()
    finally:
        await sandbox.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "keygen":
        try:
            files = keys.generate(args.dir, overwrite=args.force)
        except FileExistsError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(keys.public_key_line(files.host_key))
        return 0
    logs.configure()
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
