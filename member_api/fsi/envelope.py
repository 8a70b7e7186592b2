"""The facility interface's envelope: bytes in, a checked message out; an answer (success or refusal) back to bytes.

Nothing here touches the database. Whatever the bytes (not UTF-8, not JSON, a number where a string belongs, an
amount with three decimals, a ``msgid`` of the wrong shape), the result is a ``Refusal`` the service answers in the
envelope's own shape (``infcode`` -1, ``err_msg`` in Chinese with the stable problem code), never an exception that
would become a 5xx.

Money in the envelope is yuan with at most two decimals (a JSON number or a decimal string); it is converted to and
from integer fen exactly, through ``Decimal``: ``12.50`` is 1250 fen, ``12.505`` is refused, and 1250 fen is sent
back as the JSON number ``12.50``.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import msgspec

from member_api.core.clock import LOCAL_TZ
from member_api.fsi.schemas import Envelope

T = TypeVar("T")

INFCODE_OK = 0
INFCODE_REFUSED = -1
ADMDVS = "440200"
"""The receiving platform's region (Shaoguan): the first six characters of every ``inf_refmsgid``."""
MAX_AMOUNT_FEN = 10**14  # decimal(16,2)
MSGID = re.compile(r"^(?P<code>[0-9A-Z]{12})(?P<time>\d{14})(?P<seq>\d{4})$")
_ENCODER = msgspec.json.Encoder(decimal_format="number")


@dataclass
class Refusal(Exception):
    """A message refused before or by its transaction: ``code`` is the project's stable problem code."""

    code: str
    message_zh: str
    message_en: str
    field: str | None = None
    extra: dict[str, Any] = dc_field(default_factory=dict)

    def __str__(self) -> str:
        return self.code


def refusal_from(code: str, message_zh: str, message_en: str, field_name: str | None = None) -> Refusal:
    return Refusal(code, message_zh, message_en, field_name)


# ---- bytes -> message --------------------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity, decimals kept exact (``Decimal``), no runaway nesting."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal("malformed_json", "报文不是有效的 UTF-8 编码", "The message is not valid UTF-8.") from None
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise Refusal("malformed_json", "报文不是有效的 JSON", "The message is not valid JSON.") from None


_PATH = re.compile(r" - at `\$(?:\.|\[)?([^`]*)`")
_NAMED = re.compile(r"(?:missing required|unknown) field `([^`]*)`")


def validation_refusal(exc: msgspec.ValidationError, prefix: str) -> Refusal:
    """A msgspec validation error as a refusal naming the field (``input.data.medfee_sumamt``)."""
    message = str(exc)
    match = _PATH.search(message)
    path = match.group(1).rstrip("]") if match else ""
    if named := _NAMED.search(message):
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    where = f"{prefix}.{path}" if prefix and path else (path or prefix or "报文")
    plain = _PATH.sub("", message)
    if "missing required field" in plain:
        return Refusal("missing_field", f"缺少必填节点或字段：{where}", f"Missing required field {where}.", where)
    return Refusal(
        "invalid_field", f"字段类型或取值不正确：{where}（{plain}）", f"Invalid field {where}: {plain}.", where
    )


def convert(value: Any, kind: type[T], prefix: str) -> T:
    """``value`` as the struct ``kind``, strictly typed (a string field refuses a number, and so on)."""
    try:
        return msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError as exc:
        raise validation_refusal(exc, prefix) from None


def envelope(raw: bytes) -> Envelope:
    """The envelope of a message: its header fields checked, ``input`` left for the transaction's own schema."""
    decoded = parse_json(raw)
    if not isinstance(decoded, dict):
        raise Refusal("malformed_json", "报文必须是 JSON 对象", "The message must be a JSON object.")
    message = convert(decoded, Envelope, "")
    check_msgid(message.msgid, message.fixmedins_code)
    parse_time(message.inf_time, "inf_time")
    return message


def check_msgid(msgid: str, fixmedins_code: str) -> None:
    """``msgid`` = facility code (12) + ``yyyyMMddHHmmss`` + 4-digit sequence, of the sending facility."""
    match = MSGID.match(msgid)
    problem = None
    if not match:
        problem = "须为 30 位：机构编号(12)+yyyyMMddHHmmss+4 位顺序号"
    elif match.group("code") != fixmedins_code:
        problem = "前 12 位须为本机构编号 fixmedins_code"
    else:
        try:
            datetime.strptime(match.group("time"), "%Y%m%d%H%M%S")
        except ValueError:
            problem = "时间部分不是有效的 yyyyMMddHHmmss"
    if problem:
        raise Refusal(
            "invalid_msgid", f"报文ID msgid 格式错误：{problem}", f"msgid has the wrong shape: {problem}.", "msgid"
        )


def parse_time(value: str, field_name: str) -> datetime:
    """A local ``yyyy-MM-dd HH:mm:ss`` (Asia/Shanghai) as an aware datetime."""
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=LOCAL_TZ)
    except ValueError:
        raise Refusal(
            "invalid_field",
            f"{field_name} 须为 yyyy-MM-dd HH:mm:ss",
            f"{field_name} must be yyyy-MM-dd HH:mm:ss.",
            field_name,
        ) from None


def parse_day(value: str, field_name: str) -> date:
    """``yyyy-MM-dd`` (a ``yyyy-MM-dd HH:mm:ss`` is read for its date, as some facility systems send it)."""
    text = value.strip()[:10]
    try:
        return date.fromisoformat(text) if len(text) == 10 else date.fromisoformat("x")
    except ValueError:
        raise Refusal(
            "invalid_field", f"{field_name} 须为 yyyy-MM-dd", f"{field_name} must be yyyy-MM-dd.", field_name
        ) from None


# ---- money -------------------------------------------------------------------------------------------------------


def to_fen(value: Decimal, field_name: str, *, allow_negative: bool = False) -> int:
    """Yuan (at most two decimals as written) to integer fen, exactly; anything else is refused naming the field."""
    if not value.is_finite():
        raise Refusal("invalid_amount", f"金额 {field_name} 不是有效数字", f"{field_name} is not a number.", field_name)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise Refusal(
            "invalid_amount",
            f"金额 {field_name} 最多两位小数（单位：元）",
            f"{field_name} has more than two decimals (yuan).",
            field_name,
        )
    fen = int(value * 100)
    if (fen < 0 and not allow_negative) or abs(fen) > MAX_AMOUNT_FEN:
        raise Refusal("invalid_amount", f"金额 {field_name} 超出范围", f"{field_name} is out of range.", field_name)
    return fen


def to_count(value: Decimal, field_name: str, decimals: int = 4) -> Decimal:
    """A quantity (``cnt``): positive, finite, at most ``decimals`` decimals."""
    exponent = value.as_tuple().exponent if value.is_finite() else None
    if exponent is None or not isinstance(exponent, int) or exponent < -decimals or value <= 0 or value > 10**9:
        raise Refusal(
            "invalid_field",
            f"数量 {field_name} 须为正数，最多 {decimals} 位小数",
            f"{field_name} must be positive with at most {decimals} decimals.",
            field_name,
        )
    return value


def yuan(fen: int) -> Decimal:
    """Integer fen as yuan with exactly two decimals (sent as a JSON number: ``12.50``)."""
    try:
        return (Decimal(fen) / 100).quantize(Decimal("0.01"))
    except InvalidOperation:  # pragma: no cover - fen is an int
        return Decimal("0.00")


# ---- answers -----------------------------------------------------------------------------------------------------


def stamp(at: datetime) -> str:
    """``yyyyMMddHHmmssSSS`` in local time, as the envelope's answer times are written."""
    local = at.astimezone(LOCAL_TZ)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def refmsgid(at: datetime) -> str:
    """The receiver's message id: region (6) + ``yyyyMMddHHmmss`` + 10-digit serial."""
    return ADMDVS + at.astimezone(LOCAL_TZ).strftime("%Y%m%d%H%M%S") + f"{secrets.randbelow(10**10):010d}"


def local_text(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def answer(received: datetime, responded: datetime, output: Any) -> bytes:
    return _ENCODER.encode(
        {
            "infcode": INFCODE_OK,
            "inf_refmsgid": refmsgid(received),
            "refmsg_time": stamp(received),
            "respond_time": stamp(responded),
            "err_msg": "",
            "output": output,
        }
    )


def refused(received: datetime, responded: datetime, refusal: Refusal) -> bytes:
    """``err_msg`` is the Chinese text with the stable code in brackets; ``err_code`` carries the code alone."""
    body: dict[str, Any] = {
        "infcode": INFCODE_REFUSED,
        "inf_refmsgid": refmsgid(received),
        "refmsg_time": stamp(received),
        "respond_time": stamp(responded),
        "err_msg": f"{refusal.message_zh} [{refusal.code}]"[:500],
        "err_code": refusal.code,
        "err_msg_en": refusal.message_en[:500],
        "output": None,
    }
    if refusal.field:
        body["err_field"] = refusal.field[:200]
    if refusal.extra:
        body["err_extra"] = refusal.extra
    return _ENCODER.encode(body)
