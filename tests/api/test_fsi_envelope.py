"""The national facility interface (#28) through its envelope, in-process, on SQLite and PostgreSQL.

A facility system signs in (9001), identifies a member (1101, R8: ID number, member-api's QR code or the national
e-credential through a fake decoding service), opens a visit (2201), uploads fee lines (2204), quotes (2206) and
settles (2207) with the REST API's figures (R4, R6, R7), queries (5203, 5206), reverses (2208, R11) and reconciles
its day (3201/3202, #32 item 4, also as REST and CSV for clerks). Every bad input is an envelope with ``infcode`` -1.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
import pytest_asyncio
from litestar.testing import AsyncTestClient

from member_api.app import create_app
from member_api.core.clock import LOCAL_TZ, FrozenClock
from member_api.fsi import service as fsi_service
from member_api.fsi import signing, simulator
from tests.helpers.ecfake import PAAS_ID, PAAS_TOKEN, FakeDecoder
from tests.helpers.web import csrf_of

ENCODER = msgspec.json.Encoder(decimal_format="number")
MEMBER_ID_NUMBER = "440204198504120132"  # demo member SG0000000001, designated at the demo institution
NATIONAL_CODE = "440200QR" + "7" * 24


class Envelope:
    """A facility system talking to the in-process app (the simulator's message builder, async transport)."""

    def __init__(self, client: AsyncTestClient, credential: str, code: str, clock: FrozenClock) -> None:
        self.client = client
        self.facility = simulator.Facility(
            url="", credential=credential, code=code, now=lambda: clock.now().astimezone(LOCAL_TZ)
        )
        self.facility._seq = itertools.count(1)  # the clock is frozen: msgids differ by their sequence alone

    async def raw(self, body: bytes, credential: str | None = None, path: str = simulator.PATH) -> dict[str, Any]:
        answer = await self.client.post(
            path,
            content=body,
            headers={"Authorization": f"Bearer {credential or self.facility.credential}"},
        )
        assert answer.status_code == 200, answer.text
        return json.loads(answer.content, parse_float=Decimal)

    async def send(self, infno: str, payload: dict[str, Any], msgid: str | None = None) -> dict[str, Any]:
        return await self.raw(ENCODER.encode(self.facility.message(infno, payload, msgid)))

    async def call(self, infno: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = await self.send(infno, payload)
        assert answer["infcode"] == 0, (answer["err_msg"], answer)
        return answer["output"]

    async def sign_in(self) -> None:
        output = await self.call("9001", {"signIn": {"opter_no": self.facility.opter, "mac": "", "ip": "127.0.0.1"}})
        self.facility.sign_no = output["signinoutb"]["sign_no"]


@pytest_asyncio.fixture
async def fsi(database: dict[str, Any], world: dict[str, Any], clock: FrozenClock) -> AsyncIterator[Envelope]:
    people = {p["insurance_no"]: p for p in world["members"]}
    holder = people["SG0000000001"]
    with FakeDecoder({NATIONAL_CODE: {"id_number": holder["id_number"], "name": holder["name"]}}) as decoder:
        settings = msgspec.structs.replace(
            database["settings"],
            national_ec_url=decoder.url,
            national_ec_paas_id=PAAS_ID,
            national_ec_paas_token=PAAS_TOKEN,
            national_ec_timeout_s=2.0,
            push_interval_s=0,  # no background notice delivery: nothing but the test writes to the database
        )
        app = create_app(settings, clock=clock, engine=database["engine"])
        code = world["facilities"]["designated_institution"]
        credential = await fsi_service.issue_credential(code, "test HIS", "", clock.now())
        async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
            envelope = Envelope(client, credential, code, clock)
            envelope.decoder = decoder  # type: ignore[attr-defined]
            envelope.world = world  # type: ignore[attr-defined]
            await envelope.sign_in()
            yield envelope


def settle_input(psn_no: str, mdtrt_id: str, total: Decimal, cert: tuple[str, str]) -> dict[str, Any]:
    return {
        "data": {
            "psn_no": psn_no,
            "mdtrt_cert_type": cert[0],
            "mdtrt_cert_no": cert[1],
            "med_type": "11",
            "medfee_sumamt": total,
            "psn_setlway": "01",
            "mdtrt_id": mdtrt_id,
            "chrg_bchno": "1",
            "insutype": "390",
            "acct_used_flag": "0",
        }
    }


async def open_visit(fsi: Envelope, cert: tuple[str, str] = ("02", MEMBER_ID_NUMBER)) -> tuple[str, str]:
    person = await fsi.call("1101", {"data": {"mdtrt_cert_type": cert[0], "mdtrt_cert_no": cert[1]}})
    psn_no = person["baseinfo"]["psn_no"]
    begntime = fsi.facility.now().strftime("%Y-%m-%d %H:%M:%S")
    visit = await fsi.call(
        "2201",
        {"data": {"psn_no": psn_no, "begntime": begntime, "mdtrt_cert_type": cert[0], "mdtrt_cert_no": cert[1]}},
    )
    return psn_no, visit["data"]["mdtrt_id"]


def fee_lines(psn_no: str, mdtrt_id: str) -> dict[str, Any]:
    return {
        "feedetail": [
            {
                "feedetl_sn": f"{n:04d}",
                "mdtrt_id": mdtrt_id,
                "psn_no": psn_no,
                "chrg_bchno": "1",
                "med_list_codg": code,
                "medins_list_codg": own,
                "det_item_fee_sumamt": (count * price).quantize(Decimal("0.01")),
                "cnt": count,
                "pric": price,
                "fee_ocur_time": "2026-11-24 10:00:00",
                "bilg_dept_codg": "A03",
                "bilg_dr_codg": "D001",
            }
            for n, (code, own, count, price) in enumerate(simulator.DEMO_LINES, start=1)
        ]
    }


async def clerk_token(client: AsyncTestClient, world: dict[str, Any]) -> dict[str, str]:
    clerk = next(s for s in world["staff"] if s["username"] == "clerk_zj_dh")
    login = await client.post(
        "/v1/auth/staff/login", json={"username": clerk["username"], "password": clerk["password"]}
    )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_r8_r11_whole_visit_figures_equal_the_rest_api(fsi: Envelope) -> None:
    """R4/R6/R7 figures of 2206/2207 are the counter's; the settlement is the REST API's movement (R11 reversal)."""
    person = await fsi.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": MEMBER_ID_NUMBER}})
    assert person["baseinfo"]["psn_no"] == "SG0000000001"
    assert person["insuinfo"][0]["insutype"] == "390" and person["exp_content"]["designated_here"] is True
    balance = person["insuinfo"][0]["balc"]
    psn_no, mdtrt_id = await open_visit(fsi)
    uploaded = (await fsi.call("2204", fee_lines(psn_no, mdtrt_id)))["result"]
    assert [line["chrgitm_lv"] for line in uploaded] == ["01", "01", "02", "03", "03"]  # R18 from the catalogue
    assert uploaded[2]["preselfpay_amt"] == Decimal("4.00") and uploaded[2]["inscp_scp_amt"] == Decimal("36.00")
    assert uploaded[4]["fulamt_ownpay_amt"] == Decimal("5.00") and "not_in_catalogue" in uploaded[4]["memo"]
    total = sum((Decimal(d["det_item_fee_sumamt"]) for d in fee_lines(psn_no, mdtrt_id)["feedetail"]), Decimal(0))
    body = settle_input(psn_no, mdtrt_id, total, ("02", MEMBER_ID_NUMBER))
    quoted = await fsi.call("2206", body)
    settled = await fsi.call("2207", body)
    info = settled["setlinfo"]
    assert info["medfee_sumamt"] == total == quoted["setlinfo"]["medfee_sumamt"]
    assert info["fund_pay_sumamt"] == quoted["setlinfo"]["fund_pay_sumamt"]
    assert info["fund_pay_sumamt"] + info["psn_cash_pay"] == total == Decimal("95.00")
    assert info["fund_pay_sumamt"] == Decimal("49.70")  # R6 7.00 + R7 17.50 + 25.20 (E9's lines)
    assert info["balc"] == balance - info["fund_pay_sumamt"]

    clerk = await clerk_token(fsi.client, fsi.world)  # type: ignore[attr-defined]
    day = fsi.facility.now().date().isoformat()
    rest = (await fsi.client.get(f"/v1/counter/reconciliation?date={day}", headers=clerk)).json()
    row = next(i for i in rest["items"] if str(i["settlement_id"]) == info["setl_id"])
    assert Decimal(row["fund_fen"]) / 100 == info["fund_pay_sumamt"]
    assert Decimal(row["medfee_fen"]) / 100 == total

    queried = await fsi.call("5203", {"data": {"psn_no": psn_no, "setl_id": info["setl_id"], "mdtrt_id": mdtrt_id}})
    assert queried["setlinfo"]["fund_pay_sumamt"] == info["fund_pay_sumamt"]
    cum = await fsi.call("5206", {"data": {"psn_no": psn_no}})
    used = next(c for c in cum["cuminfo"] if c["cum_type_code"] == "390F01")
    assert used["cum"] >= info["fund_pay_sumamt"]

    again = await fsi.send("2207", body)
    assert again["infcode"] == -1 and again["err_code"] == "visit_settled"
    reversed_ = await fsi.call("2208", {"data": {"psn_no": psn_no, "setl_id": info["setl_id"], "mdtrt_id": mdtrt_id}})
    assert reversed_["setlinfo"]["fund_pay_sumamt"] == -info["fund_pay_sumamt"]
    assert reversed_["setlinfo"]["refd_setl_flag"] == "1"

    stmt = {
        "stmt_begndate": day,
        "stmt_enddate": day,
        "medfee_sumamt": Decimal("0.00"),
        "fund_pay_sumamt": Decimal("0.00"),
        "acct_pay": Decimal("0.00"),
        "fixmedins_setl_cnt": 2,
    }
    reconciled = await fsi.call("3201", {"data": stmt})
    assert reconciled["stmtinfo"]["stmt_rslt"] == "0", reconciled
    detail = await fsi.call("3202", {"data": stmt})
    assert [d["refd_setl_flag"] for d in detail["setldetail"]] == ["0", "1"]
    assert {d["mdtrt_id"] for d in detail["setldetail"]} == {mdtrt_id}
    wrong = await fsi.call("3201", {"data": {**stmt, "fixmedins_setl_cnt": 3}})
    assert wrong["stmtinfo"]["stmt_rslt"] == "1"
    csv = await fsi.client.get(f"/v1/counter/reconciliation/csv?date={day}", headers=clerk)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert info["setl_id"] in csv.text and "total" in csv.text
    await rest_settlement_is_seen_by_5203_and_3201(fsi, clerk, day)


async def rest_settlement_is_seen_by_5203_and_3201(fsi: Envelope, clerk: dict[str, str], day: str) -> None:
    """R11: a settlement made at a REST counter is queried, reconciled and reversed through the envelope."""
    made = await fsi.client.post(
        "/v1/counter/settlements",
        json={"visit_date": day, "id_number": MEMBER_ID_NUMBER, "general_fee_fen": 1000, "compliant_fen": 4000},
        headers={**clerk, "Idempotency-Key": "rest-1"},
    )
    assert made.status_code == 201, made.text
    row = made.json()
    queried = await fsi.call("5203", {"data": {"psn_no": "SG0000000001", "setl_id": str(row["id"])}})
    assert queried["setlinfo"]["fund_pay_sumamt"] == Decimal(row["fund_fen"]) / 100
    assert queried["setlinfo"]["mdtrt_id"] == ""
    stmt = {
        "stmt_begndate": day,
        "stmt_enddate": day,
        "medfee_sumamt": Decimal("50.00"),
        "fund_pay_sumamt": Decimal(row["fund_fen"]) / 100,
        "fixmedins_setl_cnt": 3,  # the envelope's settlement and its reversal (net 0.00) earlier that day, and this
    }
    assert (await fsi.call("3201", {"data": stmt}))["stmtinfo"]["stmt_rslt"] == "0"
    undone = await fsi.call("2208", {"data": {"psn_no": "SG0000000001", "setl_id": str(row["id"])}})
    assert undone["setlinfo"]["psn_cash_pay"] == -Decimal(row["member_fen"]) / 100

    # msgid is the idempotency key: the same message replays the first answer, another body is refused
    psn_no, mdtrt_id = await open_visit(fsi)
    msgid = fsi.facility.msgid()
    body = ENCODER.encode(fsi.facility.message("2204", fee_lines(psn_no, mdtrt_id), msgid))
    first = await fsi.raw(body)
    again = await fsi.raw(body)
    assert first["infcode"] == 0 and again == first  # the first answer, byte for byte
    other = json.loads(body)
    other["input"]["feedetail"] = other["input"]["feedetail"][:1]
    reused = await fsi.raw(json.dumps(other).encode())
    assert reused["infcode"] == -1 and reused["err_code"] == "idempotency_key_reused"


async def test_r8_national_e_credential_console_bad_input_signatures_credentials(
    fsi: Envelope, clock: FrozenClock
) -> None:
    """mdtrt_cert_type 01: member-api's QR token, or a national code resolved by the decoding service (R8)."""
    national = await fsi.call("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": NATIONAL_CODE}})
    assert national["baseinfo"]["psn_no"] == "SG0000000001"
    sent = fsi.decoder.requests[-1]  # type: ignore[attr-defined]
    assert sent["body"]["transType"] == "ec.query" and sent["body"]["data"]["businessType"] == "01101"
    unknown = await fsi.send("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": "440200QR" + "1" * 24}})
    assert unknown["err_code"] == "credential_invalid"
    fsi.decoder.down = True  # type: ignore[attr-defined]
    down = await fsi.send("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": NATIONAL_CODE}})
    assert down["infcode"] == -1 and down["err_code"] == "national_credential_unavailable"
    fsi.decoder.down = False  # type: ignore[attr-defined]

    psn_no, mdtrt_id = await open_visit(fsi, ("01", NATIONAL_CODE))
    await fsi.call("2204", fee_lines(psn_no, mdtrt_id))
    total = sum((Decimal(d["det_item_fee_sumamt"]) for d in fee_lines(psn_no, mdtrt_id)["feedetail"]), Decimal(0))
    settled = await fsi.call("2207", settle_input(psn_no, mdtrt_id, total, ("01", NATIONAL_CODE)))
    assert settled["setlinfo"]["mdtrt_cert_type"] == "01"
    await console_scans_both_credentials(fsi)
    await bad_input_is_answered_in_the_envelope(fsi)
    await signed_messages(fsi, clock)
    await systems_authenticate_and_operators_sign_in(fsi, clock)


async def console_scans_both_credentials(fsi: Envelope) -> None:
    """The counter console's scan field takes the national e-credential as well as member-api's QR code (R8)."""
    page = await fsi.client.get("/console/login")
    clerk = next(s for s in fsi.world["staff"] if s["username"] == "clerk_zj_dh")  # type: ignore[attr-defined]
    login = {"username": clerk["username"], "password": clerk["password"], "_csrf_token": csrf_of(page.text)}
    assert (await fsi.client.post("/console/login", data=login, follow_redirects=False)).status_code == 303
    counter = await fsi.client.get("/console/counter")
    scanned = await fsi.client.post(
        "/console/counter/verify", data={"scan": NATIONAL_CODE, "_csrf_token": csrf_of(counter.text)}
    )
    assert scanned.status_code == 200 and "本机构为约定机构" in scanned.text
    fsi.decoder.down = True  # type: ignore[attr-defined]
    down = await fsi.client.post(
        "/console/counter/verify", data={"scan": NATIONAL_CODE, "_csrf_token": csrf_of(counter.text)}
    )
    fsi.decoder.down = False  # type: ignore[attr-defined]
    assert down.status_code == 503 and "解码服务暂不可用" in down.text


async def signed_messages(fsi: Envelope, clock: FrozenClock) -> None:
    """SM2/SM3 signatures: a credential with a public key must sign; a tampered or unsigned message is refused."""
    private, public = signing.new_key_pair()
    code = fsi.facility.code
    credential = await fsi_service.issue_credential(code, "signing HIS", public, clock.now())
    signed = Envelope(fsi.client, credential, code, clock)
    signed.facility._seq = itertools.count(5000)  # the same facility and frozen second as the other system
    signed.facility.signer = lambda message: signing.sign(private, public, message)
    await signed.sign_in()
    person = await signed.call("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": MEMBER_ID_NUMBER}})
    assert person["baseinfo"]["psn_no"] == "SG0000000001"
    message = signed.facility.message("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": MEMBER_ID_NUMBER}})
    message["input"]["data"]["mdtrt_cert_no"] = "440204198504120140"  # changed after signing
    tampered = await signed.raw(ENCODER.encode(message))
    assert tampered["err_code"] == "signature_invalid"
    signed.facility.signer = None
    unsigned = await signed.send("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": MEMBER_ID_NUMBER}})
    assert unsigned["err_code"] == "signature_invalid"


async def systems_authenticate_and_operators_sign_in(fsi: Envelope, clock: FrozenClock) -> None:
    query = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": MEMBER_ID_NUMBER}}
    body = ENCODER.encode(fsi.facility.message("1101", query))
    assert (await fsi.raw(body, credential="fsi0000.nope"))["err_code"] == "unauthorized"
    other = fsi.world["facilities"]["designated_station"]  # type: ignore[attr-defined]
    stranger = await fsi_service.issue_credential(other, "", "", clock.now())
    assert (await fsi.raw(body, credential=stranger))["err_code"] == "facility_mismatch"
    signed_out = fsi.facility.sign_no
    fsi.facility.sign_no = ""
    assert (await fsi.send("1101", query))["err_code"] == "sign_in_required"
    fsi.facility.sign_no = signed_out
    client_id = fsi.facility.credential.split(".")[0]
    assert await fsi_service.revoke_credential(client_id, clock.now())
    assert (await fsi.send("1101", query))["err_code"] == "unauthorized"


def _mutated(fsi: Envelope, change: Any) -> bytes:
    message = fsi.facility.message("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": MEMBER_ID_NUMBER}})
    changed = change(message)
    return changed if isinstance(changed, bytes) else ENCODER.encode(changed)


BAD_INPUT = [
    ("unknown infno", lambda m: {**m, "infno": "9999"}, "unknown_infno"),
    ("infno not 4 digits", lambda m: {**m, "infno": "22070"}, "invalid_field"),
    ("missing envelope field", lambda m: {k: v for k, v in m.items() if k != "msgid"}, "missing_field"),
    ("missing input node", lambda m: {**m, "input": {}}, "missing_field"),
    ("number for a string", lambda m: {**m, "opter": 1}, "invalid_field"),
    ("string for a node", lambda m: {**m, "input": {"data": "x"}}, "invalid_field"),
    ("msgid too short", lambda m: {**m, "msgid": m["msgid"][:-1]}, "invalid_msgid"),
    ("msgid of another facility", lambda m: {**m, "msgid": "H99999999999" + m["msgid"][12:]}, "invalid_msgid"),
    ("msgid impossible time", lambda m: {**m, "msgid": m["msgid"][:12] + "20261399250000" + "0001"}, "invalid_msgid"),
    ("inf_time shape", lambda m: {**m, "inf_time": "2026/11/24"}, "invalid_field"),
    ("not JSON", lambda m: b"{infno: 1101", "malformed_json"),
    ("invalid UTF-8", lambda m: b'{"infno": "\xff\xfe"}', "malformed_json"),
    ("JSON array", lambda m: b"[1, 2]", "malformed_json"),
    ("NaN", lambda m: ENCODER.encode(m).replace(b'"opter_type":"1"', b'"opter_type":NaN'), "malformed_json"),
    ("deep nesting", lambda m: b'{"input":' * 5000 + b"1" + b"}" * 5000, "malformed_json"),
    ("empty body", lambda m: b"", "malformed_json"),
    ("huge", lambda m: b'{"infno": "' + b"9" * 400_000 + b'"}', "message_too_large"),
]


async def bad_input_is_answered_in_the_envelope(fsi: Envelope) -> None:
    """The bad-input catalogue: every case is an envelope with infcode -1 and its stable code, never a 5xx."""
    for case, change, code in BAD_INPUT:
        answer = await fsi.raw(_mutated(fsi, change))
        assert answer["infcode"] == -1, case
        assert answer["err_code"] == code, (case, answer)
        assert f"[{code}]" in answer["err_msg"] and answer["inf_refmsgid"].startswith("440200"), case
    psn_no, mdtrt_id = await open_visit(fsi)
    lines = fee_lines(psn_no, mdtrt_id)
    lines["feedetail"][0]["pric"] = Decimal("10.001")
    lines["feedetail"][0]["det_item_fee_sumamt"] = Decimal("10.00")
    three = await fsi.send("2204", lines)
    assert three["err_code"] == "invalid_amount" and three["err_field"].endswith("pric")
    lines = fee_lines(psn_no, mdtrt_id)
    lines["feedetail"][1]["det_item_fee_sumamt"] = "25.01"
    assert (await fsi.send("2204", lines))["err_code"] == "invalid_amount"
    lines["feedetail"][1]["det_item_fee_sumamt"] = True
    assert (await fsi.send("2204", lines))["err_code"] == "invalid_field"
    await fsi.call("2204", fee_lines(psn_no, mdtrt_id))
    total = sum((Decimal(d["det_item_fee_sumamt"]) for d in fee_lines(psn_no, mdtrt_id)["feedetail"]), Decimal(0))
    off = await fsi.send("2207", settle_input(psn_no, mdtrt_id, total + Decimal("0.01"), ("02", MEMBER_ID_NUMBER)))
    assert off["err_code"] == "medfee_mismatch"
    sub_fen = await fsi.send("2206", settle_input(psn_no, mdtrt_id, Decimal("75.005"), ("02", MEMBER_ID_NUMBER)))
    assert sub_fen["err_code"] == "invalid_amount"
    withdrawn = await fsi.call("2205", {"data": {"mdtrt_id": mdtrt_id, "chrg_bchno": "0000", "psn_no": psn_no}})
    assert withdrawn["result"]["withdrawn_cnt"] == len(simulator.DEMO_LINES)
    assert (await fsi.send("2207", settle_input(psn_no, mdtrt_id, total, ("02", MEMBER_ID_NUMBER))))[
        "err_code"
    ] == "no_fee_lines"
    cancelled = await fsi.call("2202", {"data": {"psn_no": psn_no, "mdtrt_id": mdtrt_id}})
    assert cancelled == {}


def test_yuan_fen_conversion_is_exact() -> None:
    from member_api.fsi.envelope import Refusal, to_fen, yuan

    assert (
        to_fen(Decimal("12.50"), "x") == 1250 and to_fen(Decimal("0.1"), "x") == 10 and to_fen(Decimal(3), "x") == 300
    )
    assert ENCODER.encode({"a": yuan(1250), "b": yuan(-5)}) == b'{"a":12.50,"b":-0.05}'
    for bad in ("12.345", "NaN", "-1", "1E+20"):
        with pytest.raises(Refusal):
            to_fen(Decimal(bad), "x")
    assert datetime  # imported for the clock type in fixtures
