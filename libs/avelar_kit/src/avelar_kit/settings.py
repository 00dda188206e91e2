"""Settings shared by every module. Each service subclasses ``ServiceSettings`` with its own
``env_prefix`` (``AVADMIN_``, ``STOCKTECH_``, ``LUCRUM_``); every value can come from the
environment, none is a secret committed to the repository.

Besides its prefixed names, a module reads the few variable names the seed itself uses
(``AVADMIN_API_URL``, ``NEON_DATABASE_URL``) as a second name for one field each, declared in
its ``seed_env_names``; the prefixed name wins when both are set (docs/deploy.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

TOKEN_ISSUER = "avelarsys-avadmin"  # noqa: S105 (an issuer name, not a secret)
USER_AUDIENCE = "avelarsys"
SERVICE_AUDIENCE = "avadmin-internal"


def asyncpg_url(url: str) -> str:
    """A PostgreSQL URL as given by a provider (``postgresql://...?sslmode=require``, Neon's
    shape) in the form SQLAlchemy's asyncpg driver takes: ``postgresql+asyncpg://``, ``ssl``
    instead of libpq's ``sslmode``, and libpq-only parameters asyncpg rejects dropped."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme in ("postgres", "postgresql"):
        scheme = "postgresql+asyncpg"
    if scheme != "postgresql+asyncpg":
        return url
    if scheme == parts.scheme and "sslmode=" not in parts.query \
            and "channel_binding=" not in parts.query:
        return url
    query = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "sslmode":
            key = "ssl"
        elif key == "channel_binding":  # libpq only; asyncpg negotiates SCRAM by itself
            continue
        query.append((key, value))
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


class _SeedEnvNames(PydanticBaseSettingsSource):
    """Reads ``settings_cls.seed_env_names`` (field -> unprefixed variable) from the
    environment; placed after the prefixed names, so those win."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        names: dict[str, str] = getattr(self.settings_cls, "seed_env_names", {})
        name = names.get(field_name)
        value = os.environ.get(name) if name else None
        return value, field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, field_name)
            if value is not None:
                found[key] = value
        return found


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    # The seed's variable names this module also reads: {"field": "VARIABLE"}.
    seed_env_names: ClassVar[dict[str, str]] = {}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _SeedEnvNames(settings_cls), dotenv_settings,
                file_secret_settings)

    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        description="URL of this module's own database as its app role (asyncpg driver): "
                    "the role the service connects as, which owns nothing and cannot bypass "
                    "row-level security (avelar_kit.db.roles, ADR 0020).",
    )
    migration_database_url: str | None = Field(
        default=None,
        description="URL of the same database as its owner: `migrate`, `backup`, `restore`. "
                    "Unset: database_url (one role for everything, no separation).",
    )
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Redis connections of one process: about the requests it serves at once plus its
    # workers (consumers, relay). A request waits at most redis_pool_timeout for one.
    redis_max_connections: int = Field(default=64, ge=4)
    redis_pool_timeout: float = Field(default=0.2, gt=0)
    # What Redis may cost one request in total (every call together), and one call outside a
    # request; after redis_breaker_threshold failures in a row Redis is not asked for
    # redis_breaker_reset_seconds (avelar_kit.redis_guard).
    redis_request_budget: float = Field(default=0.2, gt=0)
    redis_call_timeout: float = Field(default=0.2, gt=0)
    redis_breaker_threshold: int = Field(default=3, ge=1)
    redis_breaker_reset_seconds: float = Field(default=5.0, gt=0)
    # The module's own variable (AVADMIN_LOG_FORMAT...) or, for every module at once, LOG_FORMAT.
    log_format: str = Field(default_factory=lambda: os.environ.get("LOG_FORMAT", "text"),
                            pattern="^(text|json)$")
    log_level: str = "INFO"
    # Connections kept open (opened as needed, never more than the busiest moment asked for),
    # and how many more a burst may open for the time of one request. Kept: a connection closed
    # on return and opened again costs PostgreSQL a new backend with cold caches and the driver
    # its type introspection; with 10 kept, a search at 20 concurrent requests was 0.28 of the
    # bare stack, with 20 kept 0.30-0.32 (`make bench`).
    db_pool_size: int = 20
    db_max_overflow: int = 10
    # Connections of the lean reads' own pool (ADR 0023; opened only by a module with lean
    # reads, AvAdmin): no overflow, a lean read without one declines to its route.
    db_lean_pool_size: int = Field(default=6, ge=1)
    # Seconds a request waits for a free connection before it gets a 503.
    db_pool_timeout: float = 5.0
    # Seconds to open a new connection (a server whose packets are dropped): then 503.
    db_connect_timeout: float = Field(default=5.0, gt=0)

    # -- serving: `<module> serve` (avelar_kit.ops.serve), the production start command --------
    host: str = "127.0.0.1"
    port: int = 8000
    # uvicorn worker processes; in a container, about one per CPU of its limit.
    workers: int = Field(default=1, ge=1, le=64)
    access_log: bool = True
    # Addresses whose X-Forwarded-For / -Proto are trusted (the ingress or load balancer).
    forwarded_allow_ips: str = "127.0.0.1"
    graceful_shutdown_seconds: int = Field(default=10, ge=0)

    # -- backups: `<module> backup | restore` (avelar_kit.ops.backup) -------------------------
    # Folder of pg_dump / pg_restore matching the server's major version; unset, the newest
    # suitable one is looked for on PATH, in /usr/lib/postgresql/*/bin and in pgserver.
    pg_bin_dir: Path | None = None
    backup_dir: Path = Path("backups")

    # Abuse limits per client address (avelar_kit.abuse, ADR 0013): every request without a
    # bearer token counts against abuse_limit_public ("limits" notation: "120/minute"). On
    # unless <MODULE>_ABUSE_LIMITS_ENABLED=false or, for every module, AVELAR_ABUSE_LIMITS=off
    # (the test plugin's default: tests send hundreds of requests from one address).
    abuse_limits_enabled: bool = Field(
        default_factory=lambda: os.environ.get("AVELAR_ABUSE_LIMITS", "on") != "off")
    abuse_limit_public: str = "120/minute"

    # Swagger UI at /docs and ReDoc at /redoc (the OpenAPI document stays at /openapi.json);
    # <MODULE>_DOCS_ENABLED=false in production if they must not be public.
    docs_enabled: bool = True

    token_issuer: str = TOKEN_ISSUER
    token_audience: str = USER_AUDIENCE

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _asyncpg_database_url(cls, value: str | None) -> str | None:
        return asyncpg_url(value) if value is not None else None

    @property
    def owner_database_url(self) -> str:
        """The owner's URL (migrations, backups, restores): ``migration_database_url``, else
        ``database_url``."""
        return self.migration_database_url or self.database_url

    # -- operations (docs/observability.md) ----------------------------------------------------
    # Event consumer name inside the module's consumer group. Stable across restarts, so that a
    # restarted replica resumes its own pending messages at once; unset, it is POD_NAME (set by
    # the Kubernetes downward API), else HOSTNAME, else the host name.
    consumer_name: str | None = None
    # Consumer names in the group with nothing pending and idle this long are removed.
    consumer_prune_idle_seconds: float = Field(default=600, ge=60)
    # Prometheus at /metrics. For several worker processes set PROMETHEUS_MULTIPROC_DIR (the
    # prometheus_client convention) to an empty directory before the workers start.
    metrics_enabled: bool = True
    # OpenTelemetry: spans are made (trace ids in logs, W3C trace context to AvAdmin and inside
    # events) unless tracing is off; they are exported only when an OTLP endpoint is set (this
    # setting or the standard OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
    tracing_enabled: bool = True
    otlp_endpoint: str | None = None

class ModuleSettings(ServiceSettings):
    """What every consuming module (StockTech, Lucrum, a partner's) reads to reach AvAdmin and
    to run its event workers: ``<MODULE>_AVADMIN_URL``, ``<MODULE>_AVADMIN_CLIENT_ID``,
    ``<MODULE>_AVADMIN_CLIENT_SECRET``, ... (and the seed's ``AVADMIN_API_URL``)."""

    # The seed's name (compose, Kubernetes); <MODULE>_AVADMIN_URL wins when both are set.
    seed_env_names: ClassVar[dict[str, str]] = {"avadmin_url": "AVADMIN_API_URL"}

    # AvAdmin: tokens are verified against its JWKS; the internal API is read with a service
    # token obtained by client credentials (docs/avadmin-contract.md).
    avadmin_url: str = "http://127.0.0.1:8000"
    avadmin_client_id: str = ""
    avadmin_client_secret: SecretStr | None = None
    avadmin_events_stream: str = "avelar:events:avadmin"
    # Background workers (outbox relay, event consumers) run inside the API process; tests
    # drive the handlers directly and turn them off.
    events_enabled: bool = True
    # This module's own outbox stream ("" when it publishes nothing).
    events_stream: str = ""
    # Defaults to the module's name in lower case: one group per module.
    consumer_group: str = ""
    # Connections to AvAdmin of one process (a burst beyond them waits avadmin_pool_timeout,
    # then answers from the cache's fallback; never counted as AvAdmin failing).
    avadmin_max_connections: int = Field(default=50, ge=1)
    avadmin_pool_timeout: float = Field(default=3.0, gt=0)
    # A write is authorised by a last-known answer at most this old while AvAdmin is down.
    avadmin_stale_write_bound: float = Field(default=900, ge=0)
    # The in-process copy of AvAdmin answers used when Redis is down too (entries; seconds a
    # last-known entry of it may serve reads).
    avadmin_local_max_entries: int = Field(default=10_000, ge=0)
    avadmin_local_last_known_ttl: float = Field(default=3600, ge=0)
