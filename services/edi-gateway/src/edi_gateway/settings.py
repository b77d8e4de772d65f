from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    service_name: str = "edi-gateway"
    db_schema: str = "edi_gateway"
    http_port: int = 8005
    edi_local_root: Path | None = Field(
        default=None,
        description="EDI_LOCAL_ROOT: where a LOCAL_FOLDER clearinghouse's relative folders "
        "resolve (the working directory when unset).",
    )
    edi_batch_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the batcher looks for due batches."
    )
    edi_retry_max_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Longest wait before retrying a batch that could not be built or a "
        "delivery that failed (the wait doubles from 1 s up to this).",
    )
    edi_ack_poll_seconds: float = Field(
        default=5.0, gt=0, description="How often the acknowledgment folders are read."
    )
    edi_sftp_operation_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Longest wait for one SFTP operation (stat, upload, rename, listing) "
        "once connected; connecting waits the clearinghouse's connect_timeout_seconds.",
    )
