"""A facility system in a few lines: drives one whole outpatient visit over the envelope, as a HIS would.

``member-api fsi-simulate --url URL --credential CLIENT.SECRET --facility H44... --id-number ...`` sends
9001 -> 1101 -> 2201 -> 2204 -> 2206 -> 2207 -> 5203 -> 2208 -> 3201 (and 3202) and prints each answer's ``infcode``
and the figures. Used by the tests against a real server on both databases, and for demos. It speaks only HTTP:
nothing of the server is imported but the envelope's field names and the optional SM2 signer.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec

PATH = "/fsi/api/rsfComIfsService/callService"
LOCAL = ZoneInfo("Asia/Shanghai")
_ENCODER = msgspec.json.Encoder(decimal_format="number")


class VisitFailed(RuntimeError):
    def __init__(self, infno: str, answer: dict[str, Any]) -> None:
        super().__init__(f"{infno}: infcode {answer.get('infcode')} {answer.get('err_msg')}")
        self.infno, self.answer = infno, answer


@dataclass
class Facility:
    """One facility system's connection: its credential, code and an operator."""

    url: str
    credential: str
    code: str
    name: str = ""
    opter: str = "0001"
    opter_name: str = "收费员"
    signer: Callable[[dict[str, Any]], str] | None = None
    sign_no: str = ""
    now: Callable[[], datetime] = field(default=lambda: datetime.now(LOCAL))
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(secrets.randbelow(9000) + 1))
    """The msgid's 4-digit sequence, from a random start: two simulators of one facility in one second differ."""
    client: httpx.Client | None = None
    log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def msgid(self) -> str:
        return f"{self.code}{self.now():%Y%m%d%H%M%S}{next(self._seq) % 10000:04d}"

    def message(self, infno: str, payload: dict[str, Any], msgid: str | None = None) -> dict[str, Any]:
        message = {
            "infno": infno,
            "msgid": msgid or self.msgid(),
            "mdtrtarea_admvs": "440200",
            "insuplc_admdvs": "440200",
            "recer_sys_code": "FSI_LOCAL",
            "dev_no": "",
            "dev_safe_info": "",
            "cainfo": "",
            "signtype": "",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": self.opter,
            "opter_name": self.opter_name,
            "inf_time": f"{self.now():%Y-%m-%d %H:%M:%S}",
            "fixmedins_code": self.code,
            "fixmedins_name": self.name,
            "sign_no": self.sign_no,
            "input": payload,
        }
        if self.signer is not None:
            message["signtype"] = "SM2"
            message["cainfo"] = self.signer(message)
        return message

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        client = self.client or httpx.Client(timeout=30)
        return client.post(
            self.url.rstrip("/") + PATH,
            content=body,
            headers={
                "Authorization": f"Bearer {self.credential}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )

    def send(self, infno: str, payload: dict[str, Any], msgid: str | None = None) -> dict[str, Any]:
        """One message; returns the decoded answer (yuan as ``Decimal``)."""
        body = _ENCODER.encode(self.message(infno, payload, msgid))
        answer = json.loads(self.post(body).content, parse_float=Decimal)
        self.log.append((infno, answer))
        return answer

    def call(self, infno: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One message that must succeed: its ``output``."""
        answer = self.send(infno, payload)
        if answer.get("infcode") != 0:
            raise VisitFailed(infno, answer)
        return answer["output"] or {}

    def sign_in(self) -> str:
        output = self.call("9001", {"signIn": {"opter_no": self.opter, "mac": "00-00-00-00-00-00", "ip": "127.0.0.1"}})
        self.sign_no = output["signinoutb"]["sign_no"]
        return self.sign_no


@dataclass
class VisitResult:
    psn_no: str
    mdtrt_id: str
    setl_id: str
    quoted: dict[str, Any]
    settled: dict[str, Any]
    queried: dict[str, Any]
    reversed: dict[str, Any]
    reconciled: dict[str, Any]


DEMO_LINES = (  # national code, facility code, count, unit price (yuan): the demo catalogue's entries (R18)
    ("001102000050000", "ZL0001", Decimal("1"), Decimal("10.00")),  # general diagnosis fee (R6)
    ("XJ01CAA040E001010100461", "YP0001", Decimal("2"), Decimal("12.50")),  # 甲类 drug
    ("XJ01DDA131A001010101589", "YP0002", Decimal("1"), Decimal("40.00")),  # 乙类 drug, 10% up front
    ("XV06DXB015A001010109876", "YP0017", Decimal("1"), Decimal("15.00")),  # 丙类: self-paid
    ("XX0000000000000000000", "", Decimal("1"), Decimal("5.00")),  # not in the catalogue: not compliant
)


def whole_visit(
    facility: Facility,
    cert_type: str,
    cert_no: str,
    lines: tuple[tuple[str, str, Decimal, Decimal], ...] = DEMO_LINES,
    reverse: bool = True,
) -> VisitResult:
    """9001 -> 1101 -> 2201 -> 2204 -> 2206 -> 2207 -> 5203 -> 2208 -> 3201, each answer checked."""
    if not facility.sign_no:
        facility.sign_in()
    person = facility.call("1101", {"data": {"mdtrt_cert_type": cert_type, "mdtrt_cert_no": cert_no}})
    psn_no = person["baseinfo"]["psn_no"]
    now = facility.now()
    registered = facility.call(
        "2201",
        {
            "data": {
                "psn_no": psn_no,
                "insutype": "390",
                "begntime": f"{now:%Y-%m-%d %H:%M:%S}",
                "mdtrt_cert_type": cert_type,
                "mdtrt_cert_no": cert_no,
                "ipt_otp_no": f"MZ{now:%Y%m%d%H%M%S}",
                "atddr_no": "D001",
                "dr_name": "李医生",
                "dept_code": "A03",
                "dept_name": "全科",
                "caty": "A03",
            }
        },
    )
    mdtrt_id = registered["data"]["mdtrt_id"]
    details = [
        {
            "feedetl_sn": f"{n:04d}",
            "mdtrt_id": mdtrt_id,
            "psn_no": psn_no,
            "chrg_bchno": "1",
            "rxno": "",
            "rx_circ_flag": "0",
            "fee_ocur_time": f"{now:%Y-%m-%d %H:%M:%S}",
            "med_list_codg": code,
            "medins_list_codg": own,
            "det_item_fee_sumamt": (count * price).quantize(Decimal("0.01")),
            "cnt": count,
            "pric": price,
            "bilg_dept_codg": "A03",
            "bilg_dept_name": "全科",
            "bilg_dr_codg": "D001",
            "bilg_dr_name": "李医生",
            "hosp_appr_flag": "1",
        }
        for n, (code, own, count, price) in enumerate(lines, start=1)
    ]
    facility.call("2204", {"feedetail": details})
    total = sum((d["det_item_fee_sumamt"] for d in details), Decimal("0.00"))
    settle_input = {
        "data": {
            "psn_no": psn_no,
            "mdtrt_cert_type": cert_type,
            "mdtrt_cert_no": cert_no,
            "med_type": "11",
            "medfee_sumamt": total,
            "psn_setlway": "01",
            "mdtrt_id": mdtrt_id,
            "chrg_bchno": "1",
            "insutype": "390",
            "acct_used_flag": "0",
        }
    }
    quoted = facility.call("2206", settle_input)
    settled = facility.call("2207", settle_input)
    setl_id = settled["setlinfo"]["setl_id"]
    queried = facility.call("5203", {"data": {"psn_no": psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}})
    reversed_ = (
        facility.call("2208", {"data": {"psn_no": psn_no, "setl_id": setl_id, "mdtrt_id": mdtrt_id}}) if reverse else {}
    )
    today = f"{facility.now():%Y-%m-%d}"
    reconciled = facility.call(
        "3201",
        {
            "data": {
                "insutype": "390",
                "clr_type": "11",
                "setl_optins": "440200",
                "stmt_begndate": today,
                "stmt_enddate": today,
                "medfee_sumamt": Decimal("0.00") if reverse else total,
                "fund_pay_sumamt": Decimal("0.00") if reverse else settled["setlinfo"]["fund_pay_sumamt"],
                "acct_pay": Decimal("0.00"),
                "fixmedins_setl_cnt": 2 if reverse else 1,
            }
        },
    )
    return VisitResult(
        psn_no=psn_no,
        mdtrt_id=mdtrt_id,
        setl_id=setl_id,
        quoted=quoted,
        settled=settled,
        queried=queried,
        reversed=reversed_,
        reconciled=reconciled,
    )


def summary(result: VisitResult) -> str:
    info = result.settled["setlinfo"]
    return (
        f"psn_no {result.psn_no} mdtrt_id {result.mdtrt_id} setl_id {result.setl_id}: "
        f"bill {info['medfee_sumamt']} fund {info['fund_pay_sumamt']} cash {info['psn_cash_pay']}; "
        f"3201 {result.reconciled['stmtinfo']['stmt_rslt']} ({result.reconciled['stmtinfo']['stmt_rslt_dscr']})"
    )
