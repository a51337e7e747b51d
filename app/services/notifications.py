"""Notifications: in-app always, e-mail and a generic webhook when configured.

The in-app row is written first and in the caller's transaction, so a reminder exists even when
the mail server or the webhook receiver is down; outside deliveries are best effort, their
outcome is kept on the row (``channels``) and a failure is logged, never raised into the job.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.models import Notification, User
from app.security import clock
from app.services.actor import Actor
from app.services.permissions import NotFound

log = logging.getLogger("vigil.notifications")
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Notifier:
    """Where outside deliveries go; empty values switch a channel off."""

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_from: str = ""
    webhook_url: str = ""

    @classmethod
    def from_settings(cls, settings: Any) -> Notifier:
        return cls(settings.smtp_host, int(settings.smtp_port), settings.smtp_from, settings.webhook_url)


def resolve_user(session: Session, recipient: str) -> User | None:
    """An owner is written as a username or an e-mail address; find the Vigil user behind it."""
    value = recipient.strip().lower()
    if not value:
        return None
    stmt = select(User).where(
        User.active.is_(True), or_(func.lower(User.username) == value, func.lower(User.email) == value)
    )
    return session.scalars(stmt.limit(1)).first()


def send_email(notifier: Notifier, to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = notifier.smtp_from or "vigil@localhost"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(notifier.smtp_host, notifier.smtp_port, timeout=TIMEOUT_SECONDS) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls()
            smtp.ehlo()
        smtp.send_message(message)


def post_webhook(url: str, payload: dict[str, Any]) -> int:
    if not url.startswith(("https://", "http://")):
        raise ValueError("webhook URL must be http(s)")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "vigil"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
        return int(response.status)


def notify(
    session: Session,
    notifier: Notifier,
    *,
    recipient: str,
    kind: str,
    subject: str,
    body: str,
    object_type: str | None = None,
    object_id: int | None = None,
) -> Notification:
    """Store the in-app notification, then try e-mail and webhook, recording how each went."""
    user = resolve_user(session, recipient)
    row = Notification(
        user_id=user.id if user else None,
        recipient=recipient[:255],
        kind=kind,
        subject=subject[:255],
        body=body,
        object_type=object_type,
        object_id=object_id,
    )
    channels: dict[str, Any] = {"in_app": True}
    address = (user.email if user and user.email else None) or (recipient if "@" in recipient else None)
    if notifier.smtp_host and address:
        try:
            send_email(notifier, address, subject, body)
            channels["email"] = "sent"
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("reminder e-mail to %s failed: %s", address, type(exc).__name__)
            channels["email"] = f"failed: {type(exc).__name__}"
    if notifier.webhook_url:
        payload: dict[str, Any] = {"kind": kind, "subject": subject, "body": body, "recipient": recipient}
        payload.update({"object_type": object_type, "object_id": object_id})
        try:
            channels["webhook"] = f"sent: {post_webhook(notifier.webhook_url, payload)}"
        except (OSError, ValueError) as exc:
            log.warning("reminder webhook failed: %s", type(exc).__name__)
            channels["webhook"] = f"failed: {type(exc).__name__}"
    row.channels = channels
    session.add(row)
    session.flush()
    return row


def _sees_unaddressed(actor: Actor) -> bool:
    """Notifications for owners who are not Vigil users go to those who can act on them."""
    return actor.role is not None and actor.role.value in {"admin", "approver"}


def list_for(
    session: Session, actor: Actor, *, unread_only: bool = False, limit: int = 100
) -> list[Notification]:
    """The actor's own notifications, newest first."""
    if not actor.is_user:
        return []
    mine = Notification.user_id == actor.id
    if _sees_unaddressed(actor):
        mine = or_(mine, Notification.user_id.is_(None))
    stmt = select(Notification).where(mine).order_by(Notification.id.desc()).limit(limit)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(session.scalars(stmt))


def mark_read(
    session: Session, actor: Actor, notification_id: int, now: datetime | None = None
) -> Notification:
    row = session.get(Notification, notification_id)
    visible = (
        row is not None
        and actor.is_user
        and (row.user_id == actor.id or (row.user_id is None and _sees_unaddressed(actor)))
    )
    if row is None or not visible:
        raise NotFound()
    row.read_at = row.read_at or now or clock.now()
    session.flush()
    return row
