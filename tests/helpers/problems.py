"""What every refusal looks like: problem+json with a stable code and both languages, no traceback."""


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["message_zh"] and body["message_en"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    if code:
        assert body["code"] == code
    return body
