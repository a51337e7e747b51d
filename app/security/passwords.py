"""argon2id hashing with rehash-on-login, and a password policy that refuses guessable passwords.

Parameters are OWASP's first recommended argon2id configuration (m=46 MiB, t=1, p=1), above the
minimum (m=19 MiB, t=2): memory is what makes GPU cracking expensive, while extra passes mostly make
every sign-in slower for the server. Hashes made with other parameters are upgraded at next login.
The policy uses zxcvbn (a maintained estimator with common-password and pattern lists) instead of a
hand-made list, and accepts long passphrases with spaces and any Unicode.
"""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from app.errors import VigilError

MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_ZXCVBN_SCORE = 3

HASHER = PasswordHasher(time_cost=1, memory_cost=47104, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
# Verified against when the user does not exist, so both paths cost the same time.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


class WeakPassword(VigilError, ValueError):
    """The password is refused; the message says why in words a user can act on."""


def check_policy(password: str, *, user_inputs: list[str] | None = None) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"must be at most {MAX_LENGTH} characters long")
    result = zxcvbn(password[:100], user_inputs=[u for u in (user_inputs or []) if u])
    if result["score"] < MIN_ZXCVBN_SCORE:
        feedback = result.get("feedback") or {}
        reason = feedback.get("warning") or "too easy to guess"
        suggestions = " ".join(feedback.get("suggestions") or [])
        raise WeakPassword(f"{reason.rstrip('.')}. {suggestions}".strip())


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-work verification: an unknown user still costs one argon2 verify."""
    try:
        return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def generate_password(length: int = 20) -> str:
    """A one-time password that passes the policy (shown once, must be changed at first login)."""
    alphabet = string.ascii_letters + string.digits + "-_.!@#%+="
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        try:
            check_policy(candidate)
        except WeakPassword:
            continue
        return candidate
