"""Constrained scalar types shared by request schemas: the OpenAPI document states every bound."""

from typing import Annotated

import msgspec
from litestar.params import Parameter

MAX_ID = 2_147_483_647  # serial primary keys
PathId = Annotated[int, Parameter(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Parameter(ge=1, le=MAX_ID)]
BodyId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Phone = Annotated[str, msgspec.Meta(pattern=r"^1[3-9]\d{9}$", description="mainland mobile number")]
OtpCode = Annotated[str, msgspec.Meta(pattern=r"^\d{6}$")]
IdNumber = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{17}[0-9Xx]$",
        description="resident ID number (GB 11643): 17 digits and a check digit; the server also checks the "
        "birth date and the check digit",
    ),
]
# "lat,lng" in decimal degrees, each within its range (latitude -90..90, longitude -180..180).
LAT = r"-?(?:90(?:\.0{1,10})?|[1-8]?[0-9](?:\.[0-9]{1,10})?)"
LNG = r"-?(?:180(?:\.0{1,10})?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]{1,10})?)"
Near = Annotated[str | None, Parameter(description="lat,lng in decimal degrees (WGS 84)", pattern=f"^{LAT},{LNG}$")]
Cursor = Annotated[str | None, Parameter(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="opaque page cursor")]
Fen = msgspec.Meta(ge=0, le=100_000_000, description="amount in fen (1/100 CNY)")
