"""Garbage collection of receipt and evidence files left by a crash between file write and row commit."""

from __future__ import annotations

from pathlib import Path

from member_api.claims.tables import Receipt
from member_api.core.storage import BlobStore
from member_api.facilities.tables import EvidenceFile
from member_api.settings import Settings


async def referenced_hashes() -> set[str]:
    rows = [*await Receipt.select(Receipt.sha256), *await EvidenceFile.select(EvidenceFile.sha256)]
    return {r["sha256"] for r in rows}


async def collect_garbage(settings: Settings, min_age_s: float) -> int:
    store = BlobStore(Path(settings.data_dir) / "blobs")
    return store.collect(await referenced_hashes(), min_age_s)
