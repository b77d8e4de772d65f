"""A clearinghouse of our own: SFTP in, pyx12 validation, TA1 / 999 / 277CA out, with
switches for rejections, outages and slowness."""

from clearinghouse_sandbox.sandbox import Sandbox, SandboxConfig
from clearinghouse_sandbox.state import AcknowledgmentFile, ReceivedFile, Switches

__all__ = ["AcknowledgmentFile", "ReceivedFile", "Sandbox", "SandboxConfig", "Switches"]
