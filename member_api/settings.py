"""Settings read from ``MEMBER_API_*`` environment variables; defaults run an embedded SQLite file."""

from __future__ import annotations

import os
import re
from pathlib import Path

import msgspec


class Settings(msgspec.Struct, kw_only=True):
    """Runtime configuration. Every field maps to ``MEMBER_API_<FIELD>`` (upper case)."""

    database_url: str = ""
    listen_database_url: str = ""
    """A DIRECT PostgreSQL connection for the credential-used LISTEN (one per worker); default: ``database_url``.
    Set it when ``database_url`` points at PgBouncer in transaction mode, which cannot keep a LISTEN."""
    read_database_url: str = ""
    """A streaming replica for reads that may lag (agency analytics, exports, FHIR searches, history before today);
    empty: everything reads the primary. A replica that is down or behind is skipped (``read_max_lag_s``)."""
    read_max_lag_s: float = 5.0
    """The replica is used only while it has replayed everything the primary had written this long ago."""
    db_statement_cache_size: int = -1
    """asyncpg's prepared-statement cache per connection; -1 keeps asyncpg's default (100). Behind PgBouncer in
    transaction mode set 0 (Debian 12's PgBouncer 1.18 has no ``max_prepared_statements``)."""
    max_requests_per_worker: int = 4096
    """Requests one server worker holds at once (granian's backpressure); every open e-credential screen holds one,
    its event stream, so this bounds the screens a worker serves (the database does not: they cost it nothing)."""
    otel_endpoint: str = ""
    """OTLP/HTTP traces endpoint (e.g. ``http://collector:4318/v1/traces``); empty: no tracing, at no cost."""
    otel_service_name: str = "member-api"
    data_dir: str = "./var"
    key_dir: str = ""
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    credential_ttl_s: int = 60
    quote_ttl_s: int = 300
    """How long a counter pre-settlement quote (``POST /v1/counter/quotes``) may be named by a settlement."""
    otp_ttl_s: int = 300
    otp_max_attempts: int = 5
    otp_per_phone_per_minute: int = 1
    otp_per_phone_per_day: int = 10
    otp_per_client_per_hour: int = 30
    binding_failures_per_day: int = 5
    """Self-service binding attempts per account per (UTC) day; each is counted before it is evaluated."""
    family_requests_per_day: int = 5
    """Family authorisation requests per account per (UTC) day; each is counted before it is evaluated."""
    binding_code_ttl_s: int = 600
    binding_codes_per_hour: int = 10
    counter_bindings_per_hour: int = 60
    """Counter binding attempts per clerk or reviewer per hour."""
    staff_free_failures: int = 5
    """Staff login attempts per (username, client address) before the growing delay starts."""
    staff_client_free_failures: int = 20
    """Staff login attempts per client address (any username) before its growing delay starts."""
    staff_delay_base_s: float = 1.0
    staff_delay_max_s: float = 900.0
    staff_forget_s: float = 3600.0
    """A key with no attempt for this long starts again from zero."""
    sms_backend: str = ""
    """``tencent:``, ``aliyun:``, ``file:PATH``, ``none`` or a comma-separated failover list (docs/operations.md)."""
    sms_retry_after_s: int = 30
    """Retry-After of the 503 answered when no SMS provider accepted a message."""
    sms_receipt_token: str = ""
    """Shared secret in the delivery-receipt callback URLs the providers call; empty: callbacks refused."""
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    """The mini-program's AppSecret (or ``MEMBER_API_WECHAT_APP_SECRET_FILE``); empty: WeChat login is off."""
    wechat_logins_per_client_per_hour: int = 30
    wechat_templates: str = ""
    """Subscription-message template ids per notice kind: ``settlement=ID,claim_decided=ID,...``."""
    wechat_page: str = "pages/notices/index"
    """Mini-program page a subscription message opens (with ``?id=<notice id>``)."""
    push_backend: str = ""
    push_interval_s: float = 1.0
    alert_scan_interval_s: float = 300.0
    """How often each worker looks for alerts due (decisions, designation dates, claim windows); 0: never."""
    push_max_attempts: int = 8
    """Failed pushes of one notice before it is dead-lettered (``member-api outbox``)."""
    push_backoff_s: float = 30.0
    """First retry delay of a failed push; doubles per attempt (at most an hour)."""
    push_expire_s: int = 3 * 24 * 3600
    """A notice not pushed within this long is dead-lettered as ``expired`` (it stays in the app's list)."""
    log_level: str = "INFO"
    payment_credential_hashes: str = ""
    """SHA-256 (hex, comma separated) of the agency payment system's bearer secrets (``member-api payment-credential``);
    empty: ``POST /v1/payments/events`` is refused to everyone."""
    payment_channel_url: str = ""
    """Where the app sends a resident to pay the yearly contribution (the tax bureau's or the agency's channel)."""
    docs_assets_dir: str = ""  # Swagger UI files for /docs; default: node_modules/swagger-ui-dist of the checkout
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 5 * 1_048_576
    max_upload_files: int = 5
    max_image_pixels: int = 24_000_000
    """Decoded pixel budget per upload (all frames): a 6000x4000 photo fits; about 96 MB decoded as RGBA."""
    issuer: str = "member-api"
    audience: str = "member-api"
    redis_url: str = ""
    metrics_token: str = ""
    """Bearer token that ``GET /metrics`` requires; while empty, metrics are not served at all."""
    cors_origins: str = ""
    """Comma-separated browser origins (the mini-program's H5 pages) allowed to call the API; empty: none."""
    console_idle_timeout_s: int = 900
    db_acquire_timeout_s: float = 2.0
    """Longest wait for a pooled database connection; then 503 ``service_unavailable`` (the pool is exhausted)."""
    db_connect_timeout_s: float = 3.0
    """Longest wait to open a database connection (a host that does not answer)."""
    db_lock_timeout_s: float = 2.0
    """Longest wait for a row lock (PostgreSQL ``lock_timeout``; SQLite's busy wait is ``db_busy_timeout_s``)."""
    db_statement_timeout_s: float = 15.0
    """Longest statement (PostgreSQL ``statement_timeout``; the client gives up 2 s later if the network stalls)."""
    db_busy_timeout_s: float = 5.0
    """SQLite: longest wait for the write lock before ``database is locked`` (then 503)."""
    retry_after_s: int = 2
    """The ``Retry-After`` of a 503 when the database is unavailable or busy."""
    fsi_session_ttl_s: int = 86_400
    """How long an operator's sign-in (9001 ``sign_no``) of the facility interface stays valid."""
    fsi_max_body_bytes: int = 262_144
    """Largest facility-interface message; a larger one is answered in the envelope (``message_too_large``)."""
    national_ec_url: str = ""
    """The national e-credential decoding service (``ec.query``), e.g. ``https://.../localcfc/api/hsecfc/
    localQrCodeQuery``; empty: national codes are refused (``national_credential_unavailable``)."""
    national_ec_paas_id: str = ""
    national_ec_paas_token: str = ""
    """Gateway credentials sent as ``x-tif-paasid`` and the ``x-tif-signature`` headers (SHA-256 over timestamp,
    token and nonce, as the national gateway asks)."""
    national_ec_timeout_s: float = 5.0
    national_ec_business_type: str = "01101"
    """``businessType`` of the decoding request: 01101 outpatient registration (01301 is a pharmacy purchase)."""

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{Path(self.data_dir) / 'member_api.sqlite3'}"

    @property
    def resolved_key_dir(self) -> Path:
        return Path(self.key_dir) if self.key_dir else Path(self.data_dir) / "keys"

    @property
    def resolved_sms_backend(self) -> str:
        return self.sms_backend or f"file:{Path(self.data_dir) / 'sms.jsonl'}"

    @property
    def resolved_push_backend(self) -> str:
        return self.push_backend or f"file:{Path(self.data_dir) / 'push.jsonl'}"

    @property
    def cors_origin_list(self) -> list[str]:
        origins = [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]
        for origin in origins:
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", origin):
                raise ValueError(f"MEMBER_API_CORS_ORIGINS: {origin!r} is not an origin like https://h5.example.cn")
        return origins

    @property
    def wechat_template_map(self) -> dict[str, str]:
        pairs = (p.split("=", 1) for p in self.wechat_templates.split(",") if "=" in p)
        return {k.strip(): v.strip() for k, v in pairs}

    def __repr__(self) -> str:  # settings hold secrets: never print them whole
        return f"Settings(database_url=<{len(self.database_url)} chars>, data_dir={self.data_dir!r})"

    @property
    def resolved_listen_database_url(self) -> str:
        return self.listen_database_url or self.resolved_database_url

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Build from the environment; ``overrides`` win (used by tests and the CLI)."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for field in msgspec.structs.fields(cls):
            value = env.get(f"MEMBER_API_{field.name.upper()}")
            secret_file = env.get(f"MEMBER_API_{field.name.upper()}_FILE")
            if value is None and secret_file:  # secrets mounted as files (Docker/Kubernetes secrets)
                value = Path(secret_file).read_text().strip()
            if value is not None:
                raw[field.name] = value
        raw.update(overrides)
        return msgspec.convert(raw, cls, strict=False)
