from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from avelar_kit.settings import ModuleSettings


class Settings(ModuleSettings):
    model_config = SettingsConfigDict(env_prefix="PARTNER_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/partner"
    # The name AvAdmin lists in an account's enabled_modules for this module.
    module_name: str = "Parceiro"
    avadmin_client_id: str = "partner"
    avadmin_cache_ttl: float = 300
