"""Bodies of /v1/me/credential."""

from datetime import datetime

import msgspec


class Credential(msgspec.Struct, kw_only=True):
    token: str
    expires_at: datetime
    refresh_after: datetime
    eligible: bool
    year: int
