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
Cursor = Annotated[str | None, Parameter(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="opaque page cursor")]
Fen = msgspec.Meta(ge=0, le=100_000_000, description="amount in fen (1/100 CNY)")
