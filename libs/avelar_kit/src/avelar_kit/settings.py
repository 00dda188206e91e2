"""Settings shared by every module. Each service subclasses ``ServiceSettings`` with its own
``env_prefix`` (``AVADMIN_``, ``STOCKTECH_``, ``LUCRUM_``); every value can come from the
environment, none is a secret committed to the repository."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

TOKEN_ISSUER = "avelarsys-avadmin"  # noqa: S105 (an issuer name, not a secret)
USER_AUDIENCE = "avelarsys"
SERVICE_AUDIENCE = "avadmin-internal"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        description="SQLAlchemy URL of this module's own database (asyncpg driver).",
    )
    redis_url: str = "redis://127.0.0.1:6379/0"
    log_format: str = Field(default="text", pattern="^(text|json)$")
    log_level: str = "INFO"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    # Seconds a request waits for a free connection before it gets a 503.
    db_pool_timeout: float = 5.0

    token_issuer: str = TOKEN_ISSUER
    token_audience: str = USER_AUDIENCE
