"""Ed25519 signatures over canonical JSON; the key comes from configuration."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class SigningKeyError(RuntimeError):
    """The configured signing key is missing or not a base64 32-byte Ed25519 seed."""


def canonical(payload: dict[str, Any]) -> str:
    """One byte-exact text per payload: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def private_key(setting: str | None) -> Ed25519PrivateKey:
    """Raises SigningKeyError."""
    try:
        seed = base64.b64decode(setting or "", validate=True)
    except binascii.Error as error:
        raise SigningKeyError("CERTIFICATE_SIGNING_KEY is not base64") from error
    if len(seed) != 32:
        raise SigningKeyError("CERTIFICATE_SIGNING_KEY must be 32 bytes (base64)")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_pem(pem: str | bytes) -> Ed25519PublicKey:
    """Raises ValueError for anything but an Ed25519 public key."""
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, payload: str) -> str:
    return base64.b64encode(key.sign(payload.encode())).decode()


def verify(key: Ed25519PublicKey, payload: str, signature: str) -> bool:
    """True only for this exact payload text signed by this key."""
    try:
        key.verify(base64.b64decode(signature, validate=True), payload.encode())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
