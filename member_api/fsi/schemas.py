"""The facility interface's message shapes, named as the national interface names them (定点医药机构接口规范).

Fields the national texts define and this scheme has no use for are accepted and ignored (a facility system sends
them anyway); the fields read here are typed strictly: a string field refuses a number and the other way round.
Amounts are ``Decimal`` yuan (a JSON number or a decimal string); ``envelope.to_fen`` checks their decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import msgspec

Text30 = Annotated[str, msgspec.Meta(max_length=30)]
Text50 = Annotated[str, msgspec.Meta(max_length=50)]
Text200 = Annotated[str, msgspec.Meta(max_length=200)]
CertNo = Annotated[str, msgspec.Meta(max_length=1024)]
"""``mdtrt_cert_no``: an ID number, a card number, or an e-credential code (member-api's token is ~200 chars)."""
INFNO = Annotated[str, msgspec.Meta(pattern=r"^\d{4}$")]


class Envelope(msgspec.Struct, kw_only=True):
    """The request envelope (every transaction)."""

    infno: INFNO
    msgid: Annotated[str, msgspec.Meta(max_length=30)]
    mdtrtarea_admvs: Annotated[str, msgspec.Meta(max_length=6)] = ""
    insuplc_admdvs: Annotated[str, msgspec.Meta(max_length=6)] = ""
    recer_sys_code: Annotated[str, msgspec.Meta(max_length=10)] = ""
    dev_no: Annotated[str, msgspec.Meta(max_length=100)] = ""
    dev_safe_info: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    cainfo: Annotated[str, msgspec.Meta(max_length=1024)] = ""
    signtype: Annotated[str, msgspec.Meta(max_length=10)] = ""
    infver: Annotated[str, msgspec.Meta(max_length=6)] = ""
    opter_type: Annotated[str, msgspec.Meta(pattern=r"^[123]$")]
    opter: Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
    opter_name: Annotated[str, msgspec.Meta(max_length=50)] = ""
    inf_time: Annotated[str, msgspec.Meta(max_length=19)]
    fixmedins_code: Annotated[str, msgspec.Meta(min_length=12, max_length=12)]
    fixmedins_name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    sign_no: Annotated[str, msgspec.Meta(max_length=30)] = ""
    input: dict[str, Any] = {}


# ---- 9001 / 9002 sign-in and sign-out ------------------------------------------------------------------------------


class SignIn(msgspec.Struct, kw_only=True):
    opter_no: Text30
    mac: Annotated[str, msgspec.Meta(max_length=20)] = ""
    ip: Annotated[str, msgspec.Meta(max_length=40)] = ""


class In9001(msgspec.Struct, kw_only=True):
    signIn: SignIn  # the national node name


class SignOut(msgspec.Struct, kw_only=True):
    sign_no: Text30
    opter_no: Text30


class In9002(msgspec.Struct, kw_only=True):
    data: SignOut


# ---- 1101 person information ---------------------------------------------------------------------------------------

CertType = Annotated[str, msgspec.Meta(pattern=r"^0[123]$", description="01 e-credential, 02 ID number, 03 SSC")]


class PersonQuery(msgspec.Struct, kw_only=True):
    mdtrt_cert_type: CertType
    mdtrt_cert_no: CertNo = ""
    card_sn: Annotated[str, msgspec.Meta(max_length=32)] = ""
    begntime: Annotated[str, msgspec.Meta(max_length=19)] = ""
    psn_cert_type: Annotated[str, msgspec.Meta(max_length=6)] = ""
    certno: Text50 = ""
    psn_name: Text50 = ""


class In1101(msgspec.Struct, kw_only=True):
    data: PersonQuery


# ---- 2201 / 2202 registration --------------------------------------------------------------------------------------


class Registration(msgspec.Struct, kw_only=True):
    psn_no: Text30
    insutype: Annotated[str, msgspec.Meta(max_length=6)] = "390"
    begntime: Annotated[str, msgspec.Meta(max_length=19)]
    mdtrt_cert_type: CertType
    mdtrt_cert_no: CertNo = ""
    certno: Text50 = ""
    ipt_otp_no: Text30 = ""
    atddr_no: Text30 = ""
    dr_name: Text50 = ""
    dept_code: Text30 = ""
    dept_name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    caty: Annotated[str, msgspec.Meta(max_length=6)] = ""


class In2201(msgspec.Struct, kw_only=True):
    data: Registration


class RegistrationCancel(msgspec.Struct, kw_only=True):
    psn_no: Text30
    mdtrt_id: Text30
    ipt_otp_no: Text30 = ""


class In2202(msgspec.Struct, kw_only=True):
    data: RegistrationCancel


# ---- 2204 / 2205 fee details ---------------------------------------------------------------------------------------


class FeeDetail(msgspec.Struct, kw_only=True):
    feedetl_sn: Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
    mdtrt_id: Text30
    psn_no: Text30
    chrg_bchno: Text30 = ""
    med_list_codg: Text50 = ""
    medins_list_codg: Annotated[str, msgspec.Meta(max_length=150)] = ""
    det_item_fee_sumamt: Decimal
    cnt: Decimal
    pric: Decimal
    fee_ocur_time: Annotated[str, msgspec.Meta(max_length=19)] = ""
    bilg_dept_codg: Text30 = ""
    bilg_dept_name: Annotated[str, msgspec.Meta(max_length=100)] = ""
    bilg_dr_codg: Text30 = ""
    bilg_dr_name: Text50 = ""
    rxno: Text30 = ""
    hosp_appr_flag: Annotated[str, msgspec.Meta(max_length=3)] = ""


class In2204(msgspec.Struct, kw_only=True):
    feedetail: Annotated[list[FeeDetail], msgspec.Meta(min_length=1)]


class FeeWithdrawal(msgspec.Struct, kw_only=True):
    mdtrt_id: Text30
    chrg_bchno: Text30
    psn_no: Text30


class In2205(msgspec.Struct, kw_only=True):
    data: FeeWithdrawal


# ---- 2206 / 2207 pre-settlement and settlement, 2208 reversal ----------------------------------------------------


class SettlementInput(msgspec.Struct, kw_only=True):
    psn_no: Text30
    mdtrt_cert_type: CertType
    mdtrt_cert_no: CertNo = ""
    certno: Text50 = ""
    med_type: Annotated[str, msgspec.Meta(max_length=6)]
    medfee_sumamt: Decimal
    psn_setlway: Annotated[str, msgspec.Meta(max_length=6)] = "01"
    mdtrt_id: Text30
    chrg_bchno: Text30 = ""
    insutype: Annotated[str, msgspec.Meta(max_length=6)] = "390"
    acct_used_flag: Annotated[str, msgspec.Meta(max_length=1)] = "0"
    invono: Annotated[str, msgspec.Meta(max_length=20)] = ""


class In2206(msgspec.Struct, kw_only=True):
    data: SettlementInput


class Reversal(msgspec.Struct, kw_only=True):
    setl_id: Text30
    mdtrt_id: Text30 = ""
    psn_no: Text30


class In2208(msgspec.Struct, kw_only=True):
    data: Reversal


# ---- 5203 / 5206 queries -------------------------------------------------------------------------------------------


class SettlementQuery(msgspec.Struct, kw_only=True):
    psn_no: Text30
    setl_id: Text30
    mdtrt_id: Text30 = ""


class In5203(msgspec.Struct, kw_only=True):
    data: SettlementQuery


class CumulativeQuery(msgspec.Struct, kw_only=True):
    psn_no: Text30
    cum_ym: Annotated[str, msgspec.Meta(pattern=r"^(\d{6})?$")] = ""


class In5206(msgspec.Struct, kw_only=True):
    data: CumulativeQuery


# ---- 3201 / 3202 reconciliation ------------------------------------------------------------------------------------


class StatementTotals(msgspec.Struct, kw_only=True):
    insutype: Annotated[str, msgspec.Meta(max_length=6)] = "390"
    clr_type: Annotated[str, msgspec.Meta(max_length=6)] = "11"
    setl_optins: Annotated[str, msgspec.Meta(max_length=6)] = ""
    stmt_begndate: Annotated[str, msgspec.Meta(max_length=19)]
    stmt_enddate: Annotated[str, msgspec.Meta(max_length=19)]
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    acct_pay: Decimal = Decimal(0)
    cash_payamt: Decimal | None = None
    fixmedins_setl_cnt: (
        Annotated[int, msgspec.Meta(ge=0, le=10**9)] | Annotated[str, msgspec.Meta(pattern=r"^\d{1,9}$")]
    )
    refd_setl_flag: Annotated[str, msgspec.Meta(max_length=1)] = "1"
    file_qury_no: Text30 = ""


class In3201(msgspec.Struct, kw_only=True):
    data: StatementTotals
