from __future__ import annotations

from avelar_kit.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LUCRUM_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/lucrum"
    avadmin_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base URL of AvAdmin (internal API and /.well-known/jwks.json).",
    )
    # Client credentials for AvAdmin's internal API (service token). Never committed.
    avadmin_client_id: str = "lucrum"
    avadmin_client_secret: str | None = None

    # Bank statements are small (a year of a busy account is well under 1 MB); the bound keeps
    # one upload from filling memory.
    import_max_bytes: int = 5 * 1024 * 1024

    # Consume StockTech's events (Redis Stream) inside the API process.
    consume_events: bool = True
    events_stream: str = "avelar:events:stocktech"
    events_group: str = "lucrum"
