"""Issue 26: the blob store never lies. A disk that takes fewer bytes than asked, or none (ENOSPC), leaves nothing
behind: the write loops, then verifies size and hash before the file gets its name; no space is ``StorageFull``
(answered 507 storage_full), a short file never exists under a hash. Pure: no database, no web stack."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from member_api.core.storage import BlobStore, StorageFault, StorageFull

DATA = os.urandom(351_327)


def test_short_writes_are_looped_until_every_byte_is_on_disk(tmp_path: Path) -> None:
    def dribble(fd: int, view: memoryview) -> int:
        return os.write(fd, view[:4096])  # as a nearly full disk or a signal may do

    digest = BlobStore(tmp_path, writer=dribble).put(DATA)
    stored = (tmp_path / digest[:2] / digest).read_bytes()
    assert stored == DATA and hashlib.sha256(stored).hexdigest() == digest


def test_no_space_after_some_bytes_stores_nothing_and_is_storage_full(tmp_path: Path) -> None:
    written = 0

    def fills_up(fd: int, view: memoryview) -> int:
        nonlocal written
        if written >= 241_664:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = os.write(fd, view[: 241_664 - written])
        written += n
        return n

    store = BlobStore(tmp_path, writer=fills_up)
    with pytest.raises(StorageFull) as caught:
        store.put(DATA)
    assert store.stored() == [] and store.stray_temp_files() == []
    assert caught.value.errno == errno.ENOSPC  # answered 507 storage_full (tests/api/test_faults.py)


def test_a_file_that_does_not_read_back_as_written_is_refused(tmp_path: Path) -> None:
    def corrupting(fd: int, view: memoryview) -> int:
        return os.write(fd, bytes(len(view)))  # the right length, the wrong bytes

    store = BlobStore(tmp_path, writer=corrupting)
    with pytest.raises(StorageFault):
        store.put(DATA)
    assert store.stored() == [] and store.stray_temp_files() == []


def test_a_truncated_file_from_before_is_written_again(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = hashlib.sha256(DATA).hexdigest()
    (tmp_path / digest[:2]).mkdir()
    (tmp_path / digest[:2] / digest).write_bytes(DATA[:1000])  # what the single os.write once left behind
    assert store.put(DATA) == digest
    assert store.get(digest) == DATA
