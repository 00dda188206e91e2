from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from avelar_kit.settings import ModuleSettings


class Settings(ModuleSettings):
    model_config = SettingsConfigDict(env_prefix="LUCRUM_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/lucrum"
    host: str = "127.0.0.1"
    port: int = 8002

    avadmin_client_id: str = "lucrum"

    # Bank statements are small (a year of a busy account is well under 1 MB); the bound keeps
    # one upload from filling a disk or a worker.
    import_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)

    # StockTech's sales are posted from its event stream (consumer inside the API process).
    stocktech_events_stream: str = "avelar:events:stocktech"
