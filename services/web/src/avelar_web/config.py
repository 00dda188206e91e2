"""The portal's settings (``WEB_*``). It has no database and no Redis of its own: it reaches
the three modules' public APIs at these URLs with the person's token."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from avelar_kit.settings import ServiceSettings


class WebSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore", env_file=None)

    port: int = 8080
    avadmin_url: str = "http://127.0.0.1:8000"
    stocktech_url: str = "http://127.0.0.1:8001"
    lucrum_url: str = "http://127.0.0.1:8002"
    # Signs the CSRF tokens. Unset, a random one per process (forms open before a restart then
    # ask to be sent again); set it when running more than one worker or replica.
    secret_key: SecretStr | None = None
    # Cookies get the Secure flag when the request came over HTTPS (directly or as told by a
    # trusted proxy's X-Forwarded-Proto); true forces it, false never sets it.
    cookie_secure: bool | None = None
    # The access token is refreshed when it expires within this many seconds.
    refresh_margin_seconds: int = Field(default=120, ge=0)
    api_timeout_seconds: float = 10.0


@lru_cache
def get_settings() -> WebSettings:
    return WebSettings()
