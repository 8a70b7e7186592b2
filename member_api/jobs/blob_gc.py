"""Garbage collection of receipt and evidence files left by a crash between file write and row commit."""

from __future__ import annotations

from pathlib import Path

from member_api.claims import service as claims_service
from member_api.core.storage import BlobStore
from member_api.facilities import service as facility_service
from member_api.settings import Settings


async def referenced_hashes() -> set[str]:
    return await claims_service.receipt_digests() | await facility_service.evidence_digests()


async def collect_garbage(settings: Settings, min_age_s: float) -> int:
    store = BlobStore(Path(settings.data_dir) / "blobs")
    return store.collect(await referenced_hashes(), min_age_s)
