from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from avelar_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="STOCKTECH_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/stocktech"
    host: str = "127.0.0.1"
    port: int = 8001

    # AvAdmin: tokens are verified against its JWKS; the internal API is read with a service
    # token obtained by client credentials (docs/avadmin-contract.md).
    avadmin_url: str = "http://127.0.0.1:8000"
    avadmin_client_id: str = "stocktech"
    avadmin_client_secret: SecretStr | None = None

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
