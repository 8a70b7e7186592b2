"""Settings read from ``MEMBER_API_*`` environment variables; defaults run an embedded SQLite file."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec


class Settings(msgspec.Struct, kw_only=True):
    """Runtime configuration. Every field maps to ``MEMBER_API_<FIELD>`` (upper case)."""

    database_url: str = ""
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
    staff_max_failures: int = 5
    staff_lockout_s: int = 900
    sms_backend: str = ""
    push_backend: str = ""
    push_interval_s: float = 1.0
    log_level: str = "INFO"
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 5 * 1_048_576
    max_upload_files: int = 5
    max_image_pixels: int = 40_000_000
    issuer: str = "member-api"
    audience: str = "member-api"
    redis_url: str = ""
    console_idle_timeout_s: int = 900

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
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Build from the environment; ``overrides`` win (used by tests and the CLI)."""
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for field in msgspec.structs.fields(cls):
            value = env.get(f"MEMBER_API_{field.name.upper()}")
            if value is not None:
                raw[field.name] = value
        raw.update(overrides)
        return msgspec.convert(raw, cls, strict=False)
