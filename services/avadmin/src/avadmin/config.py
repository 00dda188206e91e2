from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr
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

    # Failed logins per CPF *and client address*: after login_max_failures that client gets
    # 429 on that CPF for login_lockout_seconds (a stranger cannot lock the owner out).
    login_max_failures: int = 5
    login_lockout_seconds: int = 15 * 60
    # CPF-wide, from every client together: past this many failures in the lockout window each
    # attempt on the CPF is slowed by login_cpf_slowdown_seconds, never refused.
    login_cpf_slowdown_after: int = 50
    login_cpf_slowdown_seconds: float = Field(default=1.0, ge=0)
    # Abuse limits per client address ("limits" notation), besides abuse_limit_public.
    abuse_limit_login: str = "20/minute"
    abuse_limit_signup: str = "10/hour"
    abuse_limit_refresh: str = "60/minute"
    abuse_limit_operator_login: str = "10/minute"
    abuse_limit_service_token: str = "120/minute"  # noqa: S105 (a rate, not a secret)

    # -- billing (issue 11) --------------------------------------------------------------------
    # MercadoPago: the access token of the seller's application and the webhook secret
    # ("assinatura secreta" of Your integrations > Webhooks). Without them `make run` starts the
    # local stand-in (tools/standins) and points these at it.
    mercadopago_api_url: str = "https://api.mercadopago.com"
    mercadopago_access_token: SecretStr | None = None
    mercadopago_webhook_secret: SecretStr | None = None
    mercadopago_timeout_seconds: float = Field(default=10.0, gt=0)
    # A webhook whose ts is further than this from now is refused (replays).
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    # Where MercadoPago reaches AvAdmin (notification_url) and sends the payer back (back_url).
    public_url: str = "http://127.0.0.1:8000"
    # MercadoPago needs a payer e-mail; companies have none in AvAdmin, so the checkout may send
    # one and otherwise billing+<account>@<this domain> is used.
    payer_email_domain: str = "clientes.avelarsys.com.br"
    pix_expiration_minutes: int = Field(default=30, ge=5, le=60 * 24 * 30)
    # A company whose paid period ended this many days ago without payment is suspended.
    billing_grace_days: int = Field(default=7, ge=0)
    # Usage for plan changes: StockTech's internal usage endpoint (products, purchases).
    stocktech_url: str | None = None

    # -- privacy (LGPD export and erasure, docs/privacy.md) ------------------------------------
    # The modules that answer for their part of a person's export (their internal endpoint
    # ``GET /api/internal/privacy/users/{id}``, with AvAdmin's service token). A module without
    # a URL is left out of the export, and the export says so.
    lucrum_url: str | None = None
    # How long an export request waits for the modules before answering with what is missing
    # (the job completes it later), and each module call's own bound.
    privacy_export_wait_seconds: float = Field(default=3.0, gt=0)
    # How long the person can download a finished export; after that it is deleted.
    privacy_export_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    # The job that completes exports and finishes erasures (0 disables it).
    privacy_job_interval_seconds: float = Field(default=30.0, ge=0)

    # Scheduled jobs inside the service (avelar_kit.jobs, one replica runs each); 0 disables
    # one. Each also runs once from the CLI for a CronJob.
    dunning_interval_seconds: float = Field(default=3600, ge=0)
    prune_outbox_interval_seconds: float = Field(default=6 * 3600, ge=0)
    outbox_retention_days: int = Field(default=7, ge=1)
    # Webhook work after the answer: woken by each webhook, and a sweep retries leftovers.
    billing_worker_enabled: bool = True
    billing_sweep_seconds: float = Field(default=10.0, gt=0)

    # WhatsApp Cloud API. Without a phone number id and token nothing is sent (messages wait in
    # the outbox); `make run` points these at the local stand-in (avelar_standins.whatsapp).
    whatsapp_api_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    whatsapp_phone_number_id: str | None = None
    whatsapp_access_token: SecretStr | None = None
    whatsapp_timeout: float = 5.0
    # The delivery outbox: attempts before a message becomes a dead letter, backoff between them.
    messaging_enabled: bool = True
    messaging_max_attempts: int = 8
    messaging_backoff_base: float = 2.0
    messaging_backoff_max: float = 600.0
    messaging_poll_interval: float = 0.5

    # Codes sent by WhatsApp (verification, signup, password recovery).
    otp_ttl_seconds: int = 10 * 60
    otp_max_attempts: int = 5
    otp_resend_cooldown_seconds: int = 60
    otp_limit_window_seconds: int = 3600
    otp_max_per_number: int = 5  # codes sent to one number per window
    otp_max_per_client: int = 20  # code requests from one client (IP) per window
    # Key of the codes' HMAC; when unset, one is derived from the signing key.
    otp_secret: SecretStr | None = None
    rate_limit_prefix: str = "avelar:avadmin:limits"
    signup_pending_ttl_seconds: int = 30 * 60
    # Refusals of an already-registered CPF when an admin adds a user, per admin per window.
    user_create_refusals_per_window: int = 5

    # WhatsApp notifications: AvAdmin consumes these streams (StockTech's purchases and its own
    # billing events) and tells the companies whose plan has the ``whatsapp`` feature.
    notifications_enabled: bool = True
    notifications_stocktech_stream: str = "avelar:events:stocktech"
    notifications_group: str = "avadmin-notifications"
