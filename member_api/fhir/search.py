"""FHIR search parameters as this API reads them: references, ``_lastUpdated`` ranges, page cursors. Pure."""

from __future__ import annotations

import base64
import calendar
import re
from datetime import date, datetime, timedelta, tzinfo

PREFIXES = ("eq", "ge", "gt", "le", "lt")
FHIR_PREFIXES = (*PREFIXES, "ne", "sa", "eb", "ap")
_REFERENCE = re.compile(r"^(?:(?:https?://[^?#]*/)?(?P<type>[A-Za-z]+)/)?(?P<id>[0-9]{1,10})$")
_DATE = re.compile(r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?$")
_ZONE = re.compile(r"(Z|[+-]\d{2}:\d{2})$")
# Instants a database timestamp holds on both engines once converted to UTC (0001-01-01 local underflows).
EARLIEST, LATEST = datetime(1900, 1, 1), datetime(9999, 1, 1)


class SearchError(ValueError):
    """A search parameter this server cannot use; ``not_supported`` for a valid FHIR form it does not do."""

    def __init__(self, parameter: str, message: str, *, not_supported: bool = False) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message
        self.not_supported = not_supported


def reference_id(parameter: str, value: str, resource_type: str) -> int:
    """``12``, ``Patient/12`` or ``https://host/fhir/R4/Patient/12`` -> 12."""
    match = _REFERENCE.match(value.strip())
    if match is None or (match["type"] and match["type"] != resource_type) or int(match["id"]) < 1:
        raise SearchError(parameter, f"{parameter} must be {resource_type}/<id> or <id>")
    return int(match["id"])


def _range(value: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """The instants [start, end) a FHIR date or dateTime of some precision covers (local time when no zone)."""
    match = _DATE.match(value)
    if match:
        year, month, day = int(match["y"]), int(match["m"] or 1), int(match["d"] or 1)
        start_day = date(year, month, day)  # raises ValueError for impossible dates
        if match["d"]:
            end_day = start_day + timedelta(days=1)
        elif match["m"]:
            end_day = start_day + timedelta(days=calendar.monthrange(year, month)[1])
        else:
            end_day = date(year + 1, 1, 1)
        return _midnight(start_day, tz), _midnight(end_day, tz)
    if "T" not in value:
        raise ValueError(value)
    value = value.replace(" ", "+")  # an unencoded "+" of a zone offset arrives as a space
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    time_part = _ZONE.sub("", value.split("T", 1)[1])
    if "." in time_part:
        step = timedelta(microseconds=1)
    elif time_part.count(":") == 2:
        step = timedelta(seconds=1)
    else:
        step = timedelta(minutes=1)
    return moment, moment + step


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def last_updated(values: list[str], tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    """``_lastUpdated`` values (ANDed) -> the instants [from, before) they leave; None for an open side.

    ``eq`` (the default) is the whole range of the value's precision: ``2026-11`` is all of November, local time.
    """
    lower: datetime | None = None
    upper: datetime | None = None
    for raw in values:
        text = raw.strip()
        prefix = text[:2] if text[:2] in FHIR_PREFIXES else "eq"
        if text[:2] in FHIR_PREFIXES:
            text = text[2:]
        if prefix not in PREFIXES:
            raise SearchError("_lastUpdated", f"the prefix {prefix!r} is not supported", not_supported=True)
        try:
            start, end = _range(text, tz)
        except (ValueError, OverflowError):  # year 9999's end (year 10000) overflows
            raise SearchError("_lastUpdated", f"{raw!r} is not a FHIR date or dateTime") from None
        if not (EARLIEST <= start.replace(tzinfo=None) and end.replace(tzinfo=None) <= LATEST):
            raise SearchError("_lastUpdated", f"{raw!r} is outside the years {EARLIEST.year}-{LATEST.year - 1}")
        low, high = {"eq": (start, end), "ge": (start, None), "gt": (end, None), "le": (None, end)}.get(
            prefix, (None, start)
        )
        if low is not None and (lower is None or low > lower):
            lower = low
        if high is not None and (upper is None or high < upper):
            upper = high
    return lower, upper


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"eob:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(value: str) -> int:
    try:
        text = base64.urlsafe_b64decode(value.encode() + b"==").decode()
    except (ValueError, UnicodeDecodeError):
        text = ""
    kind, _, number = text.partition(":")
    if kind != "eob" or not number.isdigit() or int(number) < 1:
        raise SearchError("_cursor", "the page cursor is not valid")
    return int(number)
