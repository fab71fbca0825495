"""PiiCipher: AES-GCM tokens that decrypt by key id, and keyed hashes that never change."""

from __future__ import annotations

import base64
import hashlib
import hmac

from portal.workers.pii import NONCE_BYTES, PiiCipher, mask_nik

OLD_KEY = "0:" + base64.urlsafe_b64encode(b"o" * 32).decode()
NEW_KEY = "1:" + base64.urlsafe_b64encode(b"n" * 32).decode()
NIK = "3374011203850001"


def cipher(keys: str = f"{NEW_KEY},{OLD_KEY}") -> PiiCipher:
    return PiiCipher.from_config(keys, "hash-key")


def test_lookup_hash_is_hmac_sha256_so_stored_hashes_stay_findable():
    for value in [NIK, "", "081234567890", "Jl. Ñ"]:
        expected = hmac.new(b"hash-key", value.encode(), hashlib.sha256).hexdigest()
        assert cipher().lookup_hash(value) == expected


def test_tokens_name_the_newest_key_and_older_keys_still_decrypt():
    old_token = cipher(OLD_KEY).encrypt(NIK)
    assert old_token.startswith("0:") and cipher().needs_rotation(old_token)
    assert cipher().decrypt(old_token) == NIK
    token = cipher().encrypt(NIK)
    assert token.startswith("1:") and NIK not in token
    assert cipher().decrypt(token) == NIK


def test_encrypt_many_keeps_missing_values_missing_and_uses_a_nonce_each():
    tokens = cipher().encrypt_many([NIK, None, NIK, "081234567890"])
    assert tokens[1] is None
    assert [cipher().decrypt(t) for t in tokens if t] == [NIK, NIK, "081234567890"]
    nonces = {base64.urlsafe_b64decode(t[2:])[:NONCE_BYTES] for t in tokens if t}
    assert len(nonces) == 3
    assert cipher().encrypt_many([]) == []


def test_masked_nik_hides_the_birth_date():
    assert mask_nik(NIK) == "3374********0001"
