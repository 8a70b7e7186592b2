"""Issue 33 item 9: a newcomer's first requests. ``GET /`` points to the app, the console and the docs; ``/docs`` is
a small page that fetches the document instead of inlining all of it."""

from __future__ import annotations


async def test_root_points_to_the_app_the_console_the_docs_and_fhir(client):
    response = await client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    for target in ('href="/app/"', 'href="/console/"', 'href="/docs"', 'href="/fhir/R4/metadata"'):
        assert target in response.text


async def test_docs_page_links_the_document_instead_of_inlining_it(client):
    page = await client.get("/docs")
    document = await client.get("/docs/openapi.json")
    assert page.status_code == document.status_code == 200
    assert len(page.content) < 2_000 < len(document.content)
    assert "/docs/openapi.json" in page.text and '"paths"' not in page.text
