"""Content-addressed blob store for receipts and evidence: durable before the row that names it commits."""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

Writer = Callable[[int, memoryview], int]
"""``os.write``'s shape: may write fewer bytes than given, or raise ``OSError`` (ENOSPC). Tests inject faulty ones."""
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


class StorageFull(OSError):
    """No room for the file: nothing of it was kept (answered 507 ``storage_full``)."""


class StorageFault(OSError):
    """The file on disk is not the bytes given (a short or damaged write): nothing of it was kept (answered 503)."""


def write_synced(path: Path, data: bytes, writer: Writer = os.write) -> None:
    """Create ``path`` (which must not exist) readable by the owner only, with every byte written and on disk.

    ``os.write`` may write less than asked (a nearly full disk, a signal): the loop writes the rest. On any failure
    the partial file is removed, so it never exists half-written.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view, written = memoryview(data), 0
        while written < len(data):
            n = writer(fd, view[written:])
            if n <= 0:
                raise StorageFull(errno.ENOSPC, "the disk accepted no more bytes")
            written += n
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        path.unlink(missing_ok=True)
        if exc.errno in NO_SPACE and not isinstance(exc, StorageFull):
            raise StorageFull(exc.errno, "no space left for the file") from exc
        raise
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def fsync_dir(path: Path) -> None:
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class BlobStore:
    """Files live at ``root/ab/cdef…`` by SHA-256. Write = temp file (every byte, fsync), verify size and hash read
    back, rename, fsync directory: only then may the row naming it commit."""

    def __init__(self, root: Path, writer: Writer = os.write) -> None:
        self.root = root
        self.writer = writer
        root.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        final = self.path_for(digest)
        if final.exists() and final.stat().st_size == len(data):
            os.utime(final)  # a fresh upload of it: keep the garbage collector's hands off until it commits
            return digest
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if exc.errno in NO_SPACE:
                raise StorageFull(exc.errno, "no space left for the directory") from exc
            raise
        tmp = final.parent / f".tmp-{secrets.token_hex(8)}"
        write_synced(tmp, data, self.writer)
        try:
            self._verify(tmp, len(data), digest)
            os.replace(tmp, final)
            fsync_dir(final.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return digest

    @staticmethod
    def _verify(path: Path, size: int, digest: str) -> None:
        """Read back what is on disk: the right length and the right hash, or the upload is refused."""
        if path.stat().st_size != size:
            raise StorageFault(errno.EIO, "the stored file is not the size written")
        hasher = hashlib.sha256()
        with path.open("rb") as stored:
            while chunk := stored.read(1 << 20):
                hasher.update(chunk)
        if hasher.hexdigest() != digest:
            raise StorageFault(errno.EIO, "the stored file does not read back as written")

    def get(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def stored(self) -> list[Path]:
        return [p for p in self.root.glob("*/*") if not p.name.startswith(".")]

    def collect(self, referenced: set[str], min_age_s: float) -> int:
        """Remove temp files and blobs no row names, once older than ``min_age_s``.

        A blob is written before the row that names it commits, so a crash in between leaves one behind;
        the age threshold keeps this from racing an upload still committing on another replica.
        """
        cutoff = time.time() - min_age_s
        removed = 0
        for path in [*self.stray_temp_files(), *self.stored()]:
            if path.name not in referenced and path.stat().st_mtime <= cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def stray_temp_files(self) -> list[Path]:
        """Temp files a crash left behind: never visible under a hash name, removed by ``sweep``."""
        return list(self.root.glob("*/.tmp-*"))

    def sweep(self) -> int:
        stray = self.stray_temp_files()
        for path in stray:
            path.unlink(missing_ok=True)
        return len(stray)
