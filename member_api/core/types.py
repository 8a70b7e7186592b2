"""Constrained scalar types shared by request schemas: the OpenAPI document states every bound."""

import base64
import re
from typing import Annotated

import msgspec
from litestar.params import Parameter

from member_api.core.errors import DomainError

MAX_ID = 2_147_483_647  # serial primary keys
PathId = Annotated[int, Parameter(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Parameter(ge=1, le=MAX_ID)]
BodyId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Phone = Annotated[str, msgspec.Meta(pattern=r"^1[3-9]\d{9}$", description="mainland mobile number")]
OtpCode = Annotated[str, msgspec.Meta(pattern=r"^\d{6}$")]
# "lat,lng" in decimal degrees, each within its range (latitude -90..90, longitude -180..180).
LAT = r"-?(?:90(?:\.0{1,10})?|[1-8]?[0-9](?:\.[0-9]{1,10})?)"
LNG = r"-?(?:180(?:\.0{1,10})?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]{1,10})?)"
Near = Annotated[str | None, Parameter(description="lat,lng in decimal degrees (WGS 84)", pattern=f"^{LAT},{LNG}$")]
# A page cursor is the unpadded base64url form of a decimal number of 1-12 digits: the pattern admits exactly
# those strings (each 4-character group spells three digits, a 2- or 3-character tail one or two).
_DIGIT_HEAD = "(?:[MN][DTjz]|O[DT])"
_GROUP = f"{_DIGIT_HEAD}[AEIMQUYcgk][wxyz0-5]"
CURSOR_PATTERN = f"^(?:{_GROUP}){{0,3}}(?:{_GROUP}|(?:[MN][AQgw]|O[AQ])|{_DIGIT_HEAD}[AEIMQUYcgk])$"
Cursor = Annotated[str | None, Parameter(pattern=CURSOR_PATTERN, description="opaque page cursor (next_cursor)")]
_CURSOR = re.compile(CURSOR_PATTERN)


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The position a cursor names (None without one); beyond the largest id it means "past every row"."""
    if not cursor:
        return None
    if not _CURSOR.match(cursor):
        raise DomainError("invalid_cursor", "分页参数无效", "The cursor is not valid.")
    return min(int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()), MAX_ID)


Fen = msgspec.Meta(ge=0, le=100_000_000, description="amount in fen (1/100 CNY)")
