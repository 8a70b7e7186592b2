"""Issue 20: the resident H5 pages over HTTP on both databases: cookies, CSRF, no-store, refusals in words, and
the same authorization as the API (a resident's pages never show another member's data)."""

from __future__ import annotations

import uuid

import msgspec

from member_api.claims import service as claims_service
from member_api.core.errors import ApiError
from member_api.db import fetch
from member_api.members import service as members_service
from tests.helpers import facility_id, member_entry, member_headers, staff_headers
from tests.helpers.claims import add_receipt, draft_claim
from tests.helpers.databases import last_sms_code
from tests.helpers.files import png_bytes
from tests.helpers.web import csrf, page_login, post_form


def cookie_header(response, name: str) -> str:
    found = [v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return found[-1]


async def test_pages_are_html_in_chinese_with_no_store_and_a_strict_policy(client):
    response = await client.get("/app/login")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert '<html lang="zh-CN">' in response.text and "手机号" in response.text
    session = cookie_header(response, "app_session").lower()  # it carries the CSRF nonce from the first page on
    assert "httponly" in session and "samesite=lax" in session and "path=/app" in session


async def test_pages_stay_out_of_the_api_document(client):
    schema = (await client.get("/docs/openapi.json")).json()
    assert not [path for path in schema["paths"] if path.startswith("/app")]


async def test_anonymous_visitor_is_sent_to_login_and_scripts_get_a_code(client):
    page = await client.get("/app/history", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/app/login?next=/app/history"
    script = await client.get("/app/credential/code", headers={"X-Requested-With": "fetch"})
    assert script.status_code == 401 and script.json()["code"] == "login_required"


async def test_session_cookie_is_httponly_lax_sealed_and_holds_no_readable_token(client):
    entry = member_entry(client, "SG0000000001")
    await post_form(client, "/app/login/code", {"phone": entry["phone"]})
    code = last_sms_code(client.settings, entry["phone"])
    done = await post_form(client, "/app/login", {"phone": entry["phone"], "code": code})
    assert done.status_code == 303 and done.headers["location"] == "/app/"
    session = cookie_header(done, "app_session")
    flags = session.lower()
    assert "httponly" in flags and "samesite=lax" in flags and "path=/app" in flags
    assert "secure" not in flags  # served over plain HTTP here; see the HTTPS test
    value = session.split(";")[0].split("=", 1)[1]
    assert "eyJ" not in value and entry["phone"] not in value  # sealed: no JWT, no phone in sight
    # Not bound yet: every page leads to binding first.
    assert (await client.get("/app/", follow_redirects=False)).headers["location"] == "/app/bind"
    # A tampered cookie is no login at all.
    client.cookies.set("app_session", value[:-4] + "AAAA", path="/app")
    assert (await client.get("/app/", follow_redirects=False)).headers["location"] == "/app/login"


async def test_session_cookie_is_a_secure_host_cookie_over_https(client):
    """Issue 26: over HTTPS the cookie is ``__Host-`` (Secure, Path=/, no Domain): no sibling host or path can set or
    shadow it."""
    client.base_url = "https://testserver.local"
    first = cookie_header(await client.get("/app/login"), "__Host-app_session").lower()
    assert "secure" in first and "path=/;" in first + ";" and "domain" not in first
    entry = member_entry(client, "SG0000000002")
    await post_form(client, "/app/login/code", {"phone": entry["phone"]})
    code = last_sms_code(client.settings, entry["phone"])
    done = await post_form(client, "/app/login", {"phone": entry["phone"], "code": code})
    assert done.status_code == 303, done.text
    assert "secure" in cookie_header(done, "__Host-app_session").lower()
    assert (await client.get("/app/", follow_redirects=False)).headers["location"] == "/app/bind"  # logged in


async def test_issue_26_a_csrf_token_works_only_with_the_session_it_was_made_for(client):
    """The attacker's own session cookie and token pair, replayed with the victim's session cookie, is refused:
    the token is derived from the session, not a cookie the attacker can pair with anything."""
    await client.get("/app/login")
    attacker_token = await csrf(client)
    client.cookies.clear()  # the victim: another browser, another session
    await client.get("/app/login")
    refused = await client.post("/app/login/code", data={"phone": "13800000001", "_csrf_token": attacker_token})
    assert refused.status_code == 403 and "页面已过期" in refused.text
    own = await client.post("/app/login/code", data={"phone": "13800000001", "_csrf_token": await csrf(client)})
    assert own.status_code != 403


async def test_a_form_without_its_csrf_token_is_refused_in_words(client):
    await client.get("/app/login")  # the session (with its CSRF nonce) alone is not enough
    refused = await client.post("/app/login", data={"phone": "13800000001", "code": "123456"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "页面已过期" in refused.text and "Traceback" not in refused.text
    forged = await client.post("/app/login", data={"phone": "13800000001", "code": "1", "_csrf_token": "x" * 128})
    assert forged.status_code == 403


async def test_login_problems_are_shown_in_words(client):
    entry = member_entry(client, "SG0000000003")
    bad_phone = await post_form(client, "/app/login/code", {"phone": "12345"})
    assert bad_phone.status_code == 422 and "请输入正确的 11 位手机号" in bad_phone.text
    sent = await post_form(client, "/app/login/code", {"phone": entry["phone"]}, headers={"X-Requested-With": "fetch"})
    assert sent.json()["resend_after_s"] == 60  # the server's one-code-per-minute limit
    again = await post_form(client, "/app/login/code", {"phone": entry["phone"]}, headers={"X-Requested-With": "fetch"})
    assert again.status_code == 429
    assert again.json()["message_zh"] == "操作过于频繁，请稍后再试" and again.json()["retry_after_s"] > 0
    wrong = await post_form(client, "/app/login", {"phone": entry["phone"], "code": "000000"})
    assert wrong.status_code == 401 and "验证码错误或已失效" in wrong.text
    assert entry["phone"] in wrong.text  # the form keeps what was typed


async def test_binding_problems_are_shown_in_words(client, monkeypatch):
    entry = await page_login(client, "SG0000000003", bind=False)
    bad = await post_form(client, "/app/bind", {"id_number": "123", "name": entry["name"]}, page="/app/bind")
    assert bad.status_code == 422 and "身份证号码有误" in bad.text
    unknown = await post_form(client, "/app/bind", {"id_number": entry["id_number"], "name": "王五"}, page="/app/bind")
    assert unknown.status_code == 404 and "未找到与身份证号和姓名相符的参保信息" in unknown.text

    async def needs_counter(*_args, **_kwargs):
        raise ApiError(
            "binding_needs_verification",
            403,
            "请到柜台核验本人身份后完成绑定",
            "Verify at a counter.",
            extra={"counter_code": "482913"},
        )

    monkeypatch.setattr(members_service, "bind", needs_counter)
    held = await post_form(
        client, "/app/bind", {"id_number": entry["id_number"], "name": entry["name"]}, page="/app/bind"
    )
    assert held.status_code == 403
    assert "请到柜台核验本人身份后完成绑定" in held.text and "482913" in held.text and "携带本人身份证" in held.text


async def test_home_shows_the_masked_member_caps_pair_and_claim_window(client):
    entry = await page_login(client, "SG0000000001")
    home = await client.get("/app/")
    assert home.status_code == 200 and home.headers["cache-control"] == "no-store"
    text = home.text
    assert "陈**" in text and entry["name"] not in text and entry["id_number"] not in text
    assert "300.00" in text and "60.00" in text  # R4: annual cap and out-of-city sub-cap, in yuan
    assert "浈江区东河街道社区卫生服务中心" in text  # the pair carried over from last year, with its address
    assert "新生儿报销办理时间" in text and "2026-11-26" in text  # R9: the window after 2026-11-24


async def test_unpaid_member_sees_no_eligibility_in_words(client):
    await page_login(client, "SG0000000006")
    text = (await client.get("/app/")).text
    assert "2026 年度暂无待遇" in text  # R1


async def test_logout_revokes_the_login(client):
    await page_login(client, "SG0000000001")
    out = await post_form(client, "/app/logout", {}, page="/app/")
    assert out.status_code == 303 and out.headers["location"] == "/app/login"
    assert (await client.get("/app/", follow_redirects=False)).headers["location"] == "/app/login"
    tokens = await fetch("SELECT revoked FROM refresh_token WHERE role = 'member'")
    assert tokens and all(t["revoked"] for t in tokens)  # the API's refresh family is revoked, not just forgotten


async def test_a_residents_pages_never_show_another_members_data(client):
    """Same authorization as the API: another member's settlement, claim, receipt and credential stay out of
    reach (404 pages in words), switching to a member who is not one's dependant is refused."""
    ids_inst = await facility_id(client, client.world["facilities"]["designated_institution"])
    ids_station = await facility_id(client, client.world["facilities"]["designated_station"])
    other = member_entry(client, "SG0000000002")
    other_headers = await member_headers(client, "SG0000000002")
    chosen = await client.put(
        "/v1/me/designation", json={"institution_id": ids_inst, "station_id": ids_station}, headers=other_headers
    )
    assert chosen.status_code == 200, chosen.text
    clerk = await staff_headers(client, "clerk_zj_dh")
    settled = await client.post(
        "/v1/counter/settlements",
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
        json={"visit_date": "2026-11-24", "id_number": other["id_number"], "compliant_fen": 2000},
    )
    assert settled.status_code == 201, settled.text
    # Another family's claim with a receipt: a guardian's newborn claim for their dependant.
    guardian_headers = await member_headers(client, "SG0000000004")
    await client.put(
        "/v1/me/designation", json={"institution_id": ids_inst, "station_id": ids_station}, headers=guardian_headers
    )
    dependants = (await client.get("/v1/me/dependants", headers=guardian_headers)).json()
    newborn_id = dependants[0]["id"]
    claim = await draft_claim(
        client,
        guardian_headers,
        {"kind": "newborn", "items": [{"care_date": dependants[0]["birth_date"], "facility_id": ids_inst}]},
        member_id=newborn_id,
    )
    uploaded = await add_receipt(client, guardian_headers, claim, member_id=newborn_id)
    receipt = uploaded.json()["items"][0]["receipts"][0]

    await page_login(client, "SG0000000001")
    for path in (
        f"/app/history/{settled.json()['id']}",
        f"/app/claims/{claim['id']}",
        f"/app/claims/{claim['id']}/receipts/{receipt['id']}",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "不存在" in response.text and "{" not in response.text.split("<body", 1)[1].split("<script")[0]
    switch = await post_form(client, "/app/acting", {"member_id": str(newborn_id)}, page="/app/")
    assert switch.status_code == 404 and "参保人不存在" in switch.text
    for path in ("/app/", "/app/history", "/app/claims", "/app/credential", "/app/clinics", "/app/family"):
        text = (await client.get(path)).text
        assert "李**" not in text and "张**" not in text, path
        assert other["id_number"][-4:] not in text, path
    history = (await client.get("/app/history/more", headers={"X-Requested-With": "fetch"})).json()
    assert "20.00" not in history["html"] and "14.00" not in history["html"]


async def test_a_guardian_acts_for_a_dependant_everywhere(client):
    dependant = (await client.get("/v1/me/dependants", headers=await member_headers(client, "SG0000000004"))).json()
    client.clock.advance(61)  # the next SMS code to this phone may go out after a minute
    await page_login(client, "SG0000000004")
    form = {"member_id": str(dependant[0]["id"]), "next": "/app/claims"}
    switch = await post_form(client, "/app/acting", form, page="/app/")
    assert switch.status_code == 303 and switch.headers["location"] == "/app/claims"
    home = (await client.get("/app/")).text
    assert "正在为被监护人" in home and dependant[0]["id_number_masked"] in home
    code = (await client.get("/app/credential/code", headers={"X-Requested-With": "fetch"})).json()
    assert code["jti"] and code["svg"].startswith("<svg")
    claims = (await client.get("/app/claims")).text
    assert "新生儿报销" in claims
    back = await post_form(client, "/app/acting", {"member_id": "0"}, page="/app/")
    assert back.status_code == 303
    assert "正在为被监护人" not in (await client.get("/app/")).text


async def test_login_page_after_login_goes_home(client):
    await page_login(client, "SG0000000001")
    token = await csrf(client, "/app/")
    assert token
    response = await client.get("/app/login?next=/app/history", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/app/history"
    outside = await client.get("/app/login?next=//evil.example/", follow_redirects=False)
    assert outside.headers["location"] == "/app/"


async def test_what_routing_refuses_under_app_is_a_page_too(client):
    for path, status in (("/app/no-such-page", 404), ("/app/acting", 405), ("/app/history/abc", 404)):
        response = await client.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "返回首页" in response.text
    api = await client.get("/v1/no-such-thing")
    assert api.headers["content-type"].startswith("application/problem+json")  # the API keeps problem+json


async def test_r10_referral_claim_through_the_pages_shows_the_reviewers_outcome_per_item(client):
    """Draft (two items), receipts per item, submit, review: the page shows each item's outcome in words, the
    amount paid, the status timeline, and the payout in the history."""
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    hospital = await facility_id(client, "H44020300800")
    referral = await client.post(
        "/v1/counter/referrals",
        json={
            "id_number": entry["id_number"],
            "target_facility_id": hospital,
            "valid_from": "2026-11-24",
            "valid_to": "2026-12-31",
        },
        headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert referral.status_code == 201, referral.text
    await page_login(client, "SG0000000001")
    form = await client.get("/app/claims/new?kind=referral")
    assert "粤北人民医院" in form.text
    created = await post_form(
        client,
        "/app/claims/new",
        {
            "kind": "referral",
            "referral_id": str(referral.json()["id"]),
            "care_date_0": "2026-11-24",
            "compliant_0": "200",
            "care_date_1": "2026-11-24",
            "compliant_1": "50.5",
            "non_compliant_1": "3",
        },
        page="/app/claims/new?kind=referral",
    )
    assert created.status_code == 303, created.text
    claim_path = created.headers["location"]
    claim_id = int(claim_path.rsplit("/", 1)[1])
    items = [msgspec.to_builtins(i) for i in (await claims_service.view(claim_id)).items]
    assert [(i["compliant_fen"], i["non_compliant_fen"]) for i in items] == [(20000, 0), (5050, 300)]

    incomplete = await post_form(client, f"{claim_path}/submit", {}, page=claim_path)
    assert incomplete.status_code == 422 and "请为这一项上传至少一张票据" in incomplete.text
    for item in items:
        token = await csrf(client, claim_path)
        uploaded = await client.post(
            f"{claim_path}/receipts",
            data={"item_id": str(item["id"]), "_csrf_token": token},
            files=[("files", ("receipt.png", png_bytes(), "image/png"))],
            headers={"X-Requested-With": "fetch"},
        )
        assert uploaded.status_code == 201 and uploaded.json()["location"] == claim_path
    bad = await client.post(
        f"{claim_path}/receipts",
        data={"item_id": str(items[0]["id"]), "_csrf_token": await csrf(client, claim_path)},
        files=[("files", ("notes.txt", b"not an image", "text/plain"))],
        headers={"X-Requested-With": "fetch"},
    )
    assert bad.status_code == 422 and bad.json()["message_zh"] == "只支持 JPEG、PNG 图片或 PDF 文件"
    submitted = await post_form(client, f"{claim_path}/submit", {}, page=claim_path)
    assert submitted.status_code == 303

    reviewer = await staff_headers(client, "reviewer_agency")
    decided = await client.post(
        f"/v1/review/claims/{claim_id}/decision",
        json={
            "items": [
                {"item_id": items[0]["id"], "decision": "approve"},
                {"item_id": items[1]["id"], "decision": "reject", "reason": "票据模糊，无法辨认"},
            ],
            "comment": "第二项请重新提交清晰票据",
        },
        headers=reviewer,
    )
    assert decided.status_code == 200, decided.text
    page = (await client.get(claim_path)).text
    assert "部分通过" in page and "票据模糊，无法辨认" in page and "第二项请重新提交清晰票据" in page
    assert page.count('data-testid="item-outcome"') == 2 and "未通过" in page
    assert "100.00" in page  # E4: 200.00 at a tertiary hospital, 50%
    assert "审核结果" not in page and "创建草稿" in page and "提交申请" in page
    history = (await client.get("/app/history")).text
    assert "报销支付" in history and "粤北人民医院" in history


async def test_history_pages_by_keyset_for_the_infinite_scroll(client):
    entry = member_entry(client, "SG0000000001")
    clerk = await staff_headers(client, "clerk_zj_dh")
    for n in range(12):
        settled = await client.post(
            "/v1/counter/settlements",
            headers={**clerk, "Idempotency-Key": str(uuid.uuid4())},
            json={"visit_date": "2026-11-24", "id_number": entry["id_number"], "compliant_fen": 100 + n},
        )
        assert settled.status_code == 201, settled.text
    await page_login(client, "SG0000000001")
    first = (await client.get("/app/history")).text
    assert first.count('data-testid="movement"') == 10 and "data-more=" in first
    more_url = first.split('data-more="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    more = (await client.get(more_url, headers={"X-Requested-With": "fetch"})).json()
    assert more["html"].count('data-testid="movement"') == 2 and more["next"] is None
    assert "0.70" in more["html"] and "0.71" in more["html"]  # the two oldest: 1.00 and 1.01 at 70%
    chart = await client.get("/app/history/chart.svg")
    assert chart.headers["content-type"].startswith("image/svg+xml") and b"<script" not in chart.content
    assert chart.headers["cache-control"] == "no-store"


async def test_p1_an_authorised_relative_acts_within_the_granted_scopes_only(client):
    """P1 through the pages: a relative granted only "credential" shows the member's code, and a page needing
    "view" leads to the family page with the refusal in words; every act is audited as through the API."""
    member = member_entry(client, "SG0000000002")
    relative_headers = await member_headers(client, "SG0000000001")
    asked = await client.post(
        "/v1/me/family/grants",
        json={"id_number": member["id_number"], "scopes": ["credential"]},
        headers=relative_headers,
    )
    assert asked.status_code == 202, asked.text
    member_api_headers = await member_headers(client, "SG0000000002")
    [grant] = (await client.get("/v1/me/family", headers=member_api_headers)).json()["acting_for_me"]
    confirmed = await client.post(f"/v1/me/family/grants/{grant['id']}/confirm", headers=member_api_headers)
    assert confirmed.status_code == 200, confirmed.text
    member_id = confirmed.json()["member"]["member_id"]

    client.clock.advance(61)  # the next SMS code to the relative's phone may go out after a minute
    await page_login(client, "SG0000000001")
    family = (await client.get("/app/family")).text
    assert "授权亲属" in family and "出示凭证" in family
    switched = await post_form(
        client, "/app/acting", {"member_id": str(member_id), "next": "/app/"}, page="/app/family"
    )
    assert switched.status_code == 303
    home = await client.get("/app/", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/app/family"
    refused = (await client.get("/app/family")).text
    assert "该亲属授权不包含此项操作" in refused
    credential = await client.get("/app/credential")
    assert credential.status_code == 200 and "（授权亲属）" in credential.text and "李**" in credential.text
    acts = await fetch("SELECT data FROM audit_event WHERE action = 'acted_for' AND subject_id = {}", str(member_id))
    assert acts, "acting for a relative is audited"
