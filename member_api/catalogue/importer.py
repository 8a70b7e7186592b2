"""Reading the national catalogue files and a facility's code mapping (CSV, UTF-8 or GB18030) into version rows.

Rows are parsed here (pure); ``service`` merges them with the stored versions and writes the difference, so a
re-import of the same file changes nothing and a newer file closes the versions it supersedes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache

from member_api.policy.fee_lines import Category, Entry, Kind, selfpay_prop_bp

# Column names of the national files (first match wins): code, name, kind, category, up-front share, price ceiling,
# validity; ``list_type`` is the national list type (1xx drugs, 2xx services, 3xx consumables).
CODE_COLUMNS = ("med_list_codg", "hilist_code")
NAME_COLUMNS = ("med_list_name", "hilist_name", "name")
SPEC_COLUMNS = ("spec", "drug_spec")
PINYIN_COLUMNS = ("pinyin",)
OPEN_END = date(2099, 12, 31)
"""An ``enddate`` on or after this day is read as open-ended (the national files write 2099-12-31 for "none")."""
MAX_NAME = 200
ENCODINGS = ("utf-8-sig", "gb18030")


class RowError(ValueError):
    pass


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read with: UTF-8 (with or without BOM), else GB18030."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding.removesuffix("-sig")
        except UnicodeDecodeError:
            continue
    raise RowError("the file is neither UTF-8 nor GB18030")


def rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row with lower-case column names and stripped values) for each data row."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is not None:
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    for row in reader:
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _first(row: dict[str, str], names: Iterable[str]) -> str:
    for name in names:
        if row.get(name):
            return row[name]
    return ""


def _date(text: str, column: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    digits = text[:10].replace("-", "").replace("/", "")
    try:
        if len(digits) >= 8 and digits[:8].isdigit():
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        pass
    raise RowError(f"{column}: not a date")


def _decimal(text: str, column: str) -> Decimal | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    percent = text.endswith("%")
    try:
        value = Decimal(text.removesuffix("%"))
    except InvalidOperation:
        raise RowError(f"{column}: not a number") from None
    if not value.is_finite() or value < 0:
        raise RowError(f"{column}: not a non-negative number")
    return value / 100 if percent else value


def _kind(row: dict[str, str], default: str | None) -> str:
    kind = row.get("kind", "").lower() or default or ""
    list_type = row.get("list_type", "")
    if not kind and list_type[:1] in ("1", "2", "3"):
        kind = {"1": Kind.DRUG, "2": Kind.SERVICE, "3": Kind.CONSUMABLE}[list_type[:1]].value
    if kind not in {k.value for k in Kind}:
        raise RowError("kind: drug, consumable or service (or a list_type column) is needed")
    return kind


@cache
def _pinyin() -> object:
    import pypinyin  # ~0.3 s to load its dictionaries: only importing commands need it

    return pypinyin


def initials(name: str) -> str:
    """The name's pinyin initials (阿莫西林胶囊 -> amxljn), letters and digits of other text kept, lower case."""
    pypinyin = _pinyin()
    letters = "".join(pypinyin.lazy_pinyin(name, style=pypinyin.Style.FIRST_LETTER))  # type: ignore[attr-defined]
    return "".join(ch for ch in letters if ch.isascii() and ch.isalnum()).lower()[:100]


def entry(row: dict[str, str], default_kind: str | None) -> Entry:
    """A catalogue file row as an entry version (``RowError`` says what is wrong with it)."""
    code = _first(row, CODE_COLUMNS)
    if not code or len(code) > 50:
        raise RowError("med_list_codg: missing or longer than 50")
    name = _first(row, NAME_COLUMNS)
    if not name:
        raise RowError("med_list_name: missing")
    category = row.get("chrgitm_lv", "").zfill(2) if row.get("chrgitm_lv") else ""
    if category not in {c.value for c in Category}:
        raise RowError("chrgitm_lv: 01, 02 or 03")
    prop = _decimal(row.get("selfpay_prop", ""), "selfpay_prop") or Decimal(0)
    if prop > 1:
        raise RowError("selfpay_prop: a share between 0 and 1")
    ceiling = _decimal(row.get("pric_uplmt_amt", ""), "pric_uplmt_amt")
    valid_from = _date(row.get("begndate", ""), "begndate")
    if valid_from is None:
        raise RowError("begndate: missing")
    valid_to = _date(row.get("enddate", ""), "enddate")
    if valid_to is not None and valid_to >= OPEN_END:
        valid_to = None
    if valid_to is not None and valid_to < valid_from:
        raise RowError("enddate: before begndate")
    return Entry(
        code=code,
        name=name[:MAX_NAME],
        kind=_kind(row, default_kind),
        category=category,
        selfpay_prop_bp=selfpay_prop_bp(prop) if category == Category.B else 0,
        price_ceiling_fen=int((ceiling * 100).to_integral_value()) if ceiling else None,
        valid_from=valid_from,
        valid_to=valid_to,
    )


def spec_of(row: dict[str, str]) -> str:
    return _first(row, SPEC_COLUMNS)[:200]


def initials_of(row: dict[str, str], name: str) -> str:
    """The file's own pinyin mnemonic when it has one, else computed from the name."""
    given = _first(row, PINYIN_COLUMNS)
    return given.lower()[:100] if given else initials(name)


def merged(stored: list[Entry], incoming: list[Entry]) -> list[Entry]:
    """One code's versions after an import: incoming versions replace stored ones with the same start, and every
    version ends the day before the next one starts (a newer file closes what it supersedes)."""
    by_start = {v.valid_from: v for v in stored}
    for version in incoming:
        by_start[version.valid_from] = version
    ordered = sorted(by_start.values(), key=lambda v: v.valid_from)
    result: list[Entry] = []
    for version, following in zip(ordered, [*ordered[1:], None], strict=True):
        if following is not None:
            end = following.valid_from - timedelta(days=1)
            if version.valid_to is None or version.valid_to > end:
                version = Entry(**{**_fields(version), "valid_to": end})
        result.append(version)
    return result


def _fields(version: Entry) -> dict[str, object]:
    return {f: getattr(version, f) for f in version.__struct_fields__}
