"""``member-api seed-demo``: a realistic Shaoguan catalogue, demo members and staff (idempotent)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from member_api.auth.passwords import hash_password
from member_api.auth.tables import Staff
from member_api.catalogue import service as catalogue
from member_api.core.clock import SystemClock, local_today
from member_api.core.divisions import DIVISIONS
from member_api.core.keys import load_keyring
from member_api.db import write_transaction
from member_api.facilities.service import carry_over_year
from member_api.facilities.tables import Designation, Facility
from member_api.members.identity import check_digit
from member_api.members.registry import RegistryRow, upsert
from member_api.members.tables import Member
from member_api.settings import Settings

DEMO_PASSWORD = "demo-Passw0rd!"  # noqa: S105 - demo accounts only, printed in the manifest

# (division, centre of the division's seat, [(institution name, kind, [station names])])
CATALOGUE: list[tuple[str, tuple[float, float], list[tuple[str, str, list[str]]]]] = [
    (
        "浈江区",
        (24.804, 113.611),
        [
            (
                "浈江区东河街道社区卫生服务中心",
                "community_center",
                ["东河社区卫生站", "工业东社区卫生站", "五里亭社区卫生站"],
            ),
            ("浈江区犁市镇卫生院", "township_center", ["犁市村卫生站", "下陂村卫生站", "水楼村卫生站"]),
        ],
    ),
    (
        "武江区",
        (24.792, 113.588),
        [
            ("武江区西河镇卫生院", "township_center", ["西河村卫生站", "桂头村卫生站", "沙洲尾村卫生站"]),
            ("武江区新华街道社区卫生服务中心", "community_center", ["新华南社区卫生站", "百旺社区卫生站"]),
        ],
    ),
    (
        "曲江区",
        (24.682, 113.604),
        [
            ("曲江区马坝镇卫生院", "township_center", ["马坝村卫生站", "鞍山村卫生站", "石堡村卫生站"]),
            ("曲江区大塘镇卫生院", "township_center", ["大塘村卫生站", "河边村卫生站"]),
        ],
    ),
    (
        "乐昌市",
        (25.128, 113.347),
        [
            ("乐昌市坪石镇卫生院", "township_center", ["坪石村卫生站", "老坪石村卫生站", "罗家渡村卫生站"]),
            ("乐昌市乐城街道社区卫生服务中心", "community_center", ["河南社区卫生站", "昌山社区卫生站"]),
        ],
    ),
    (
        "南雄市",
        (25.117, 114.311),
        [
            ("南雄市珠玑镇卫生院", "township_center", ["珠玑村卫生站", "里东村卫生站", "灵潭村卫生站"]),
            ("南雄市雄州街道社区卫生服务中心", "community_center", ["永康社区卫生站", "林荫社区卫生站"]),
        ],
    ),
    (
        "仁化县",
        (25.085, 113.749),
        [
            ("仁化县丹霞街道卫生院", "township_center", ["夏富村卫生站", "瑶塘村卫生站", "凡口村卫生站"]),
        ],
    ),
    (
        "始兴县",
        (24.953, 114.067),
        [
            ("始兴县太平镇卫生院", "township_center", ["东湖坪村卫生站", "五里山村卫生站", "新村村卫生站"]),
        ],
    ),
    (
        "翁源县",
        (24.350, 114.130),
        [
            ("翁源县龙仙镇卫生院", "township_center", ["龙仙村卫生站", "青云村卫生站", "福新村卫生站"]),
        ],
    ),
    (
        "新丰县",
        (24.059, 114.207),
        [
            ("新丰县丰城街道卫生院", "township_center", ["城东社区卫生站", "城西社区卫生站", "新城村卫生站"]),
        ],
    ),
    (
        "乳源瑶族自治县",
        (24.776, 113.276),
        [
            ("乳源瑶族自治县乳城镇卫生院", "township_center", ["云门村卫生站", "新兴村卫生站", "红云村卫生站"]),
            ("乳源瑶族自治县必背镇卫生院", "township_center", ["必背口村卫生站", "桂坑村卫生站"]),
        ],
    ),
]
SCHOOL_CLINICS = [("浈江区", "韶关学院校医院", (24.781, 113.672)), ("武江区", "韶关技师学院校医院", (24.772, 113.560))]
HOSPITALS = [
    ("武江区", "粤北人民医院", "tertiary", (24.786, 113.590)),
    ("浈江区", "韶关市第一人民医院", "tertiary", (24.810, 113.602)),
    ("曲江区", "韶关市曲江区人民医院", "secondary", (24.684, 113.610)),
    ("乐昌市", "乐昌市人民医院", "secondary", (25.130, 113.350)),
    ("南雄市", "南雄市人民医院", "secondary", (25.119, 114.305)),
    ("翁源县", "翁源县人民医院", "secondary", (24.352, 114.128)),
]
OUT_OF_CITY = [
    ("广州市", "广州市天河区石牌街社区卫生服务中心", "community_center", "primary", (23.131, 113.338)),
    ("清远市", "清远市清城区石角镇卫生院", "township_center", "primary", (23.560, 112.960)),
    ("广州市", "中山大学附属第一医院", "hospital", "tertiary", (23.128, 113.287)),
]


ROADS = ("建设路", "人民路", "解放路", "新华路")


def _town(institution: str, division: str) -> str:
    """The town or street an institution serves, in full: "浈江区东河街道社区卫生服务中心" -> "东河街道"."""
    return institution.removeprefix(division).removesuffix("社区卫生服务中心").removesuffix("卫生院")


def _code(division_code: str, n: int) -> str:
    return f"H{division_code}{n:05d}"


def _facility_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for division, (lat, lng), institutions in CATALOGUE:
        dcode = DIVISIONS[division]
        n = 0
        for i, (name, kind, stations) in enumerate(institutions):
            n += 1
            parent_code = _code(dcode, n)
            ilat, ilng = lat + 0.011 * i, lng - 0.009 * i
            rows.append(
                dict(
                    code=parent_code,
                    name=name,
                    kind=kind,
                    tier="primary",
                    division=division,
                    address=f"韶关市{division}{_town(name, division)}{ROADS[i % len(ROADS)]}{10 + i}号",
                    lat=ilat,
                    lng=ilng,
                    in_city=True,
                    parent_code=None,
                )
            )
            for j, station in enumerate(stations):
                n += 1
                rows.append(
                    dict(
                        code=_code(dcode, n),
                        name=f"{division}{_town(name, division)}{station}",
                        kind="village_station",
                        tier="primary",
                        division=division,
                        address=f"韶关市{division}{_town(name, division)}{station.removesuffix('卫生站')}",
                        lat=ilat + 0.004 * (j + 1),
                        lng=ilng + 0.005 * (j + 1),
                        in_city=True,
                        parent_code=parent_code,
                    )
                )
    for k, (division, name, (lat, lng)) in enumerate(SCHOOL_CLINICS):
        rows.append(
            dict(
                code=_code(DIVISIONS[division], 900 + k),
                name=name,
                kind="school_clinic",
                tier="primary",
                division=division,
                address=f"韶关市{division}{name[:-3]}",
                lat=lat,
                lng=lng,
                in_city=True,
                parent_code=None,
            )
        )
    for k, (division, name, tier, (lat, lng)) in enumerate(HOSPITALS):
        rows.append(
            dict(
                code=_code(DIVISIONS[division], 800 + k),
                name=name,
                kind="hospital",
                tier=tier,
                division=division,
                address=f"韶关市{division}{ROADS[k % len(ROADS)]}{100 + k}号",
                lat=lat,
                lng=lng,
                in_city=True,
                parent_code=None,
            )
        )
    for k, (city, name, kind, tier, (lat, lng)) in enumerate(OUT_OF_CITY):
        rows.append(
            dict(
                code=f"H44XX00{k:05d}",
                name=name,
                kind=kind,
                tier=tier,
                division=city,
                address=f"{city}{name}",
                lat=lat,
                lng=lng,
                in_city=False,
                parent_code=None,
            )
        )
    return rows


def demo_id(division_code: str, birth: date, seq: int, sex: str) -> str:
    body = f"{division_code}{birth:%Y%m%d}{seq:02d}{(1 if sex == 'M' else 2) + (seq % 4) * 2}"
    return body + check_digit(body)


async def seed_facilities() -> dict[str, int]:
    rows = _facility_rows()
    known = {r["code"]: r for r in await Facility.select(Facility.id, Facility.code, Facility.name, Facility.address)}
    ids = {code: r["id"] for code, r in known.items()}
    for row in rows:
        if row["code"] in ids:
            old = known[row["code"]]
            if (old["name"], old["address"]) != (row["name"], row["address"]):  # names cut short by earlier seeds
                await Facility.update({Facility.name: row["name"], Facility.address: row["address"]}).where(
                    Facility.id == old["id"]
                )
            continue
        data = {k: v for k, v in row.items() if k != "parent_code"}
        facility = Facility(**data, active=True, parent=ids.get(row["parent_code"]) if row["parent_code"] else None)
        await facility.save()
        ids[row["code"]] = facility.id
    return ids


async def seed_demo(settings: Settings, today: date | None = None) -> dict[str, Any]:
    """Catalogue, members (adults, a guardian with a newborn, one not paid up) and staff; safe to re-run."""
    keyring = load_keyring(settings.resolved_key_dir)
    today = today or local_today(SystemClock())
    year = today.year
    zj = DIVISIONS["浈江区"]
    newborn_birth = date(year, max(1, today.month - 1), 10) if today.month > 1 else date(year - 1, 12, 10)
    people = [
        ("SG0000000001", "陈志强", demo_id(zj, date(1985, 4, 12), 1, "M"), "M", "浈江区", "13800000001", None, True),
        ("SG0000000002", "李秀英", demo_id(zj, date(1962, 9, 3), 2, "F"), "F", "浈江区", "13800000002", None, True),
        (
            "SG0000000003",
            "黄伟明",
            demo_id(DIVISIONS["武江区"], date(1990, 1, 25), 3, "M"),
            "M",
            "武江区",
            "13800000003",
            None,
            True,
        ),
        ("SG0000000004", "张丽华", demo_id(zj, date(1993, 6, 18), 4, "F"), "F", "浈江区", "13800000004", None, True),
        ("SG0000000005", "张小宝", demo_id(zj, newborn_birth, 5, "M"), "M", "浈江区", None, "SG0000000004", True),
        (
            "SG0000000006",
            "刘建国",
            demo_id(DIVISIONS["曲江区"], date(1958, 11, 30), 6, "M"),
            "M",
            "曲江区",
            "13800000006",
            None,
            False,
        ),
        # No phone on file: this resident cannot bind in the app and binds at a counter (binding code + ID card).
        (
            "SG0000000007",
            "周国平",
            demo_id(DIVISIONS["武江区"], date(1979, 3, 8), 7, "M"),
            "M",
            "武江区",
            None,
            None,
            True,
        ),
    ]
    async with write_transaction():
        ids = await seed_facilities()
        rows = []
        for no, name, idn, sex, division, phone, guardian, paid in people:
            for y in (year - 1, year):
                newborn = guardian is not None
                if newborn and y < newborn_birth.year:
                    continue
                enrolled_on = (
                    min(today, date(newborn_birth.year, newborn_birth.month, 28)) if newborn else date(y - 1, 12, 15)
                )
                rows.append(
                    RegistryRow(
                        insurance_no=no,
                        name=name,
                        id_number=idn,
                        sex=sex,
                        division=division,
                        phone=phone,
                        guardian_insurance_no=guardian,
                        year=y,
                        paid_up=paid or y < year,
                        enrolled_on=enrolled_on,
                    )
                )
        for row in rows:  # one at a time: a guardian must exist before the newborn names them
            await upsert(keyring, [row])
        first = await Member.select(Member.id).where(Member.insurance_no == "SG0000000001").first()
        institution, station = _code(zj, 1), _code(zj, 2)
        if first and not await Designation.exists().where(Designation.member == first["id"]):
            await Designation.insert(
                Designation(
                    member=first["id"],
                    year=year - 1,
                    institution=ids[institution],
                    station=ids[station],
                    valid_from=date(year - 1, 1, 1),
                    source="first_choice",
                    created_at=datetime.now(UTC),
                )
            ).run()
        staff = [
            ("clerk_zj_dh", "clerk", institution),
            ("clerk_zj_dh_station", "clerk", station),
            ("clerk_wj_xh", "clerk", _code(DIVISIONS["武江区"], 1)),
            ("clerk_ybrm", "clerk", _code(DIVISIONS["武江区"], 800)),
            ("reviewer_agency", "reviewer", None),
            ("reviewer_agency_2", "reviewer", None),
            ("officer_agency", "officer", None),
        ]
        names = {"officer_agency": "王晓梅", "reviewer_agency": "李国强", "reviewer_agency_2": "陈静"}
        for username, role, code in staff:
            if not await Staff.exists().where(Staff.username == username):
                await Staff.insert(
                    Staff(
                        username=username,
                        display_name=names.get(username, ""),
                        password_hash=hash_password(DEMO_PASSWORD),
                        role=role,
                        facility=ids[code] if code else None,
                        created_at=datetime.now(UTC),
                    )
                ).run()
    await carry_over_year(year, today)  # what the daily job does on the first day of a year
    # R18: the sample catalogue, with the designated pair's own codes mapped (idempotent re-imports).
    await catalogue.import_sample(datetime.now(UTC), [ids[institution], ids[station]])
    return {
        "today": today.isoformat(),
        "note": "Demo data only. Log in residents with POST /v1/auth/otp then /v1/auth/login; the SMS code is "
        f"appended to {settings.resolved_sms_backend.removeprefix('file:')}. Self-service binding "
        "(POST /v1/me/binding) works with the phone on file; a member without one (phone null) logs in with any "
        "phone, gets a binding code (403 binding_needs_verification or POST /v1/me/binding-codes) and a clerk "
        "binds it with POST /v1/counter/bindings.",
        "members": [
            {
                "insurance_no": p[0],
                "name": p[1],
                "id_number": p[2],
                "phone": p[5],
                "division": p[4],
                "guardian_insurance_no": p[6],
                "paid_up_this_year": p[7],
            }
            for p in people
        ],
        "staff": [{"username": u, "password": DEMO_PASSWORD, "role": r, "facility_code": c} for u, r, c in staff],
        "facilities": {
            "designated_institution": institution,
            "designated_station": station,
            "school_clinic": _code(zj, 900),
            "tertiary_hospital": _code(DIVISIONS["武江区"], 800),
            "out_of_city": "H44XX0000000",
        },
    }
