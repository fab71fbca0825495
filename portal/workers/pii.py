"""Encryption at rest and keyed hashing for NIK and phone numbers (UU 27/2022)."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.hmac import HMAC
from flask import current_app

NONCE_BYTES = 12
_URLSAFE = bytes.maketrans(b"+/", b"-_")


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
        return self.encrypt_many([plaintext])[0]  # type: ignore[return-value]

    def encrypt_many(self, plaintexts: Sequence[str | None]) -> list[str | None]:
        """encrypt() for each value, None staying None; every nonce comes from one urandom call."""
        seal, prefix = self._aeads[self.current].encrypt, f"{self.current}:"
        nonces = os.urandom(NONCE_BYTES * len(plaintexts))
        tokens: list[str | None] = []
        for start, text in zip(range(0, len(nonces), NONCE_BYTES), plaintexts, strict=True):
            if text is None:
                tokens.append(None)
                continue
            nonce = nonces[start : start + NONCE_BYTES]
            tokens.append(prefix + _b64(nonce + seal(nonce, text.encode(), None)))
        return tokens

    def decrypt(self, token: str) -> str:
        key_id, _, payload = token.partition(":")
        if key_id not in self.keys:
            raise KeyConfigError(f"no key with id {key_id!r} is configured")
        raw = base64.urlsafe_b64decode(payload)
        opened = self._aeads[key_id].decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None)
        return opened.decode()

    def needs_rotation(self, token: str) -> bool:
        return not token.startswith(f"{self.current}:")

    def lookup_hash(self, value: str) -> str:
        """Keyed hash (HMAC-SHA256, hex) for uniqueness and exact search without decrypting."""
        mac = self._hmac.copy()  # copying the keyed state is cheaper than keying again
        mac.update(value.encode())
        return mac.finalize().hex()

    def aead(self, key_id: str) -> AESGCM:
        """The AES-GCM of one key (files sealed with it: portal/workers/sealed.py).

        Raises KeyConfigError for a key that is not configured."""
        if key_id not in self.keys:
            raise KeyConfigError(f"no key with id {key_id!r} is configured")
        return self._aeads[key_id]

    @cached_property
    def _aeads(self) -> dict[str, AESGCM]:
        """One AESGCM per key: building one costs more than an encryption."""
        return {key_id: AESGCM(key) for key_id, key in self.keys.items()}

    @cached_property
    def _hmac(self) -> HMAC:
        return HMAC(self.hash_key, SHA256())


def _decode_key(encoded: str) -> bytes:
    padded = encoded + "=" * (-len(encoded) % 4)
    try:
        return base64.urlsafe_b64decode(padded)
    except ValueError as exc:
        raise KeyConfigError("key is not valid base64") from exc


def _b64(raw: bytes) -> str:
    """base64.urlsafe_b64encode(raw).decode(), without its Python-level wrappers."""
    return binascii.b2a_base64(raw, newline=False).translate(_URLSAFE).decode()


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
