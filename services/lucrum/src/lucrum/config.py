from __future__ import annotations

from typing import ClassVar

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from avelar_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LUCRUM_", extra="ignore", populate_by_name=True)
    # The seed's name (compose, Kubernetes); LUCRUM_AVADMIN_URL wins when both are set.
    seed_env_names: ClassVar[dict[str, str]] = {"avadmin_url": "AVADMIN_API_URL"}

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/lucrum"
    host: str = "127.0.0.1"
    port: int = 8002

    # AvAdmin: tokens are verified against its JWKS; the internal API is read with a service
    # token obtained by client credentials (docs/avadmin-contract.md). The second names are the
    # ones `make run` (avelar_devstack) sets.
    avadmin_url: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias=AliasChoices("LUCRUM_AVADMIN_URL", "LUCRUM_AVADMIN_API_URL"),
    )
    avadmin_client_id: str = Field(
        default="lucrum",
        validation_alias=AliasChoices("LUCRUM_AVADMIN_CLIENT_ID", "LUCRUM_SERVICE_CLIENT_ID"),
    )
    avadmin_client_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("LUCRUM_AVADMIN_CLIENT_SECRET",
                                      "LUCRUM_SERVICE_CLIENT_SECRET"),
    )

    # Bank statements are small (a year of a busy account is well under 1 MB); the bound keeps
    # one upload from filling a disk or a worker.
    import_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)

    # Event consumers (StockTech sales, AvAdmin cache invalidation) run inside the API process.
    # Tests call the handlers directly and turn this off.
    events_enabled: bool = True
    stocktech_events_stream: str = "avelar:events:stocktech"
    avadmin_events_stream: str = "avelar:events:avadmin"
    consumer_group: str = "lucrum"
