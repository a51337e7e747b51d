"""Secrets the server must read back (TOTP seeds), kept encrypted in the database.

A password can be stored as a one-way hash; a TOTP seed cannot, because every check recomputes codes
from it. So a copy of the database (a backup, a replica, a SQL injection elsewhere) would otherwise
hand out every admin's second factor. Seeds are sealed with AES-256-GCM (authenticated: a changed
byte or a wrong key is refused, never decrypted into garbage) under a key derived with HKDF-SHA256
from ``VIGIL_TOTP_KEY``, or from ``VIGIL_SECRET_KEY`` when no dedicated key is set; the distinct
HKDF label keeps this key apart from the one that signs cookies. Each value is bound to its owner's
user id, so a sealed seed copied onto another account does not open.

Stored form: ``v1:`` + URL-safe base64 of ``nonce (12 bytes) || ciphertext || tag (16 bytes)``; the
version prefix leaves room for a later key or algorithm change.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import VigilError

PREFIX = "v1:"
NONCE_BYTES = 12
HKDF_LABEL = b"vigil totp-secret encryption v1"
KEY_SETTINGS = "VIGIL_TOTP_KEY (or VIGIL_SECRET_KEY when no TOTP key is set)"


class SecretBoxError(VigilError, RuntimeError):
    """A sealed value cannot be opened: the key differs from the one it was sealed with, or the value
    was altered. Refusing is the only safe answer; the message says which setting to check."""


def is_sealed(value: str) -> bool:
    """Whether a stored value is in the sealed form (anything else is refused, never used as a seed)."""
    return value.startswith(PREFIX)


def _owner_data(owner_id: int) -> bytes:
    return f"app_user:{owner_id}:totp_secret".encode("ascii")


@dataclass(frozen=True)
class SecretBox:
    """Seals and opens short secrets under one derived AES-256-GCM key."""

    key: bytes = field(repr=False)

    @classmethod
    def derive(cls, master_secret: str) -> SecretBox:
        """The box for a master secret (the TOTP key, or the application's secret key)."""
        if not master_secret:
            raise SecretBoxError(f"no key to protect TOTP secrets with: set {KEY_SETTINGS}")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_LABEL)
        return cls(hkdf.derive(master_secret.encode("utf-8")))

    @classmethod
    def from_settings(cls, settings: object) -> SecretBox:
        """``VIGIL_TOTP_KEY`` when set (so rotating the cookie key keeps enrolments), else the secret key."""
        totp_key = str(getattr(settings, "totp_key", "") or "")
        return cls.derive(totp_key or str(getattr(settings, "secret_key", "") or ""))

    def seal(self, secret: str, owner_id: int) -> str:
        """Encrypt ``secret`` for the user ``owner_id``; a fresh random nonce every time."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, secret.encode("utf-8"), _owner_data(owner_id))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, stored: str, owner_id: int) -> str:
        """The clear secret, or :class:`SecretBoxError` for anything that does not authenticate."""
        if not is_sealed(stored):
            raise SecretBoxError(f"the stored TOTP secret of user #{owner_id} is not in the sealed form")
        try:
            raw = base64.urlsafe_b64decode(stored[len(PREFIX) :].encode("ascii"))
            nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
            clear = AESGCM(self.key).decrypt(nonce, sealed, _owner_data(owner_id))
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretBoxError(
                f"the TOTP secret of user #{owner_id} cannot be decrypted: {KEY_SETTINGS} differs "
                "from the key it was stored with (or the stored value was altered)"
            ) from None
        return clear.decode("utf-8")
