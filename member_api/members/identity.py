"""Chinese resident ID numbers (GB 11643-1999) and the masks shown instead of personal data."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

import msgspec

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")
_PHONE = re.compile(r"^1[3-9]\d{9}$")
# Request bodies state the shape (OpenAPI ``pattern``); ``id_problem`` adds the birth date and the check digit.
IdNumber = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{17}[0-9Xx]$",
        description="resident ID number (GB 11643): 17 digits and a check digit; the server also checks the "
        "birth date and the check digit",
    ),
]


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def normalise_id(value: str) -> str:
    return value.strip().upper()


def id_problem(value: str) -> str | None:
    """None when ``value`` is a well-formed ID number; otherwise why not (English, for ``errors[]``)."""
    value = normalise_id(value)
    if not _SHAPE.match(value):
        return "must be 17 digits and a check digit (0-9 or X)"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "contains an impossible birth date"
    if check_digit(value[:17]) != value[17]:
        return "check digit does not match (GB 11643)"
    return None


def birth_date_of(id_number: str) -> date:
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def mask_id(id_number: str) -> str:
    """``4402**********123X``: the division prefix and the last four, as the counters print them."""
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def valid_phone(phone: str) -> bool:
    return bool(_PHONE.match(phone))


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳小明 -> 欧***: the family name stays, the counter can still greet the person."""
    return name[:1] + "*" * max(1, len(name) - 1)
