"""Encryption at rest and keyed hashing for NIK and phone numbers (UU 27/2022)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app


class KeyConfigError(RuntimeError):
    """The configured keys are missing or malformed."""


@dataclass(frozen=True)
class PiiCipher:
    """AES-GCM with versioned keys: new values use the first key, old ones decrypt by key id.

    Key rotation: put the new key first in NIK_ENCRYPTION_KEYS, keep the old ones after it,
    then run `flask --app portal workers rotate-keys` to re-encrypt; then drop the old key.
    """

    keys: dict[str, bytes]
    current: str
    hash_key: bytes

    @classmethod
    def from_config(cls, keys_setting: str | None, hash_key: str | None) -> PiiCipher:
        if not keys_setting or not hash_key:
            raise KeyConfigError("NIK_ENCRYPTION_KEYS and NIK_HASH_KEY must be set")
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for item in keys_setting.split(","):
            key_id, _, encoded = item.strip().partition(":")
            raw = _decode_key(encoded)
            if not key_id or len(raw) != 32:
                raise KeyConfigError("each key must be 'id:<32 bytes, base64>'")
            keys[key_id] = raw
            order.append(key_id)
        return cls(keys=keys, current=order[0], hash_key=hash_key.encode())

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plaintext.encode(), None)
        return f"{self.current}:" + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        key_id, _, payload = token.partition(":")
        if key_id not in self.keys:
            raise KeyConfigError(f"no key with id {key_id!r} is configured")
        raw = base64.urlsafe_b64decode(payload)
        return AESGCM(self.keys[key_id]).decrypt(raw[:12], raw[12:], None).decode()

    def needs_rotation(self, token: str) -> bool:
        return not token.startswith(f"{self.current}:")

    def lookup_hash(self, value: str) -> str:
        """Keyed hash for uniqueness and exact search without decrypting."""
        return hmac.new(self.hash_key, value.encode(), hashlib.sha256).hexdigest()


def _decode_key(encoded: str) -> bytes:
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        return base64.urlsafe_b64decode(padded)
    except ValueError as exc:
        raise KeyConfigError("key is not valid base64") from exc


def mask_nik(nik: str) -> str:
    """3374********0001: region and sequence only, the birth date hidden."""
    return nik[:4] + "*" * 8 + nik[-4:]


def current_cipher() -> PiiCipher:
    """The app's cipher, built once from configuration."""
    cipher = current_app.extensions.get("pii_cipher")
    if cipher is None:
        cipher = PiiCipher.from_config(
            current_app.config["NIK_ENCRYPTION_KEYS"], current_app.config["NIK_HASH_KEY"]
        )
        current_app.extensions["pii_cipher"] = cipher
    return cipher
