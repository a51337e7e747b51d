"""TOTP second factor (RFC 6238 via pyotp) with replay protection and a server-side QR code.

A code is accepted for the previous, current or next 30-second step (clock drift), but never for a
step at or before the last one used: a code seen over a shoulder or replayed from a log is dead.
The QR code is drawn here (segno, SVG) so the secret never leaves the server for a QR service.
"""

from __future__ import annotations

import base64
import hmac
from datetime import datetime

import pyotp
import segno

ISSUER = "Vigil"
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """An ``data:image/svg+xml`` QR code of the otpauth URI (allowed by the CSP's ``img-src data:``)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, border=2, dark="#111", light="#fff")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def matching_step(secret: str, code: str, last_step: int | None, at: datetime) -> int | None:
    """The time step the code belongs to, or None if wrong, too old or already used."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(at)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator app shows at ``at`` (used by tests and the demo)."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(at))
