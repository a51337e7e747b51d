"""Sign-in, lockout, second factor, re-authentication and password changes.

Unknown users and wrong passwords take the same path (one argon2 verify against a dummy hash, one
audit row, the same answer), so neither the response nor its timing tells whether an account
exists. Every attempt writes an audit row; the caller commits it even when the answer is a refusal.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from app.errors import VigilError
from app.models import User
from app.models.base import ActorType
from app.security import clock, totp
from app.security.passwords import check_policy, hash_password, needs_rehash, verify_password
from app.security.secret_box import SecretBox, SecretBoxError
from app.services import audit
from app.services import sessions as session_service
from app.services.actor import Actor
from app.services.users import get_by_username, normalize_username

log = logging.getLogger("vigil.auth")
MAX_USERNAME = 150
MAX_PASSWORD = 1024


class AuthError(VigilError, ValueError):
    """A refused account operation (wrong current password, weak new one); safe to show."""


class CodeCheck(enum.Enum):
    """How a second-factor code was judged. ``UNREADABLE``: the stored secret does not open with the
    configured key, so no code can be checked and the sign-in is refused (fails closed)."""

    OK = "ok"
    WRONG = "wrong"
    UNREADABLE = "unreadable"


class LoginStatus(enum.Enum):
    OK = "ok"
    FAILED = "failed"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class LoginOutcome:
    status: LoginStatus
    token: str | None = None
    session_id: int | None = None
    needs_second_factor: bool = False


def _attempt_actor(user: User | None, username: str, ip: str | None, request_id: str | None) -> Actor:
    return Actor(
        type=ActorType.USER,
        id=user.id if user else None,
        label=user.username if user else username,
        role=user.role if user else None,
        ip=ip,
        request_id=request_id,
    )


def login(
    session: Session,
    username: str,
    password: str,
    *,
    ip: str | None,
    user_agent: str | None,
    request_id: str | None,
    policy: LoginPolicy,
) -> LoginOutcome:
    """Check a password sign-in; on success start a session (complete unless TOTP is enrolled)."""
    name = normalize_username(username)[:MAX_USERNAME]
    user = get_by_username(session, name) if name else None
    matches = verify_password(user.password_hash if user else None, password[:MAX_PASSWORD])
    actor = _attempt_actor(user, name, ip, request_id)
    moment = clock.now()
    if user is not None and user.locked_until is not None and user.locked_until > moment:
        audit.record(
            session, actor, "authn_login_fail", object_type="user", object_id=user.id, result="locked"
        )
        log.info("sign-in refused: account locked", extra={"username": name})
        return LoginOutcome(LoginStatus.LOCKED)
    if user is None or not matches or not user.active:
        _record_failure(session, actor, user, policy, reason="inactive" if matches else "bad_credentials")
        return LoginOutcome(LoginStatus.FAILED)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = moment
    token, row = session_service.start(session, user, ip=ip, user_agent=user_agent)
    if user.totp_enabled:
        audit.record(session, actor, "authn_password_ok", object_type="user", object_id=user.id)
        return LoginOutcome(LoginStatus.OK, token, row.id, needs_second_factor=True)
    audit.record(session, actor, "authn_login_success", object_type="user", object_id=user.id)
    log.info("signed in", extra={"username": name})
    return LoginOutcome(LoginStatus.OK, token, row.id)


def _record_failure(
    session: Session, actor: Actor, user: User | None, policy: LoginPolicy, *, reason: str
) -> None:
    audit.record(
        session,
        actor,
        "authn_login_fail",
        object_type="user",
        object_id=user.id if user else None,
        result="failure",
        after={"reason": reason},
    )
    log.info("sign-in failed", extra={"username": actor.label})
    if user is None:
        return
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= policy.max_failures:
        user.locked_until = clock.now() + policy.lockout
        user.failed_logins = 0
        audit.record(
            session,
            actor,
            "authn_login_lock",
            object_type="user",
            object_id=user.id,
            after={"locked_until": user.locked_until},
        )
        log.warning("account locked after repeated failures", extra={"username": user.username})


def _code_step(user: User, code: str, box: SecretBox) -> int | None:
    """The time step ``code`` belongs to for the user's stored secret (None: wrong or already used).

    Raises :class:`SecretBoxError` when the stored secret does not open with the configured key."""
    secret = box.open(user.totp_secret_sealed or "", user.id)
    return totp.matching_step(secret, code, user.totp_last_counter, clock.now())


def _record_unreadable(
    session: Session, actor: Actor, user: User, action: str, error: SecretBoxError
) -> None:
    """The operator must fix the key setting: say so in the log and in the audit trail."""
    log.error("second factor cannot be checked: %s", error)
    audit.record(
        session,
        actor,
        action,
        object_type="user",
        object_id=user.id,
        result="failure",
        after={"reason": "totp_secret_unreadable"},
    )


def verify_second_factor(
    session: Session, actor: Actor, session_id: int, code: str, *, box: SecretBox
) -> CodeCheck:
    """Finish a sign-in (or a re-authentication) with a TOTP code; a reused code is refused."""
    user = session.get(User, actor.id) if actor.id is not None else None
    if user is None or not user.totp_enabled or not user.totp_secret_sealed:
        return CodeCheck.WRONG
    try:
        step = _code_step(user, code, box)
    except SecretBoxError as error:
        _record_unreadable(session, actor, user, "authn_totp_fail", error)
        return CodeCheck.UNREADABLE
    if step is None:
        audit.record(
            session, actor, "authn_totp_fail", object_type="user", object_id=user.id, result="failure"
        )
        return CodeCheck.WRONG
    user.totp_last_counter = step
    session_service.mark_reauthenticated(session, session_id, second_factor=True)
    audit.record(
        session,
        actor,
        "authn_login_success",
        object_type="user",
        object_id=user.id,
        after={"second_factor": "totp"},
    )
    return CodeCheck.OK


def reauthenticate(
    session: Session, actor: Actor, session_id: int, password: str, code: str = "", *, box: SecretBox
) -> bool:
    """Confirm the password (and TOTP, if enrolled) again before a sensitive action."""
    user = session.get(User, actor.id) if actor.id is not None else None
    ok = verify_password(user.password_hash if user else None, password[:MAX_PASSWORD])
    if ok and user is not None and user.totp_enabled and user.totp_secret_sealed:
        try:
            step = _code_step(user, code, box)
        except SecretBoxError as error:
            _record_unreadable(session, actor, user, "authn_reauth", error)
            return False
        ok = step is not None
        if step is not None:
            user.totp_last_counter = step
    if user is None or not ok:
        audit.record(session, actor, "authn_reauth", object_type="user", object_id=actor.id, result="failure")
        return False
    session_service.mark_reauthenticated(session, session_id)
    audit.record(session, actor, "authn_reauth", object_type="user", object_id=user.id)
    return True


def change_password(
    session: Session, actor: Actor, *, current: str, new: str, keep_session_id: int | None
) -> int:
    """Change one's own password; every other session of the user ends. Returns how many ended."""
    user = session.get(User, actor.id) if actor.id is not None else None
    if user is None:
        raise AuthError("not signed in")
    if not current:
        raise AuthError("enter your current password")
    if not verify_password(user.password_hash, current[:MAX_PASSWORD]):
        audit.record(
            session, actor, "authn_password_change", object_type="user", object_id=user.id, result="failure"
        )
        raise AuthError("the current password is not correct")
    if new == current:
        raise AuthError("the new password must differ from the current one")
    check_policy(new, user_inputs=[user.username, user.display_name, user.email or ""])
    user.password_hash = hash_password(new)
    user.password_changed_at = clock.now()
    user.must_change_password = False
    ended = session_service.revoke_all(session, user.id, "password_change", keep_session_id=keep_session_id)
    audit.record(
        session,
        actor,
        "authn_password_change",
        object_type="user",
        object_id=user.id,
        after={"signed_out_elsewhere": ended},
    )
    return ended


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr: str


def start_totp_enrolment(session: Session, actor: Actor, *, box: SecretBox) -> Enrolment:
    """A new secret for the user, inactive until a code from it is confirmed; stored sealed."""
    user = session.get(User, actor.id) if actor.id is not None else None
    if user is None:
        raise AuthError("not signed in")
    if user.totp_enabled:
        raise AuthError("a second factor is already enrolled")
    secret = totp.new_secret()
    user.totp_secret_sealed = box.seal(secret, user.id)
    user.totp_last_counter = None
    uri = totp.provisioning_uri(secret, user.username)
    return Enrolment(secret, uri, totp.qr_data_uri(uri))


def confirm_totp_enrolment(
    session: Session, actor: Actor, session_id: int, code: str, *, box: SecretBox
) -> None:
    """Turn the second factor on once a code from the new secret proves the device has it."""
    user = session.get(User, actor.id) if actor.id is not None else None
    if user is None or not user.totp_secret_sealed or user.totp_enabled:
        raise AuthError("start the enrolment first")
    try:
        step = _code_step(user, code, box)
    except SecretBoxError as error:
        log.error("TOTP enrolment cannot be confirmed: %s", error)
        raise AuthError("the new secret cannot be read back (the server's key changed)") from None
    if step is None:
        raise AuthError("that code is not correct; check the time on your device and try again")
    user.totp_enabled = True
    user.totp_last_counter = step
    session_service.mark_reauthenticated(session, session_id, second_factor=True)
    audit.record(session, actor, "authn_totp_enrol", object_type="user", object_id=user.id)
