"""R16 abuse signals (each kind, counts, filters, review with a note) and the seeded review sample, both DBs."""

from __future__ import annotations

from datetime import UTC, date, datetime

from member_api.policy import capitation, parameters
from tests.helpers import facility_id, staff_headers
from tests.helpers.agency import claim_with_receipt, movement, sign_up
from tests.helpers.problems import assert_problem

WJ, WJ_STATION, LS = "H44020300001", "H44020300002", "H44020400005"
TOWNSHIPS = ("H44020300001", "H44020400005", "H44020500001", "H44020500005", "H44028100001")


async def _patterns(client) -> dict[str, object]:
    wj, station, ls = [await facility_id(client, c) for c in (WJ, WJ_STATION, LS)]
    m = await sign_up(6, wj, 2026)
    # same-day repeat at the institution: two counter settlements on 10 October
    await movement(m[0], wj, date(2026, 10, 10), 700)
    await movement(m[0], wj, date(2026, 10, 10), 700)
    # split visits: three small bills within three days at the station (each under 50.00)
    for day in (12, 13, 14):
        await movement(m[1], station, date(2026, 10, day), 1_400, compliant_fen=2_000)
    # not split: the third visit is a day too late
    for day in (1, 2, 5):
        await movement(m[2], station, date(2026, 10, day), 1_400, compliant_fen=2_000)
    # many facilities: settled at three facilities in October
    for facility, day in ((wj, 20), (station, 21), (ls, 22)):
        await movement(m[3], facility, date(2026, 10, day), 500)
    # duplicate receipt: one file in two claims lodged in October
    at = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)
    await claim_with_receipt(m[4], wj, "ab" * 32, at)
    await claim_with_receipt(m[5], wj, "ab" * 32, at)
    return {"wj": wj, "station": station, "ls": ls, "members": m}


async def test_r16_each_signal_kind_is_listed_and_counted(client):
    seen = await _patterns(client)
    wj, station, m = seen["wj"], seen["station"], seen["members"]
    officer = await staff_headers(client, "officer_agency")
    data = (await client.get("/v1/agency/signals", params={"year": 2026, "month": 10}, headers=officer)).json()
    by_kind: dict[str, list[dict]] = {}
    for s in data["items"]:
        by_kind.setdefault(s["kind"], []).append(s)
    assert [(s["member_id"], s["facility_id"], s["day"], s["count"]) for s in by_kind["same_day_repeat"]] == [
        (m[0], wj, "2026-10-10", 2)
    ]
    assert [(s["member_id"], s["facility_id"], s["day"], s["count"]) for s in by_kind["split_visits"]] == [
        (m[1], station, "2026-10-12", 3)
    ]
    assert by_kind["split_visits"][0]["institution_id"] == wj  # a station's signal belongs to its institution
    assert [(s["member_id"], s["count"]) for s in by_kind["many_facilities"]] == [(m[3], 3)]
    assert [(s["institution_id"], s["count"]) for s in by_kind["duplicate_receipt"]] == [(wj, 2)]
    assert all(s["member_name_masked"] == "测***" for s in data["items"] if s["member_id"])
    assert "测试居民" not in str(data)
    counts = {c["kind"]: c for c in data["counts"]}
    assert counts["same_day_repeat"] == {"kind": "same_day_repeat", "total": 1, "reviewed": 0, "open": 1}
    only_ls = (
        await client.get(
            "/v1/agency/signals", params={"year": 2026, "month": 10, "institution_id": seen["ls"]}, headers=officer
        )
    ).json()
    assert {s["kind"] for s in only_ls["items"]} == {"many_facilities"}
    september = (await client.get("/v1/agency/signals", params={"year": 2026, "month": 9}, headers=officer)).json()
    assert september["items"] == [] and all(c["total"] == 0 for c in september["counts"])


async def test_r16_outlier_institution_against_its_peers(client):
    ids = [await facility_id(client, code) for code in TOWNSHIPS]
    for n, institution in enumerate(ids):
        members = await sign_up(10, institution, 2026)
        visits = 20 if n == 0 else 2
        for k in range(visits):
            await movement(members[k % 10], institution, date(2026, 10, 1 + k), 700, compliant_fen=1_000)
    officer = await staff_headers(client, "officer_agency")
    data = (
        await client.get(
            "/v1/agency/signals", params={"year": 2026, "month": 10, "kind": "outlier_institution"}, headers=officer
        )
    ).json()
    assert [(s["institution_id"], s["key"].rsplit(":", 1)[1]) for s in data["items"]] == [(ids[0], "visit_rate")]
    assert "high" in data["items"][0]["detail"]


async def test_r16_officer_marks_a_signal_reviewed_once_with_a_note_audited(client):
    await _patterns(client)
    officer = await staff_headers(client, "officer_agency")
    listed = (
        await client.get(
            "/v1/agency/signals", params={"year": 2026, "month": 10, "kind": "same_day_repeat"}, headers=officer
        )
    ).json()
    key = listed["items"][0]["key"]
    body = {"signal_key": key, "note": "收费员重复录入，已冲正"}
    done = await client.post("/v1/agency/signals/reviews", json=body, headers=officer)
    assert done.status_code == 201, done.text
    assert done.json()["review"]["note"] == "收费员重复录入，已冲正"
    assert_problem(await client.post("/v1/agency/signals/reviews", json=body, headers=officer), 409)
    assert_problem(
        await client.post(
            "/v1/agency/signals/reviews",
            json={"signal_key": "same_day_repeat:1:1:2026-10-01", "note": "x"},
            headers=officer,
        ),
        404,
        "signal_not_found",
    )
    for malformed in ("split_visits:2026-13:1:1", "split_visits:2026-00:1:1", "no_such_kind:2026-10:1", "x:y"):
        refused = await client.post(
            "/v1/agency/signals/reviews", json={"signal_key": malformed, "note": "x"}, headers=officer
        )
        assert assert_problem(refused, 404, "signal_not_found")["errors"][0]["field"] == "signal_key"
    after = (
        await client.get(
            "/v1/agency/signals",
            params={"year": 2026, "month": 10, "kind": "same_day_repeat", "reviewed": "true"},
            headers=officer,
        )
    ).json()
    assert [s["key"] for s in after["items"]] == [key]
    assert after["counts"] == [{"kind": "same_day_repeat", "total": 1, "reviewed": 1, "open": 0}]
    from member_api.db import fetch

    audit = await fetch("SELECT actor, action FROM audit_event WHERE action = 'signal_reviewed'")
    assert len(audit) == 1 and audit[0]["actor"].startswith("staff:")


async def test_review_sample_is_seeded_reproducible_and_drawn_once(client):
    wj, station, ls = [await facility_id(client, c) for c in (WJ, WJ_STATION, LS)]
    a, b = await sign_up(40, wj, 2026, station_id=station), await sign_up(3, ls, 2026)
    for k, member in enumerate(a):
        await movement(member, station if k % 2 else wj, date(2026, 10, 1 + k % 28), 100)
    for member in b:
        await movement(member, ls, date(2026, 10, 3), 100)
    await claim_with_receipt(a[0], wj, "cd" * 32, datetime(2026, 10, 9, 2, 0, tzinfo=UTC))
    officer = await staff_headers(client, "officer_agency")
    drawn = await client.post("/v1/agency/samples/2026/10", json={"seed": 20261031}, headers=officer)
    assert drawn.status_code == 200, drawn.text
    sample = drawn.json()
    params = parameters.for_year(2026)
    sizes = {i["institution_id"]: i for i in sample["institutions"]}
    assert sizes[wj]["settlements"] == 40 and sizes[wj]["settlements_drawn"] == capitation.sample_size(params, 40)
    assert sizes[ls]["settlements_drawn"] == capitation.sample_size(params, 3) == 1
    assert sizes[wj]["claims"] == 1 and sizes[wj]["claims_drawn"] == 1
    assert len(sample["items"]) == sum(i["settlements_drawn"] + i["claims_drawn"] for i in sample["institutions"])
    again = await client.post("/v1/agency/samples/2026/10", json={"seed": 7}, headers=officer)
    assert again.json() == sample  # drawn once: the stored draw answers
    check = (await client.get("/v1/agency/samples/2026/10/check", headers=officer)).json()
    assert check == {"reproduced": True, "drawn": len(sample["items"]), "redrawn": len(sample["items"])}
    # another month's movement after the draw does not change the audit of this one
    await movement(a[1], wj, date(2026, 10, 30), 100)
    assert (await client.get("/v1/agency/samples/2026/10/check", headers=officer)).json()["reproduced"] is True
    assert_problem(await client.post("/v1/agency/samples/2026/11", headers=officer), 409, "month_not_ended")
