"""Issue 18 item 6: ``/metrics`` counts the requests of every worker process, whichever worker answers it."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from tests.helpers.serverproc import running_server

REQUESTS = 60
METRICS_TOKEN = "metrics-test-token-0123456789abcdef"  # used only if the server asks for one


def _count(text: str, path: str) -> float:
    """Requests counted for ``path`` (all methods and statuses) in the Prometheus text format."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("member_api_requests_total{") and f'path="{path}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.parametrize("kind", ["sqlite"])
async def test_metrics_add_up_the_requests_of_both_workers(kind, tmp_path, monkeypatch):
    monkeypatch.setenv("MEMBER_API_METRICS_TOKEN", METRICS_TOKEN)
    async with running_server(kind, tmp_path, workers=2) as server:
        before = await _scrape(server.url)

        async def one() -> None:
            # A connection per request, so the kernel hands them to either worker.
            async with httpx.AsyncClient(base_url=server.url, headers={"Connection": "close"}) as http:
                assert (await http.get("/health/live")).status_code == 200

        await asyncio.gather(*(one() for _ in range(REQUESTS)))

        samples = tmp_path / "prometheus-multiproc"
        writers = {m.group(1) for f in samples.iterdir() if (m := re.match(r"counter_(\d+)\.db$", f.name))}
        assert len(writers) >= 2, f"only {writers} served: the test did not reach both workers"
        # Every scrape, whichever worker answers it, sees all the requests.
        for _ in range(6):
            assert _count(await _scrape(server.url), "/health/live") - _count(before, "/health/live") == REQUESTS


async def _scrape(url: str) -> str:
    async with httpx.AsyncClient(
        base_url=url, headers={"Connection": "close", "Authorization": f"Bearer {METRICS_TOKEN}"}
    ) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    return response.text
