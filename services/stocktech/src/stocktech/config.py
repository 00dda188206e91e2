from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from avelar_kit.settings import ModuleSettings


class Settings(ModuleSettings):
    model_config = SettingsConfigDict(env_prefix="STOCKTECH_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/stocktech"
    host: str = "127.0.0.1"
    port: int = 8001

    avadmin_client_id: str = "stocktech"
    events_stream: str = "avelar:events:stocktech"

    # A plan or status learnt from an AvAdmin event wins over AvAdmin's (possibly cached) answer
    # for this long; after it the answer read for a write is fresh again and wins. It must be at
    # least the AvAdmin client's stale-data bound for writes.
    event_precedence_seconds: int = Field(default=300, ge=0)

    idempotency_retention_hours: int = Field(default=24, ge=1)
    # In-service scheduled jobs (avelar_kit.jobs; one replica runs each). 0 turns one off;
    # `stocktech prune-idempotency` runs it once (a CronJob).
    prune_idempotency_interval_seconds: float = Field(default=3600, ge=0)
