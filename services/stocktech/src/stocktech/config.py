from __future__ import annotations

from typing import ClassVar

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from avelar_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="STOCKTECH_", extra="ignore",
                                      populate_by_name=True)
    # The seed's name (compose, Kubernetes); STOCKTECH_AVADMIN_URL wins when both are set.
    seed_env_names: ClassVar[dict[str, str]] = {"avadmin_url": "AVADMIN_API_URL"}

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/stocktech"
    host: str = "127.0.0.1"
    port: int = 8001

    # AvAdmin: tokens are verified against its JWKS; the internal API is read with a service
    # token obtained by client credentials (docs/avadmin-contract.md). The second names are the
    # ones `make run` (avelar_devstack) sets.
    avadmin_url: str = Field(
        default="http://127.0.0.1:8000",
        validation_alias=AliasChoices("STOCKTECH_AVADMIN_URL", "STOCKTECH_AVADMIN_API_URL"),
    )
    avadmin_client_id: str = Field(
        default="stocktech",
        validation_alias=AliasChoices("STOCKTECH_AVADMIN_CLIENT_ID",
                                      "STOCKTECH_SERVICE_CLIENT_ID"),
    )
    avadmin_client_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("STOCKTECH_AVADMIN_CLIENT_SECRET",
                                      "STOCKTECH_SERVICE_CLIENT_SECRET"),
    )

    # Background workers (outbox relay, AvAdmin event consumer). Tests drive the handlers
    # directly and turn these off.
    events_enabled: bool = True
    events_stream: str = "avelar:events:stocktech"
    avadmin_events_stream: str = "avelar:events:avadmin"
    consumer_group: str = "stocktech"

    # A plan or status learnt from an AvAdmin event wins over AvAdmin's (possibly cached) answer
    # for this long; after it the answer read for a write is fresh again and wins. It must be at
    # least the AvAdmin client's stale-data bound for writes.
    event_precedence_seconds: int = Field(default=300, ge=0)

    idempotency_retention_hours: int = Field(default=24, ge=1)
    # In-service scheduled jobs (avelar_kit.jobs; one replica runs each). 0 turns one off;
    # `stocktech prune-idempotency` runs it once (a CronJob).
    prune_idempotency_interval_seconds: float = Field(default=3600, ge=0)
