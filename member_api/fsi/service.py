"""The national facility interface (定点医药机构接口): one envelope, routed on ``infno`` to the areas' services.

This area is an edge like ``routes.py``: it authenticates the facility system, checks the operator's sign-in,
translates the envelope's fields (yuan, national codes) into the services' requests and their answers back, and
writes only what the interface itself adds (credentials, sign-ins, visits and their fee lines). Every figure comes
from the settlement, ledger, benefits and reconciliation services the REST API uses, so a visit settled here is the
same movement a clerk sees through ``/v1/counter``, and the other way round.

- **Systems, not people, log in.** A facility system sends ``Authorization: Bearer <client_id>.<secret>`` (a
  credential issued with ``member-api fsi-credential issue``, stored as a SHA-256, revoked with ``... revoke``);
  ``fixmedins_code`` must be its facility's code. An operator signs in with 9001 and every later message carries
  that ``sign_no`` (and the same ``opter``). Each message is audited: facility, operator, msgid, infcode, code.
- **msgid is the idempotency key** of every writing transaction (9001, 9002, 2201, 2202, 2204, 2205, 2207, 2208):
  the same msgid and bytes replay the first answer, the same msgid with other bytes is refused
  (``idempotency_key_reused``), a refused message frees its msgid. Reading transactions (1101, 2206, 5203, 5206,
  3201, 3202) are answered afresh and store nothing (their answers name people).
- **Errors** are ``infcode`` -1 with ``err_msg`` in Chinese and the stable problem code (``err_code``), whatever the
  bytes; the HTTP status is 200 as facility clients expect.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from member_api.audit.service import record
from member_api.auth.staff import create_staff, deactivate_staff
from member_api.benefits.service import benefits, summary
from member_api.catalogue import service as catalogue
from member_api.core import idempotency
from member_api.core.clock import LOCAL_TZ, local_today
from member_api.core.context import AppContext
from member_api.core.errors import DomainError
from member_api.core.principal import Principal
from member_api.credential import national
from member_api.credential import service as credential_service
from member_api.credential import tokens as credential_tokens
from member_api.credential.identify import identify_member
from member_api.db import write_transaction
from member_api.fsi import envelope as env_
from member_api.fsi import queries, signing
from member_api.fsi.envelope import Refusal, convert, to_count, to_fen, yuan
from member_api.fsi.schemas import (
    Envelope,
    FeeDetail,
    In1101,
    In2201,
    In2202,
    In2204,
    In2205,
    In2206,
    In2208,
    In3201,
    In5203,
    In5206,
    In9001,
    In9002,
    SettlementInput,
)
from member_api.ledger import service as ledger
from member_api.members.service import member_by_insurance_no, member_view
from member_api.policy import parameters
from member_api.policy.fee_lines import FeeLine
from member_api.policy.reimbursement import remaining_caps
from member_api.settlement import reconciliation
from member_api.settlement import service as settlement
from member_api.settlement.schemas import SettlementRequest, SettlementResult, VerifyRequest

log = logging.getLogger("member_api.fsi")

INSUTYPE = "390"
"""城乡居民基本医疗保险: the only insurance type this scheme settles."""
PSN_TYPE = "1501"
MED_TYPES = {"11": False, "13": True}
"""医疗类别 settled here: 11 general outpatient, 13 emergency (R3/R7's emergency rules apply)."""
FUND_POOL = reconciliation.FUND_POOL
FUND_POOL_NAME = "城乡居民基本医疗保险基金"
MAX_LINES = 200
SEX_CODES = {"M": "1", "F": "2"}
CUM_TYPES = {
    "390F01": "本年度普通门诊统筹基金已支付",
    "390F02": "其中市外就医已支付",
    "390R01": "本年度普通门诊统筹剩余额度",
    "390R02": "市外就医剩余额度",
    "390M01": "本月普通门诊统筹基金支付",
}


# ---- who is calling ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """An authenticated facility system, acting as its own clerk account of its facility."""

    client_id: str
    client_pk: int
    facility_id: int
    facility_code: str
    facility_name: str
    staff_id: int
    sm2_public_key: str

    @property
    def principal(self) -> Principal:
        return Principal(role="clerk", staff_id=self.staff_id, facility_id=self.facility_id)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _unauthorized(detail_zh: str, detail_en: str) -> Refusal:
    return Refusal("unauthorized", f"接入凭证无效：{detail_zh}", f"Facility system credential invalid: {detail_en}.")


async def authenticate(authorization: str) -> Caller:
    """``Authorization: Bearer <client_id>.<secret>`` of a credential that is not revoked."""
    scheme, _, token = authorization.partition(" ")
    client_id, dot, secret = token.strip().partition(".")
    if scheme.lower() != "bearer" or not dot or not client_id or not secret or len(token) > 200:
        raise _unauthorized("缺少或格式错误", "missing or malformed")
    row = await queries.client_by_id(client_id)
    if row is None or not hmac.compare_digest(row["secret_hash"], secret_hash(secret)):
        raise _unauthorized("不存在或密钥错误", "unknown client or wrong secret")
    if row["revoked_at"] is not None:
        raise _unauthorized("已吊销", "revoked")
    return Caller(
        client_id=row["client_id"],
        client_pk=row["id"],
        facility_id=row["facility"],
        facility_code=row["facility_code"],
        facility_name=row["facility_name"],
        staff_id=row["staff_id"],
        sm2_public_key=row["sm2_public_key"] or "",
    )


@dataclass
class Message:
    env: Envelope
    raw: bytes
    caller: Caller
    received: datetime
    session: dict[str, Any] | None = None

    @property
    def input(self) -> dict[str, Any]:
        return self.env.input


async def _check_session(ctx: AppContext, message: Message) -> dict[str, Any]:
    sign_no = message.env.sign_no
    if not sign_no:
        raise Refusal("sign_in_required", "请先签到（9001）并在报文中携带 sign_no", "Sign in (9001) first.", "sign_no")
    row = await queries.session(sign_no)
    if row is None or row["client"] != message.caller.client_pk:
        raise Refusal(
            "sign_in_invalid", "签到编号 sign_no 无效，请重新签到", "Unknown sign_no; sign in again.", "sign_no"
        )
    if row["signed_out_at"] is not None or row["expires_at"] <= ctx.clock.now():
        raise Refusal(
            "sign_in_expired", "签到已失效，请重新签到（9001）", "The sign-in has ended; sign in again.", "sign_no"
        )
    if row["opter"] != message.env.opter:
        raise Refusal(
            "sign_in_invalid", "经办人 opter 与签到的经办人不一致", "opter differs from the signed-in one.", "opter"
        )
    return row


# ---- identifying the person ----------------------------------------------------------------------------------------


async def _identity(
    ctx: AppContext, message: Message, cert_type: str, cert_no: str, certno: str
) -> tuple[str | None, str | None]:
    """(credential, id_number) for the counter services: 01 e-credential (member-api's QR token or a national code,
    resolved by the decoding service), 02 ID number, 03 social security card (its holder's ID number, ``certno``)."""
    cert_no, certno = cert_no.strip(), certno.strip()
    if cert_type == "01":
        if not cert_no:
            raise Refusal("identity_required", "请提供就诊凭证编号 mdtrt_cert_no", "mdtrt_cert_no is required.")
        if national.is_own_token(cert_no):
            return cert_no, None
        found = await national.decode(
            ctx, cert_no, message.caller.facility_code, message.env.opter, message.env.opter_name
        )
        return None, found.id_number
    if cert_type == "02":
        number = cert_no or certno
        if not number:
            raise Refusal("identity_required", "请提供身份证号 mdtrt_cert_no", "An ID number is required.")
        return None, number.upper()
    if not certno:  # 03: the card's number is not in this registry; its holder's ID number is
        raise Refusal(
            "identity_required",
            "社会保障卡就诊须同时提供持卡人证件号码 certno",
            "A social security card needs the holder's ID number in certno.",
            "certno",
        )
    return None, certno.upper()


async def _member_of(ctx: AppContext, credential: str | None, id_number: str | None) -> dict[str, Any]:
    member, _ = await identify_member(ctx, credential, id_number)
    return member


async def _member_by_psn_no(psn_no: str) -> Any:
    view = await member_by_insurance_no(psn_no.strip())
    if view is None:
        raise Refusal("member_not_found", "人员编号 psn_no 不存在", "No member with this psn_no.", "psn_no")
    return view


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _cert_hash(cert_no: str) -> str:
    return hashlib.sha256(cert_no.strip().encode()).hexdigest()


# ---- 9001 / 9002 ---------------------------------------------------------------------------------------------------


async def t9001(ctx: AppContext, message: Message, claim: idempotency.KeyLease) -> bytes:
    data = convert(message.input, In9001, "input").signIn
    if data.opter_no != message.env.opter:
        raise Refusal(
            "invalid_field", "签到的 opter_no 须与报文的 opter 一致", "opter_no must equal opter.", "opter_no"
        )
    now = ctx.clock.now()
    sign_no = now.astimezone(LOCAL_TZ).strftime("%Y%m%d%H%M%S") + secrets.token_hex(8)
    async with write_transaction():
        await queries.insert_session(
            {
                "sign_no": sign_no,
                "client": message.caller.client_pk,
                "opter": message.env.opter,
                "opter_name": message.env.opter_name,
                "opter_type": message.env.opter_type,
                "signed_in_at": now,
                "expires_at": now + timedelta(seconds=ctx.settings.fsi_session_ttl_s),
            }
        )
        return await _finish(
            ctx, message, claim, {"signinoutb": {"sign_time": env_.local_text(now), "sign_no": sign_no}}
        )


async def t9002(ctx: AppContext, message: Message, claim: idempotency.KeyLease) -> bytes:
    data = convert(message.input, In9002, "input").data
    now = ctx.clock.now()
    async with write_transaction():
        row = await queries.session(data.sign_no)
        if row is None or row["client"] != message.caller.client_pk:
            raise Refusal("sign_in_invalid", "签到编号 sign_no 无效", "Unknown sign_no.", "sign_no")
        await queries.sign_out(data.sign_no, now)
        return await _finish(ctx, message, claim, {"signoutoutb": {"sign_time": env_.local_text(now)}})


# ---- 1101 person information ---------------------------------------------------------------------------------------


async def t1101(ctx: AppContext, message: Message) -> Any:
    data = convert(message.input, In1101, "input").data
    credential, id_number = await _identity(ctx, message, data.mdtrt_cert_type, data.mdtrt_cert_no, data.certno)
    member = await _member_of(ctx, credential, id_number)
    verified = await settlement.verify(
        ctx, message.caller.principal, VerifyRequest(credential=credential, id_number=id_number)
    )
    view = await member_view(member["id"])
    assert view is not None
    today = local_today(ctx.clock)
    name_given = data.psn_name.strip()
    enrollment = next((e for e in view.enrollments if e.year == verified.year), None)
    return {
        "baseinfo": {
            "psn_no": view.insurance_no,
            "psn_cert_type": "01",
            "certno": id_number if id_number else view.id_number_masked,
            "psn_name": view.name if name_given and name_given == view.name else verified.name_masked,
            "gend": SEX_CODES.get(view.sex, "9"),
            "naty": "",
            "brdy": view.birth_date.isoformat(),
            "age": Decimal(_age(view.birth_date, today)).quantize(Decimal("0.1")),
        },
        "insuinfo": [
            {
                "balc": yuan(verified.remaining_fen),
                "insutype": INSUTYPE,
                "psn_type": PSN_TYPE,
                "psn_insu_stas": "1" if verified.eligible else "2",
                "psn_insu_date": enrollment.enrolled_on.isoformat() if enrollment else None,
                "paus_insu_date": None,
                "cvlserv_flag": "0",
                "insuplc_admdvs": env_.ADMDVS,
                "emp_name": "",
            }
        ],
        "idetinfo": [],
        "exp_content": {
            "year": verified.year,
            "eligible": verified.eligible,
            "designated_here": verified.designated_here,
            "remaining_out_of_city": yuan(verified.remaining_out_of_city_fen),
        },
    }


# ---- 2201 / 2202 visits --------------------------------------------------------------------------------------------


async def t2201(ctx: AppContext, message: Message, claim: idempotency.KeyLease) -> bytes:
    data = convert(message.input, In2201, "input").data
    begntime = env_.parse_time(data.begntime, "begntime")
    now = ctx.clock.now()
    if begntime.date() > local_today(ctx.clock):
        raise Refusal("invalid_field", "挂号时间 begntime 不能晚于今天", "begntime is in the future.", "begntime")
    psn = await _member_by_psn_no(data.psn_no)
    credential, id_number = await _identity(ctx, message, data.mdtrt_cert_type, data.mdtrt_cert_no, data.certno)
    member = await _member_of(ctx, credential, id_number)
    if member["id"] != psn.id:
        raise Refusal("member_mismatch", "就诊凭证与人员编号 psn_no 不是同一人", "The credential is not psn_no's.")
    mdtrt_id = "MD" + now.astimezone(LOCAL_TZ).strftime("%Y%m%d") + f"{secrets.randbelow(10**12):012d}"
    async with write_transaction():
        await queries.insert_visit(
            {
                "mdtrt_id": mdtrt_id,
                "facility": message.caller.facility_id,
                "member": psn.id,
                "visit_date": begntime.date(),
                "begntime": begntime,
                "med_type": "11",
                "insutype": data.insutype or INSUTYPE,
                "ipt_otp_no": data.ipt_otp_no,
                "cert_type": data.mdtrt_cert_type,
                "cert_hash": _cert_hash(data.mdtrt_cert_no or data.certno),
                "status": "open",
                "settlement_id": None,
                "opened_by": message.env.opter,
                "created_at": now,
                "cancelled_at": None,
            }
        )
        await record(now, _actor(message), "fsi_visit_opened", "fsi_visit", mdtrt_id, {"member": psn.id})
        output = {"data": {"mdtrt_id": mdtrt_id, "psn_no": psn.insurance_no, "ipt_otp_no": data.ipt_otp_no}}
        return await _finish(ctx, message, claim, output)


async def _open_visit(message: Message, mdtrt_id: str, psn_no: str) -> dict[str, Any]:
    visit = await queries.visit(mdtrt_id.strip(), message.caller.facility_id)
    psn = await _member_by_psn_no(psn_no)
    if visit is None or visit["member"] != psn.id:
        raise Refusal("visit_not_found", "就诊ID mdtrt_id 不存在或不属于该人员", "No such visit of psn_no.", "mdtrt_id")
    return visit


def _visit_state_refusal(visit: dict[str, Any]) -> Refusal:
    if visit["status"] == "settled":
        return Refusal("visit_settled", "该就诊已结算，请先撤销结算（2208）", "The visit is settled; reverse it first.")
    return Refusal("visit_cancelled", "该就诊已撤销挂号", "The visit was cancelled.")


async def t2202(ctx: AppContext, message: Message, claim: idempotency.KeyLease) -> bytes:
    data = convert(message.input, In2202, "input").data
    visit = await _open_visit(message, data.mdtrt_id, data.psn_no)
    now = ctx.clock.now()
    async with write_transaction():
        locked = await queries.lock_visit(visit["id"])
        assert locked is not None
        if locked["status"] != "open":
            raise _visit_state_refusal(locked)
        await queries.set_visit_state(visit["id"], "cancelled", None, now)
        await queries.withdraw_lines(visit["id"], None, now)
        await record(now, _actor(message), "fsi_visit_cancelled", "fsi_visit", visit["mdtrt_id"])
        return await _finish(ctx, message, claim, {})


# ---- 2204 / 2205 fee lines -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    feedetl_sn: str
    chrg_bchno: str
    code: str
    facility_code: str
    count: Decimal
    price_fen: int
    amount_fen: int
    fee_ocur_time: str
    dept: str
    doctor: str


def _checked_line(index: int, detail: FeeDetail) -> _Line:
    where = f"input.feedetail[{index}]"
    count = to_count(detail.cnt, f"{where}.cnt")
    price = to_fen(detail.pric, f"{where}.pric")
    amount = to_fen(detail.det_item_fee_sumamt, f"{where}.det_item_fee_sumamt")
    expected = int((Decimal(price) * count).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    if amount != expected:
        raise Refusal(
            "invalid_amount",
            f"{where}.det_item_fee_sumamt 应为单价×数量 {yuan(expected)} 元",
            f"{where}.det_item_fee_sumamt must be pric x cnt = {yuan(expected)}.",
            f"{where}.det_item_fee_sumamt",
        )
    if not detail.med_list_codg and not detail.medins_list_codg:
        raise Refusal("missing_field", f"{where} 缺少医保目录编码 med_list_codg", "med_list_codg is required.", where)
    return _Line(
        feedetl_sn=detail.feedetl_sn,
        chrg_bchno=detail.chrg_bchno,
        code=detail.med_list_codg,
        facility_code=detail.medins_list_codg,
        count=count,
        price_fen=price,
        amount_fen=amount,
        fee_ocur_time=detail.fee_ocur_time,
        dept=detail.bilg_dept_codg,
        doctor=detail.bilg_dr_codg,
    )


def _stored_line(row: dict[str, Any]) -> _Line:
    return _Line(
        feedetl_sn=row["feedetl_sn"],
        chrg_bchno=row["chrg_bchno"],
        code=row["med_list_codg"],
        facility_code=row["medins_list_codg"],
        count=Decimal(row["cnt"]),
        price_fen=row["pric_fen"],
        amount_fen=row["det_item_fee_sumamt_fen"],
        fee_ocur_time=row["fee_ocur_time"],
        dept=row["bilg_dept_codg"],
        doctor=row["bilg_dr_codg"],
    )


def _policy_lines(lines: list[_Line]) -> list[FeeLine]:
    """The visit's lines as the catalogue values them (R18): numbered in upload order, national code first."""
    return [
        FeeLine(
            line_no=n,
            code=line.code.strip().upper(),
            count=line.count,
            unit_price_fen=line.price_fen,
            facility_code=line.facility_code.strip() or None,
        )
        for n, line in enumerate(lines, start=1)
    ]


async def _valued(lines: list[_Line], day: date, facility_id: int) -> list[dict[str, Any]]:
    """2204's per-line answer: each line valued by the catalogue entry valid on the date of care (R18); a code the
    catalogue does not know on that day is not compliant, with the reason."""
    valued = await catalogue.value_lines(_policy_lines(lines), day, facility_id)
    answer = []
    for line, value in zip(lines, valued, strict=True):
        words_zh, _ = catalogue.reason_words(value.reasons)
        answer.append(
            {
                "feedetl_sn": line.feedetl_sn,
                "det_item_fee_sumamt": yuan(line.amount_fen),
                "cnt": line.count,
                "pric": yuan(line.price_fen),
                "pric_uplmt_amt": yuan(value.price_ceiling_fen) if value.price_ceiling_fen is not None else None,
                "selfpay_prop": (Decimal(value.selfpay_prop_bp) / 10000).quantize(Decimal("0.0001")),
                "fulamt_ownpay_amt": yuan(value.selfpay_fen),
                "overlmt_amt": yuan(value.over_limit_fen),
                "preselfpay_amt": yuan(value.preselfpay_fen),
                "inscp_scp_amt": yuan(value.compliant_fen),
                "chrgitm_lv": value.category,
                "med_chrgitm_type": value.kind or "",
                "lmt_used_flag": "0",
                "memo": f"{words_zh}（{','.join(value.reasons)}）" if value.reasons else "",
            }
        )
    return answer


async def t2204(ctx: AppContext, message: Message, claim: idempotency.KeyLease) -> bytes:
    details = convert(message.input, In2204, "input").feedetail
    if len(details) > MAX_LINES:
        raise Refusal("too_many_lines", f"一次最多上传 {MAX_LINES} 条明细", f"At most {MAX_LINES} lines.", "feedetail")
    visit_keys = {(d.mdtrt_id, d.psn_no) for d in details}
    if len(visit_keys) != 1:
        raise Refusal(
            "invalid_field", "一次上传的明细须属于同一就诊", "All lines must belong to one visit.", "feedetail"
        )
    lines = [_checked_line(i, d) for i, d in enumerate(details)]
    numbers = [line.feedetl_sn for line in lines]
    if len(set(numbers)) != len(numbers):
        raise Refusal("duplicate_line", "费用明细流水号 feedetl_sn 重复", "feedetl_sn repeats.", "feedetail")
    catalogue.check_lines(_policy_lines(lines), field="input.feedetail")
    mdtrt_id, psn_no = visit_keys.pop()
    visit = await _open_visit(message, mdtrt_id, psn_no)
    now = ctx.clock.now()
    async with write_transaction():
        locked = await queries.lock_visit(visit["id"])
        assert locked is not None
        if locked["status"] != "open":
            raise _visit_state_refusal(locked)
        present = {row["feedetl_sn"] for row in await queries.active_lines(visit["id"])}
        if clash := sorted(present & set(numbers)):
            raise Refusal(
                "duplicate_line", f"明细流水号已上传：{clash[0]}", f"feedetl_sn {clash[0]} exists.", "feedetail"
            )
        if len(present) + len(lines) > MAX_LINES:
            raise Refusal("too_many_lines", f"一次就诊最多 {MAX_LINES} 条明细", f"At most {MAX_LINES} lines.")
        for line in lines:
            await queries.insert_line(
                {
                    "visit": visit["id"],
                    "feedetl_sn": line.feedetl_sn,
                    "chrg_bchno": line.chrg_bchno,
                    "med_list_codg": line.code,
                    "medins_list_codg": line.facility_code,
                    "cnt": str(line.count),
                    "pric_fen": line.price_fen,
                    "det_item_fee_sumamt_fen": line.amount_fen,
                    "fee_ocur_time": line.fee_ocur_time,
                    "bilg_dept_codg": line.dept,
                    "bilg_dr_codg": line.doctor,
                    "created_at": now,
                    "withdrawn_at": None,
                }
            )
        output = {"result": await _valued(lines, visit["visit_date"], message.caller.facility_id)}
        return await _finish(ctx, message, claim, output)


async def t2205(ctx: AppContext, message: Message, claim: idempotency.KeyLease) -> bytes:
    data = convert(message.input, In2205, "input").data
    visit = await _open_visit(message, data.mdtrt_id, data.psn_no)
    now = ctx.clock.now()
    async with write_transaction():
        locked = await queries.lock_visit(visit["id"])
        assert locked is not None
        if locked["status"] != "open":
            raise _visit_state_refusal(locked)
        batch = None if data.chrg_bchno == "0000" else data.chrg_bchno
        withdrawn = await queries.withdraw_lines(visit["id"], batch, now)
        return await _finish(ctx, message, claim, {"result": {"withdrawn_cnt": withdrawn}})


# ---- 2206 / 2207 / 2208 --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bill:
    visit: dict[str, Any]
    lines: list[_Line]
    request: SettlementRequest
    medfee_fen: int


async def _bill(ctx: AppContext, message: Message, data: SettlementInput) -> _Bill:
    """The visit's active lines as the settlement service's request, with the person identified for it."""
    if data.med_type not in MED_TYPES:
        raise Refusal(
            "med_type_unsupported",
            "普通门诊统筹只结算医疗类别 11（普通门诊）和 13（急诊）",
            "Only med_type 11 (general outpatient) and 13 (emergency) settle here.",
            "med_type",
        )
    medfee = to_fen(data.medfee_sumamt, "input.data.medfee_sumamt")
    visit = await _open_visit(message, data.mdtrt_id, data.psn_no)
    if visit["status"] != "open":
        raise _visit_state_refusal(visit)
    lines = [_stored_line(row) for row in await queries.active_lines(visit["id"])]
    if not lines:
        raise Refusal("no_fee_lines", "该就诊没有已上传的费用明细（2204）", "The visit has no fee lines (2204).")
    total = sum(line.amount_fen for line in lines)
    if total != medfee:
        raise Refusal(
            "medfee_mismatch",
            f"医疗费总额 medfee_sumamt 与明细合计 {yuan(total)} 元不符",
            f"medfee_sumamt differs from the lines' total {yuan(total)}.",
            "input.data.medfee_sumamt",
            {"lines_total": str(yuan(total))},
        )
    credential, id_number = await _settle_identity(ctx, message, data, visit)
    request = await _request(lines, visit, credential, id_number, MED_TYPES[data.med_type])
    return _Bill(visit=visit, lines=lines, request=request, medfee_fen=medfee)


async def _request(
    lines: list[_Line],
    visit: dict[str, Any],
    credential: str | None,
    id_number: str | None,
    emergency: bool,
) -> SettlementRequest:
    """The counter's settlement request for the visit's lines, itemised: the settlement service values them by the
    catalogue (R18) and pays them per line (R6, R7) within the caps (R4), as it does for a clerk's items."""
    items = [
        {
            "line_no": line.line_no,
            "code": line.code,
            "facility_code": line.facility_code,
            "count": line.count,
            "unit_price_fen": line.unit_price_fen,
        }
        for line in _policy_lines(lines)
    ]
    request = {
        "visit_date": visit["visit_date"],
        "items": items,
        "credential": credential,
        "id_number": id_number,
        "emergency": emergency,
    }
    try:
        return msgspec.convert(request, SettlementRequest, strict=False)
    except msgspec.ValidationError as exc:
        raise env_.validation_refusal(exc, "feedetail") from None


async def _settle_identity(
    ctx: AppContext, message: Message, data: SettlementInput, visit: dict[str, Any]
) -> tuple[str | None, str | None]:
    """The credential the visit was registered with needs no new scan (the member was identified at 2201, as the
    national platform's e-credential token holds for the visit): a member-api QR token still valid is used (and
    consumed); otherwise a fresh one is issued for the visit's member. Another credential must name the same person."""
    cert_no = data.mdtrt_cert_no.strip() or data.certno.strip()
    if not cert_no or _cert_hash(cert_no) == visit["cert_hash"]:
        if data.mdtrt_cert_type == "01" and national.is_own_token(cert_no):
            try:
                member = await _member_of(ctx, cert_no, None)
                if member["id"] == visit["member"] and not await _jti_used(ctx, cert_no):
                    return cert_no, None
            except DomainError:
                pass
        elif data.mdtrt_cert_type in ("02", "03") and cert_no and data.mdtrt_cert_type == visit["cert_type"]:
            return None, cert_no.upper()
        fresh = await credential_service.issue(ctx, visit["member"])
        return fresh.token, None
    credential, id_number = await _identity(ctx, message, data.mdtrt_cert_type, data.mdtrt_cert_no, data.certno)
    member = await _member_of(ctx, credential, id_number)
    if member["id"] != visit["member"]:
        raise Refusal("member_mismatch", "就诊凭证与就诊人员不是同一人", "The credential is not the visit's member.")
    return credential, id_number


async def _jti_used(ctx: AppContext, token: str) -> bool:
    _, jti = credential_tokens.read(ctx.keyring, token, ctx.clock.now())
    return await ledger.credential_used(jti)


@dataclass(frozen=True)
class _Figures:
    """What ``setlinfo`` shows of a movement or a quote: the REST API's figures, whichever answered."""

    id: int
    kind: str
    visit_date: date
    year: int
    created_at: datetime
    general_fee_fen: int
    compliant_fen: int
    non_compliant_fen: int
    fund_fen: int
    member_fen: int
    remaining_fen: int
    reasons: list[str]
    repeat_same_day: bool
    reverses: int | None
    compliant_ratio_bp: int
    over_limit_fen: int
    preselfpay_fen: int

    @classmethod
    def of(cls, view: Any, created_at: datetime | None = None) -> _Figures:
        """From a settlement view or a quote (``items``, when the bill was itemised, split the member's own part)."""
        items = list(getattr(view, "items", None) or [])
        ratio = next((line.ratio_bp for line in view.lines if line.item == "compliant"), 0)
        if items:
            ratio = next((i.ratio_bp for i in items if i.compliant_fen and not i.general_fee), ratio)
        return cls(
            id=getattr(view, "id", 0),
            kind=getattr(view, "kind", ledger.COUNTER),
            visit_date=view.visit_date,
            year=view.year,
            created_at=created_at or view.created_at,
            general_fee_fen=view.general_fee_fen,
            compliant_fen=view.compliant_fen,
            non_compliant_fen=view.non_compliant_fen,
            fund_fen=view.fund_fen,
            member_fen=view.member_fen,
            remaining_fen=view.remaining_fen,
            reasons=list(view.reasons),
            repeat_same_day=bool(getattr(view, "repeat_same_day", False)),
            reverses=getattr(view, "reverses", None),
            compliant_ratio_bp=ratio,
            over_limit_fen=sum(i.over_limit_fen for i in items),
            preselfpay_fen=sum(i.preselfpay_fen for i in items),
        )


def _setlinfo(
    view: _Figures,
    visit: dict[str, Any] | None,
    psn: Any,
    message: Message | None,
    cert_type: str,
    med_type: str,
) -> dict[str, Any]:
    """A movement as the interface's ``setlinfo`` (the REST settlement's figures, in yuan)."""
    bill = view.general_fee_fen + view.compliant_fen + view.non_compliant_fen
    sign = -1 if view.kind == ledger.REVERSAL else 1
    over_limit, preselfpay = sign * view.over_limit_fen, sign * view.preselfpay_fen
    return {
        "setl_id": str(view.id),
        "mdtrt_id": visit["mdtrt_id"] if visit else "",
        "psn_no": psn.insurance_no,
        "psn_name": _masked(psn.name),
        "psn_cert_type": "01",
        "certno": psn.id_number_masked,
        "gend": SEX_CODES.get(psn.sex, "9"),
        "naty": "",
        "brdy": psn.birth_date.isoformat(),
        "age": Decimal(_age(psn.birth_date, view.visit_date)).quantize(Decimal("0.1")),
        "insutype": INSUTYPE,
        "psn_type": PSN_TYPE,
        "cvlserv_flag": "0",
        "setl_time": env_.local_text(view.created_at),
        "mdtrt_cert_type": cert_type,
        "med_type": med_type,
        "medfee_sumamt": yuan(bill),
        "fulamt_ownpay_amt": yuan(view.non_compliant_fen - over_limit - preselfpay),
        "overlmt_selfpay": yuan(over_limit),
        "preselfpay_amt": yuan(preselfpay),
        "inscp_scp_amt": yuan(view.general_fee_fen + view.compliant_fen),
        "act_pay_dedc": yuan(0),
        "hifp_pay": yuan(view.fund_fen),
        "pool_prop_selfpay": (Decimal(view.compliant_ratio_bp) / 10000).quantize(Decimal("0.0001")),
        "cvlserv_pay": yuan(0),
        "hifes_pay": yuan(0),
        "hifmi_pay": yuan(0),
        "hifob_pay": yuan(0),
        "maf_pay": yuan(0),
        "oth_pay": yuan(0),
        "fund_pay_sumamt": yuan(view.fund_fen),
        "psn_part_amt": yuan(view.member_fen),
        "acct_pay": yuan(0),
        "psn_cash_pay": yuan(view.member_fen),
        "hosp_part_amt": yuan(0),
        "balc": yuan(view.remaining_fen),
        "acct_mulaid_pay": yuan(0),
        "medins_setl_id": message.env.msgid if message else "",
        "clr_optins": env_.ADMDVS,
        "clr_way": "1",
        "clr_type": "11",
        "refd_setl_flag": "1" if view.kind == ledger.REVERSAL else "0",
        "year": str(view.year),
        "exp_content": {"reasons": view.reasons, "repeat_same_day": view.repeat_same_day, "reverses": view.reverses},
    }


def _setldetail(view: _Figures) -> list[dict[str, Any]]:
    return [
        {
            "fund_pay_type": FUND_POOL,
            "inscp_scp_amt": yuan(view.general_fee_fen + view.compliant_fen),
            "crt_payb_lmt_amt": yuan(view.remaining_fen + view.fund_fen),
            "fund_payamt": yuan(view.fund_fen),
            "fund_pay_type_name": FUND_POOL_NAME,
            "setl_proc_info": ",".join(view.reasons),
        }
    ]


def _masked(name: str) -> str:
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else name


async def t2206(ctx: AppContext, message: Message) -> Any:
    data = convert(message.input, In2206, "input").data
    bill = await _bill(ctx, message, data)
    quote = await settlement.quote(ctx, message.caller.principal, bill.request)
    psn = await _member_by_psn_no(data.psn_no)
    view = _Figures.of(quote, created_at=ctx.clock.now())
    info = _setlinfo(view, bill.visit, psn, message, data.mdtrt_cert_type, data.med_type)
    info["setl_id"] = ""
    info["exp_content"]["quote_id"] = quote.quote_id
    return {"setlinfo": info, "setldetail": _setldetail(view)}


class _EnvelopeClaim(idempotency.KeyLease):
    """Completes the msgid with the envelope answer, inside the settlement's own transaction (where ``on_complete``
    also marks the visit), instead of the REST body the settlement service records."""

    def __init__(self, claim: idempotency.KeyLease, on_complete: Callable[[bytes], Awaitable[bytes]]) -> None:
        for each in dataclasses.fields(claim):  # the lease as the idempotency module made it (scope, key, fence)
            object.__setattr__(self, each.name, getattr(claim, each.name))
        object.__setattr__(self, "_on_complete", on_complete)

    async def complete(self, status: int, body: bytes, now: datetime) -> None:
        del status
        answer = await self._on_complete(body)  # type: ignore[attr-defined]
        await super().complete(200, answer, now)


async def t2207(ctx: AppContext, message: Message, claim: idempotency.KeyLease) -> bytes:
    data = convert(message.input, In2206, "input").data
    bill = await _bill(ctx, message, data)
    psn = await _member_by_psn_no(data.psn_no)
    answered: list[bytes] = []

    async def on_complete(rest_body: bytes) -> bytes:
        settled = msgspec.json.decode(rest_body, type=SettlementResult)
        view = _Figures.of(settled)
        locked = await queries.lock_visit(bill.visit["id"])
        if locked is None or locked["status"] != "open":
            raise _visit_state_refusal(locked or bill.visit)
        await queries.set_visit_state(bill.visit["id"], "settled", view.id, None)
        await queries.link_settlement(bill.visit["id"], view.id, ctx.clock.now())
        output = {
            "setlinfo": _setlinfo(view, bill.visit, psn, message, data.mdtrt_cert_type, data.med_type),
            "setldetail": _setldetail(view),
        }
        body = env_.answer(message.received, ctx.clock.now(), output)
        answered.append(body)
        return body

    await settlement.settle(ctx, message.caller.principal, bill.request, _EnvelopeClaim(claim, on_complete))
    return answered[0]


async def t2208(ctx: AppContext, message: Message, claim: idempotency.KeyLease) -> bytes:
    data = convert(message.input, In2208, "input").data
    setl_id = _setl_id(data.setl_id)
    psn = await _member_by_psn_no(data.psn_no)
    original = await ledger.movement(setl_id)
    if original is None or original["member"] != psn.id or original["facility"] != message.caller.facility_id:
        raise Refusal("not_found", "结算ID setl_id 不存在或不属于该人员", "No such settlement of psn_no.", "setl_id")
    visit = await queries.visit_of_settlement(setl_id)
    if data.mdtrt_id and (visit is None or visit["mdtrt_id"] != data.mdtrt_id):
        raise Refusal("visit_not_found", "就诊ID mdtrt_id 与结算不符", "mdtrt_id does not match the settlement.")
    answered: list[bytes] = []

    async def on_complete(rest_body: bytes) -> bytes:
        view = _Figures.of(msgspec.json.decode(rest_body, type=SettlementResult))
        if visit is not None:  # the visit is open again: its lines may be corrected and settled anew
            await queries.set_visit_state(visit["id"], "open", None, None)
        output = {
            "setlinfo": _setlinfo(view, visit, psn, message, visit["cert_type"] if visit else "", "11"),
            "setldetail": _setldetail(view),
        }
        body = env_.answer(message.received, ctx.clock.now(), output)
        answered.append(body)
        return body

    reason = f"医药机构撤销结算（2208，{message.env.msgid}）"
    await settlement.reverse(ctx, message.caller.principal, setl_id, reason, _EnvelopeClaim(claim, on_complete))
    return answered[0]


def _setl_id(value: str) -> int:
    if not value.strip().isdigit() or len(value.strip()) > 10:
        raise Refusal("not_found", "结算ID setl_id 不存在", "No such settlement.", "setl_id")
    return int(value.strip())


# ---- 5203 / 5206 ---------------------------------------------------------------------------------------------------


async def t5203(ctx: AppContext, message: Message) -> Any:
    data = convert(message.input, In5203, "input").data
    setl_id = _setl_id(data.setl_id)
    psn = await _member_by_psn_no(data.psn_no)
    row = await ledger.movement(setl_id)
    if row is None or row["member"] != psn.id or row["facility"] != message.caller.facility_id:
        raise Refusal("not_found", "结算ID setl_id 不存在或不属于该人员", "No such settlement of psn_no.", "setl_id")
    original_id = row["reverses"] or row["id"]
    visit = await queries.visit_of_settlement(original_id)
    reversed_by = (await ledger.reversals_of([row["id"]])).get(row["id"])
    base = ledger.view(row, message.caller.facility_name, reversed_by)
    year_state = await ledger.state(psn.id, row["year"])

    annual, ooc = remaining_caps(parameters.for_year(row["year"]), year_state)
    view = _Figures.of(
        SettlementResult(**msgspec.structs.asdict(base), remaining_fen=annual, remaining_out_of_city_fen=ooc)
    )
    info = _setlinfo(view, visit, psn, None, visit["cert_type"] if visit else "", "13" if base.emergency else "11")
    info["fixmedins_code"] = message.caller.facility_code
    info["fixmedins_name"] = message.caller.facility_name
    info["exp_content"]["reversed_by"] = reversed_by
    return {"setlinfo": info, "setldetail": _setldetail(view)}


async def t5206(ctx: AppContext, message: Message) -> Any:
    data = convert(message.input, In5206, "input").data
    psn = await _member_by_psn_no(data.psn_no)
    today = local_today(ctx.clock)
    year = int(data.cum_ym[:4]) if data.cum_ym else today.year
    month = int(data.cum_ym[4:]) if data.cum_ym else today.month
    if not 1 <= month <= 12:
        raise Refusal("invalid_field", "累计年月 cum_ym 须为 yyyyMM", "cum_ym must be yyyyMM.", "cum_ym")
    figures = await benefits(ctx, psn.id, year)
    months = await summary(ctx, psn.id, year)
    month_fund = next((m.fund_fen for m in months.by_month if m.month == month), 0)
    cum_ym = f"{year}{month:02d}"
    values = {
        "390F01": figures.used_fen,
        "390F02": figures.out_of_city_used_fen,
        "390R01": figures.remaining_fen,
        "390R02": figures.out_of_city_remaining_fen,
        "390M01": month_fund,
    }
    return {
        "cuminfo": [
            {
                "insutype": INSUTYPE,
                "year": str(year),
                "cum_ym": cum_ym,
                "cum_type_code": code,
                "cum_type_name": CUM_TYPES[code],
                "cum": yuan(value),
            }
            for code, value in values.items()
        ]
    }


# ---- 3201 / 3202 reconciliation ------------------------------------------------------------------------------------


async def _statement(message: Message) -> tuple[Any, Any, bool]:
    data = convert(message.input, In3201, "input").data
    begin = env_.parse_day(data.stmt_begndate, "stmt_begndate")
    end = env_.parse_day(data.stmt_enddate, "stmt_enddate")
    report = await reconciliation.reconcile(message.caller.facility_id, begin, end)
    with_refunds = data.refd_setl_flag != "0"
    items = [i for i in report.items if with_refunds or i.kind != ledger.REVERSAL]
    ours = {
        "medfee_sumamt": sum(i.medfee_fen for i in items),
        "fund_pay_sumamt": sum(i.fund_fen for i in items),
        "cash_payamt": sum(i.member_fen for i in items),
        "fixmedins_setl_cnt": len(items),
    }
    theirs = {
        "medfee_sumamt": to_fen(data.medfee_sumamt, "input.data.medfee_sumamt", allow_negative=True),
        "fund_pay_sumamt": to_fen(data.fund_pay_sumamt, "input.data.fund_pay_sumamt", allow_negative=True),
        "fixmedins_setl_cnt": int(data.fixmedins_setl_cnt),
    }
    if data.cash_payamt is not None:
        theirs["cash_payamt"] = to_fen(data.cash_payamt, "input.data.cash_payamt", allow_negative=True)
    to_fen(data.acct_pay, "input.data.acct_pay")
    differences = [
        f"{name}: 本机构 {_shown(name, theirs[name])}，医保 {_shown(name, ours[name])}"
        for name in theirs
        if theirs[name] != ours[name]
    ]
    stmtinfo = {
        "setl_optins": data.setl_optins or env_.ADMDVS,
        "stmt_rslt": "0" if not differences else "1",
        "stmt_rslt_dscr": "对账平" if not differences else "对账不平：" + "；".join(differences),
    }
    totals = {
        "stmt_begndate": begin.isoformat(),
        "stmt_enddate": end.isoformat(),
        "fixmedins_setl_cnt": ours["fixmedins_setl_cnt"],
        "medfee_sumamt": yuan(ours["medfee_sumamt"]),
        "fund_pay_sumamt": yuan(ours["fund_pay_sumamt"]),
        "cash_payamt": yuan(ours["cash_payamt"]),
        "acct_pay": yuan(0),
        "by_kind": [
            {
                "kind": k.kind,
                "cnt": k.count,
                "medfee_sumamt": yuan(k.medfee_fen),
                "fund_pay_sumamt": yuan(k.fund_fen),
                "cash_payamt": yuan(k.member_fen),
            }
            for k in report.by_kind
            if with_refunds or k.kind != ledger.REVERSAL
        ],
        "by_fund_pay_type": [
            {"fund_pay_type": f.fund_pay_type, "name": f.name, "cnt": f.count, "fund_payamt": yuan(f.amount_fen)}
            for f in report.by_fund_type
        ],
    }
    return stmtinfo, totals, items


def _shown(name: str, value: int) -> str:
    return str(value) if name == "fixmedins_setl_cnt" else f"{yuan(value)} 元"


async def t3201(ctx: AppContext, message: Message) -> Any:
    stmtinfo, totals, _ = await _statement(message)
    return {"stmtinfo": stmtinfo, "stmt_totals": totals}


async def t3202(ctx: AppContext, message: Message) -> Any:
    """The detail behind 3201, inline (the platform's file upload/download pair 9101/9102 is not offered)."""
    stmtinfo, totals, items = await _statement(message)
    visits = await queries.visits_of_settlements([i.reverses or i.settlement_id for i in items])
    return {
        "stmtinfo": stmtinfo,
        "stmt_totals": totals,
        "setldetail": [
            {
                "setl_id": str(i.settlement_id),
                "mdtrt_id": visits.get(i.reverses or i.settlement_id, ""),
                "psn_no": i.psn_no,
                "setl_time": env_.local_text(i.settled_at),
                "medfee_sumamt": yuan(i.medfee_fen),
                "fund_pay_sumamt": yuan(i.fund_fen),
                "cash_payamt": yuan(i.member_fen),
                "refd_setl_flag": "1" if i.kind == ledger.REVERSAL else "0",
                "init_setl_id": str(i.reverses) if i.reverses else "",
            }
            for i in items
        ],
    }


# ---- dispatch ------------------------------------------------------------------------------------------------------

Write = Callable[[AppContext, Message, idempotency.KeyLease], Awaitable[bytes]]
Read = Callable[[AppContext, Message], Awaitable[Any]]
WRITES: dict[str, Write] = {
    "9001": t9001,
    "9002": t9002,
    "2201": t2201,
    "2202": t2202,
    "2204": t2204,
    "2205": t2205,
    "2207": t2207,
    "2208": t2208,
}
READS: dict[str, Read] = {
    "1101": t1101,
    "2206": t2206,
    "5203": t5203,
    "5206": t5206,
    "3201": t3201,
    "3202": t3202,
}
TRANSACTIONS = {**WRITES, **READS}


def _actor(message: Message) -> str:
    return f"fsi:{message.caller.client_id}"


async def _finish(ctx: AppContext, message: Message, claim: idempotency.KeyLease, output: Any) -> bytes:
    """The answer, stored under the msgid in the caller's transaction (a replay answers it byte for byte)."""
    body = env_.answer(message.received, ctx.clock.now(), output)
    await claim.complete(200, body, ctx.clock.now())
    return body


ENVELOPE_TEXTS = {  # the shared refusals, worded for the envelope (its key is the msgid, not a header)
    "idempotency_key_reused": ("报文ID msgid 已用于另一笔不同内容的交易", "This msgid was used with another message."),
    "idempotency_in_progress": ("相同 msgid 的交易正在处理中，请稍后重试", "A message with this msgid is in progress."),
}


def _from_api_error(exc: DomainError) -> Refusal:
    where = exc.errors[0].field if exc.errors else None
    if exc.code in ENVELOPE_TEXTS:
        zh, en = ENVELOPE_TEXTS[exc.code]
        return Refusal(exc.code, zh, en, "msgid")
    return Refusal(exc.code, exc.message_zh, exc.message_en, where, dict(exc.extra or {}))


async def _run(ctx: AppContext, message: Message) -> bytes:
    infno = message.env.infno
    if infno not in TRANSACTIONS:
        raise Refusal("unknown_infno", f"不支持的交易编号 infno：{infno}", f"Unknown transaction {infno}.", "infno")
    if infno != "9001":
        message.session = await _check_session(ctx, message)
    if infno in READS:
        output = await READS[infno](ctx, message)
        return env_.answer(message.received, ctx.clock.now(), output)
    scope = f"fsi:{message.caller.facility_id}"
    gate = await idempotency.begin(
        scope, message.env.msgid, idempotency.fingerprint("POST", "/fsi/api", message.raw), ctx.clock.now()
    )
    if isinstance(gate, idempotency.Replay):
        return gate.body
    try:
        return await WRITES[infno](ctx, message, gate)
    except BaseException:
        await gate.release()
        raise


async def handle(ctx: AppContext, raw: bytes, authorization: str, path_infno: str | None = None) -> bytes:
    """Answer one message; never raises (every failure is an envelope with ``infcode`` -1)."""
    received = ctx.clock.now()
    message: Message | None = None
    outcome = "ok"
    try:
        caller = await authenticate(authorization)
        parsed = env_.envelope(raw)
        if path_infno is not None and path_infno != parsed.infno:
            raise Refusal("invalid_field", "地址中的交易编号与 infno 不一致", "The path's infno differs.", "infno")
        if parsed.fixmedins_code != caller.facility_code:
            raise Refusal(
                "facility_mismatch",
                "定点医药机构编号 fixmedins_code 与接入凭证不符",
                "fixmedins_code is not the credential's facility.",
                "fixmedins_code",
            )
        message = Message(env=parsed, raw=raw, caller=caller, received=received)
        signing.check(caller.sm2_public_key, parsed, raw)
        body = await _run(ctx, message)
    except Refusal as refusal:
        outcome = refusal.code
        body = env_.refused(received, ctx.clock.now(), refusal)
    except DomainError as exc:
        outcome = exc.code
        body = env_.refused(received, ctx.clock.now(), _from_api_error(exc))
    except Exception as exc:  # a fault of ours or of the database: still an envelope, never a 5xx
        outcome = "internal_error"
        log.error("fsi_internal_error", extra={"error": type(exc).__name__})
        body = env_.refused(
            received,
            ctx.clock.now(),
            Refusal("internal_error", "系统暂时无法处理该交易，请稍后重试", "The message could not be processed now."),
        )
    if message is not None:
        await _audit(ctx, message, outcome)
    return body


async def _audit(ctx: AppContext, message: Message, outcome: str) -> None:
    """Every authenticated message: facility, operator, msgid, infno and the outcome (no personal data)."""
    try:
        await record(
            ctx.clock.now(),
            _actor(message),
            f"fsi_{message.env.infno}",
            "fsi_message",
            message.env.msgid,
            {
                "facility": message.caller.facility_code,
                "opter": message.env.opter,
                "opter_name": message.env.opter_name,
                "sign_no": message.env.sign_no,
                "code": outcome,
            },
        )
    except Exception as exc:  # the answer goes out even when the audit line cannot be written
        log.error("fsi_audit_failed", extra={"error": type(exc).__name__})


# ---- credentials (CLI) ---------------------------------------------------------------------------------------------


async def issue_credential(facility_code: str, label: str, sm2_public_key: str, now: datetime) -> str:
    """A new system credential of a facility: ``<client_id>.<secret>``, shown once; only a hash is kept."""

    client_id = "fsi" + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    async with write_transaction():
        staff_id = await create_staff(f"system:{client_id}", secrets.token_urlsafe(48), "clerk", facility_code)
        facility = await queries.facility_id_by_code(facility_code)
        await queries.insert_client(
            {
                "client_id": client_id,
                "secret_hash": secret_hash(secret),
                "facility": facility,
                "staff_id": staff_id,
                "label": label[:100],
                "sm2_public_key": sm2_public_key.strip(),
                "created_at": now,
            }
        )
        await record(now, "cli", "fsi_credential_issued", "fsi_client", client_id, {"facility": facility_code})
    return f"{client_id}.{secret}"


async def revoke_credential(client_id: str, now: datetime) -> bool:
    """Revoke at once: later messages are refused, its sign-ins end, its staff account is deactivated."""
    async with write_transaction():
        row = await queries.revoke_client(client_id, now)
        if row is None:
            return False
        await queries.end_sessions_of_client(row["id"], now)

        await deactivate_staff(row["staff_id"])
        await record(now, "cli", "fsi_credential_revoked", "fsi_client", client_id)
    return True


async def list_credentials() -> list[dict[str, Any]]:
    return await queries.clients()
