"""Content-addressed blob store for receipts and evidence: durable before the row that names it commits."""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from pathlib import Path


def write_synced(path: Path, data: bytes) -> None:
    """Create ``path`` (which must not exist) readable by the owner only, with its bytes on disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Files live at ``root/ab/cdef…`` by SHA-256. Write = temp file, fsync, rename, fsync directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        final = self.path_for(digest)
        if final.exists():
            os.utime(final)  # a fresh upload of it: keep the garbage collector's hands off until it commits
            return digest
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{secrets.token_hex(8)}"
        write_synced(tmp, data)
        os.replace(tmp, final)
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return digest

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
