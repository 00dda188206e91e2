from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from avelar_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AVADMIN_", extra="ignore")
    # The seed's name for AvAdmin's (Neon) database; AVADMIN_DATABASE_URL wins when both are set.
    seed_env_names: ClassVar[dict[str, str]] = {"database_url": "NEON_DATABASE_URL"}

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/avadmin"
    # PEM of the Ed25519 signing key, or a file holding it. In development `make run` keeps one
    # under .avelar/keys; production mounts it from a secret store. Never committed.
    signing_key_pem: str | None = None
    signing_key_file: Path | None = None
    # Extra public keys (JWKS JSON) still accepted during a key rotation.
    previous_jwks_file: Path | None = None

    access_token_ttl: int = 15 * 60
    refresh_token_ttl: int = 30 * 24 * 3600
    service_token_ttl: int = 15 * 60

    # Outbox relay: publishes AvAdmin's domain events to this Redis Stream.
    events_relay_enabled: bool = True
    events_stream: str = "avelar:events:avadmin"

    login_max_failures: int = 5
    login_lockout_seconds: int = 15 * 60
