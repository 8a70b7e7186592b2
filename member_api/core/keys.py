"""Signing keys, the keyed-hash secret and the credential-subject key, all in one key directory.

Layout (made on first start; concurrent workers agree on one file each)::

    KEY_DIR/hash.secret            HMAC secret for lookups by ID number or phone
    KEY_DIR/subject.key            AES-SIV key sealing the member id inside e-credentials
    KEY_DIR/access/                Ed25519 keys that sign access tokens (never published)
    KEY_DIR/credential/            Ed25519 keys that sign e-credentials (published in the JWKS)
    KEY_DIR/<set>/current          kid of the set's signing key; ed25519-<kid>.pem per key
    KEY_DIR/revoked.txt            withdrawn kids, one a line: never loaded again
    KEY_DIR/revoked/               the withdrawn private keys, kept for investigation only
    KEY_DIR/epoch                  replaced on every rotation or revocation

A worker loads the directory at start and looks at ``epoch`` (one ``stat``) each time it uses a key set, so a
rotation or a withdrawal made by ``member-api rotate-keys`` / ``revoke-key`` on any host sharing the directory
takes effect in every worker at its next request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from member_api.core.storage import write_synced

KEEP_PUBLIC_KEYS = 2
KEY_SETS = ("access", "credential")
SUBJECT_KEY_BYTES = 64  # AES-256-SIV


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _write_once(path: Path, data: bytes) -> None:
    """Create ``path`` atomically unless it exists: concurrent workers at first start agree on one key."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    write_synced(tmp, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def _replace(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (temp file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    write_synced(tmp, data)
    os.replace(tmp, path)


def _new_signing_key(set_dir: Path) -> str:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = b64url(hashlib.sha256(raw).digest()[:6])
    _write_once(set_dir / f"ed25519-{kid}.pem", pem)
    return kid


def _bump_epoch(key_dir: Path) -> None:
    _replace(key_dir / "epoch", secrets.token_bytes(8))


def _revoked(key_dir: Path) -> set[str]:
    try:
        return {line.strip() for line in (key_dir / "revoked.txt").read_text().splitlines() if line.strip()}
    except FileNotFoundError:
        return set()


@dataclass(frozen=True)
class KeySet:
    """One purpose's keys: the current signing key and the public keys that still verify."""

    name: str
    kid: str
    private_key: Ed25519PrivateKey
    public_keys: dict[str, Ed25519PublicKey]

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        keys = []
        for kid, public in self.public_keys.items():
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            keys.append({"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": kid, "alg": "EdDSA", "use": "sig"})
        return {"keys": keys}


def _load_set(key_dir: Path, name: str, revoked: set[str]) -> KeySet:
    set_dir = key_dir / name
    set_dir.mkdir(parents=True, exist_ok=True)
    current_path = set_dir / "current"
    if not current_path.exists():
        _write_once(current_path, _new_signing_key(set_dir).encode())
    kid = current_path.read_text().strip()
    if kid in revoked or not (set_dir / f"ed25519-{kid}.pem").exists():
        # The current key was withdrawn (or lost) by hand: never sign with it again.
        kid = _new_signing_key(set_dir)
        _replace(current_path, kid.encode())
        _bump_epoch(key_dir)  # every worker reloads and settles on the last ``current`` written
    found: list[tuple[float, str, bytes]] = []
    for path in set_dir.glob("ed25519-*.pem"):
        try:  # a revocation may move a file away between the listing and the read
            found.append((path.stat().st_mtime, path.stem.removeprefix("ed25519-"), path.read_bytes()))
        except FileNotFoundError:
            continue
    private: dict[str, Ed25519PrivateKey] = {}
    for _, name_kid, pem in sorted(found, reverse=True):
        if name_kid in revoked:
            continue
        loaded = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(loaded, Ed25519PrivateKey)
        private[name_kid] = loaded
    if kid not in private:  # withdrawn while we looked: the next epoch change brings the new current key
        return _load_set(key_dir, name, revoked | _revoked(key_dir))
    others = [k for k in private if k != kid][: KEEP_PUBLIC_KEYS - 1]
    public = {k: private[k].public_key() for k in [kid, *others]}
    return KeySet(name=name, kid=kid, private_key=private[kid], public_keys=public)


class KeyRing:
    """The key directory as a worker sees it; reloads itself when ``epoch`` changes."""

    def __init__(self, key_dir: Path) -> None:
        key_dir.mkdir(parents=True, exist_ok=True)
        self.key_dir = key_dir
        secret_path = key_dir / "hash.secret"
        if not secret_path.exists():
            _write_once(secret_path, secrets.token_bytes(32))
        subject_path = key_dir / "subject.key"
        if not subject_path.exists():
            _write_once(subject_path, secrets.token_bytes(SUBJECT_KEY_BYTES))
        if not (key_dir / "epoch").exists():
            _write_once(key_dir / "epoch", secrets.token_bytes(8))
        self.hash_secret = secret_path.read_bytes()
        self.subject_key = subject_path.read_bytes()
        self.subject_cipher = AESSIV(self.subject_key)
        """Seals e-credential subjects; built once (its key schedule is a tenth of a credential's cost)."""
        self._epoch_path = str(key_dir / "epoch")  # a plain string: checked on every signed or verified token
        self._stamp: tuple[int, int, int] | None = None
        self._sets: dict[str, KeySet] = {}
        self._reload(self._epoch_stamp())

    def _epoch_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self._epoch_path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _reload(self, stamp: tuple[int, int, int] | None) -> None:
        revoked = _revoked(self.key_dir)
        self._sets = {name: _load_set(self.key_dir, name, revoked) for name in KEY_SETS}
        self._stamp = stamp

    def _fresh(self, name: str) -> KeySet:
        stamp = self._epoch_stamp()
        if stamp != self._stamp:
            self._reload(stamp)
        return self._sets[name]

    @property
    def access(self) -> KeySet:
        """Signs and verifies API access tokens; never published."""
        return self._fresh("access")

    @property
    def credential(self) -> KeySet:
        """Signs e-credentials; its public keys are the JWKS."""
        return self._fresh("credential")

    def keyed_hash(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of ``value``: lookups by ID number or phone without storing them readable."""
        return hmac.new(self.hash_secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def load_keyring(key_dir: Path) -> KeyRing:
    """Load the key directory, creating the key sets and the secrets on first start."""
    return KeyRing(key_dir)


def rotate(key_dir: Path, names: tuple[str, ...] = KEY_SETS) -> dict[str, str]:
    """Make a new current key per set; the previous one stays published so issued tokens still verify."""
    load_keyring(key_dir)
    made = {}
    for name in names:
        kid = _new_signing_key(key_dir / name)
        _replace(key_dir / name / "current", kid.encode())
        made[name] = kid
    _bump_epoch(key_dir)
    return made


class UnknownKey(LookupError):
    pass


def revoke(key_dir: Path, kid: str) -> tuple[str, str | None]:
    """Withdraw ``kid`` at once: (its set, the new current kid when the withdrawn key was current).

    The key is listed in ``revoked.txt`` (never loaded again, even if a backup brings the file back), its
    private key moves to ``revoked/``, and ``epoch`` changes so every worker drops it at its next request.
    """
    if not kid or not kid.replace("-", "").replace("_", "").isalnum():
        raise UnknownKey(kid)
    load_keyring(key_dir)
    name = next((n for n in KEY_SETS if (key_dir / n / f"ed25519-{kid}.pem").exists()), None)
    if name is None:
        raise UnknownKey(kid)
    set_dir = key_dir / name
    fresh = None
    if (set_dir / "current").read_text().strip() == kid:
        fresh = _new_signing_key(set_dir)
        _replace(set_dir / "current", fresh.encode())
    revoked = _revoked(key_dir) | {kid}
    _replace(key_dir / "revoked.txt", "".join(f"{k}\n" for k in sorted(revoked)).encode())
    (key_dir / "revoked").mkdir(exist_ok=True)
    os.replace(set_dir / f"ed25519-{kid}.pem", key_dir / "revoked" / f"{name}-ed25519-{kid}.pem")
    _bump_epoch(key_dir)
    return name, fresh
