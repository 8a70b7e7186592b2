"""Signing keys (Ed25519, rotated, previous kept for JWKS) and the secret for keyed hashes."""

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

from member_api.core.storage import write_synced

KEEP_PUBLIC_KEYS = 2


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


def _new_signing_key(key_dir: Path) -> str:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    kid = b64url(hashlib.sha256(raw).digest()[:6])
    _write_once(key_dir / f"ed25519-{kid}.pem", pem)
    return kid


@dataclass(frozen=True)
class KeyRing:
    kid: str
    private_key: Ed25519PrivateKey
    public_keys: dict[str, Ed25519PublicKey]
    hash_secret: bytes

    def keyed_hash(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 of ``value``: lookups by ID number or phone without storing them readable."""
        return hmac.new(self.hash_secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        keys = []
        for kid, public in self.public_keys.items():
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            keys.append({"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": kid, "alg": "EdDSA", "use": "sig"})
        return {"keys": keys}


def load_keyring(key_dir: Path) -> KeyRing:
    """Load the key directory, creating the first key and the hash secret on first start."""
    key_dir.mkdir(parents=True, exist_ok=True)
    secret_path = key_dir / "hash.secret"
    if not secret_path.exists():
        _write_once(secret_path, secrets.token_bytes(32))
    current_path = key_dir / "current"
    if not current_path.exists():
        _write_once(current_path, _new_signing_key(key_dir).encode())
    kid = current_path.read_text().strip()
    files = sorted(key_dir.glob("ed25519-*.pem"), key=lambda p: p.stat().st_mtime, reverse=True)
    private: dict[str, Ed25519PrivateKey] = {}
    for path in files:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(loaded, Ed25519PrivateKey)
        private[path.stem.removeprefix("ed25519-")] = loaded
    others = [k for k in private if k != kid][: KEEP_PUBLIC_KEYS - 1]
    public = {k: private[k].public_key() for k in [kid, *others]}
    return KeyRing(kid=kid, private_key=private[kid], public_keys=public, hash_secret=secret_path.read_bytes())


def rotate(key_dir: Path) -> str:
    """Make a new current key; the previous one stays published so issued tokens still verify."""
    load_keyring(key_dir)
    kid = _new_signing_key(key_dir)
    tmp = key_dir / f".current.{os.getpid()}"
    tmp.write_text(kid)
    os.replace(tmp, key_dir / "current")
    return kid
