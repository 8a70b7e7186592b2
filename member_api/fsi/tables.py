"""The national facility interface: facility system credentials, operator sign-ins, visits and their fee lines."""

from piccolo.columns import BigInt, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.column_types import Date
from piccolo.table import Table

from member_api.facilities.tables import Facility
from member_api.members.tables import Member


class FsiClient(Table, tablename="fsi_client"):
    """A facility system's credential (issued and revoked with the CLI). Only a SHA-256 of the secret is kept; the
    system acts as the staff account ``staff_id`` (a clerk of its facility that cannot log in with a password)."""

    client_id = Varchar(length=32, unique=True)
    secret_hash = Varchar(length=64)
    facility = ForeignKey(references=Facility, on_delete=OnDelete.restrict, index=True)
    staff_id = BigInt()
    label = Varchar(length=100, default="")
    sm2_public_key = Text(default="")
    """Hex SM2 public key: when set, every message must carry ``signtype`` SM2 and a valid ``cainfo``."""
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class FsiSession(Table, tablename="fsi_session"):
    """An operator's sign-in (9001): the ``sign_no`` every later message of that operator carries."""

    sign_no = Varchar(length=30, unique=True)
    client = ForeignKey(references=FsiClient, on_delete=OnDelete.restrict, index=True)
    opter = Varchar(length=30)
    opter_name = Varchar(length=50, default="")
    opter_type = Varchar(length=3, default="1")
    signed_in_at = Timestamptz()
    expires_at = Timestamptz()
    signed_out_at = Timestamptz(null=True, default=None)


class FsiVisit(Table, tablename="fsi_visit"):
    """An outpatient visit opened by 2201 (``mdtrt_id``): the member, and the settlement once 2207 settled it."""

    mdtrt_id = Varchar(length=30, unique=True)
    facility = ForeignKey(references=Facility, on_delete=OnDelete.restrict, index=True)
    member = ForeignKey(references=Member, on_delete=OnDelete.restrict, index=True)
    visit_date = Date()
    begntime = Timestamptz()
    med_type = Varchar(length=6, default="11")
    insutype = Varchar(length=6, default="390")
    ipt_otp_no = Varchar(length=30, default="")
    cert_type = Varchar(length=3)
    cert_hash = Varchar(length=64)
    """SHA-256 of the credential the visit was opened with: 2207 presenting the same one needs no new scan."""
    status = Varchar(length=12, default="open")
    settlement_id = BigInt(null=True, default=None, unique=True)
    opened_by = Varchar(length=30, default="")
    created_at = Timestamptz()
    cancelled_at = Timestamptz(null=True, default=None)


class FsiFeeLine(Table, tablename="fsi_fee_line"):
    """A fee detail line uploaded by 2204 (amounts in fen; counts as written); withdrawn by 2205, never edited."""

    visit = ForeignKey(references=FsiVisit, on_delete=OnDelete.restrict, index=True)
    feedetl_sn = Varchar(length=30)
    chrg_bchno = Varchar(length=30, default="")
    med_list_codg = Varchar(length=50, default="")
    medins_list_codg = Varchar(length=150, default="")
    cnt = Varchar(length=24)
    pric_fen = BigInt()
    det_item_fee_sumamt_fen = BigInt()
    fee_ocur_time = Varchar(length=19, default="")
    bilg_dept_codg = Varchar(length=30, default="")
    bilg_dr_codg = Varchar(length=30, default="")
    created_at = Timestamptz()
    withdrawn_at = Timestamptz(null=True, default=None)


class FsiVisitSettlement(Table, tablename="fsi_visit_settlement"):
    """Every settlement a visit had (a reversed one stays linked: 5203 and 3202 still show its ``mdtrt_id``)."""

    visit = ForeignKey(references=FsiVisit, on_delete=OnDelete.restrict, index=True)
    settlement_id = BigInt(unique=True)
    created_at = Timestamptz()
