"""Password hashing (argon2id, OWASP parameters) and strength rules."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

# OWASP: argon2id with at least 19 MiB of memory and 2 iterations.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the e-mail is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")

MAX_LENGTH = 256


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problems(password: str, min_length: int, user_inputs: list[str]) -> list[str]:
    """Reasons a new password is refused (message ids to translate); empty when acceptable."""
    problems = []
    if len(password) < min_length:
        problems.append("too_short")
    if len(password) > MAX_LENGTH:
        problems.append("too_long")
    # zxcvbn scores at most 72 characters; a longer password is judged by its first 72.
    elif zxcvbn(password[:72], user_inputs=[u for u in user_inputs if u])["score"] < 3:
        problems.append("too_common")
    return problems
