"""Notifications: in-app always, e-mail and a generic webhook when configured.

The in-app row is written in the caller's transaction, so a reminder exists even when the mail
server or the webhook receiver is down. Outside deliveries happen afterwards, outside any
transaction (:func:`pending` -> :func:`deliver` -> :func:`record_delivery`): they are best effort,
their outcome is kept on the row (``channels``) and a failure is logged, never raised into the job.
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.db import Database
from app.models import Notification, User
from app.security import clock
from app.services.actor import Actor
from app.services.permissions import NotFound

log = logging.getLogger("vigil.notifications")
PENDING = "pending"
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
    """Store the in-app notification and mark the outside deliveries it still needs as pending.

    Nothing is sent here: e-mail and webhook calls can take seconds, and must not happen while the
    caller's write transaction holds the database. :func:`deliver` sends them afterwards.
    """
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
        channels.update({"email": PENDING, "email_to": address})
    if notifier.webhook_url:
        channels["webhook"] = PENDING
    row.channels = channels
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Outgoing:
    """One notification's outside deliveries, read out of the database before sending."""

    notification_id: int
    email_to: str | None
    webhook: bool
    payload: dict[str, Any]


def pending(
    session: Session, now: datetime | None = None, max_age: timedelta = timedelta(days=2)
) -> list[Outgoing]:
    """Recent notifications with an e-mail or webhook delivery still to make."""
    since = (now or clock.now()) - max_age
    rows = session.scalars(
        select(Notification).where(Notification.created_at >= since).order_by(Notification.id)
    )
    out = []
    for row in rows:
        channels = row.channels or {}
        email = channels.get("email_to") if channels.get("email") == PENDING else None
        webhook = channels.get("webhook") == PENDING
        if email or webhook:
            payload: dict[str, Any] = {"kind": row.kind, "subject": row.subject, "body": row.body}
            payload.update(
                {"recipient": row.recipient, "object_type": row.object_type, "object_id": row.object_id}
            )
            out.append(Outgoing(row.id, email, webhook, payload))
    return out


def deliver(notifier: Notifier, items: list[Outgoing]) -> dict[int, dict[str, str]]:
    """Send (outside any transaction); returns each notification's channel outcomes to record."""
    results: dict[int, dict[str, str]] = {}
    for item in items:
        outcome: dict[str, str] = {}
        if item.email_to and notifier.smtp_host:
            try:
                send_email(notifier, item.email_to, item.payload["subject"], item.payload["body"])
                outcome["email"] = "sent"
            except (OSError, smtplib.SMTPException) as exc:
                log.warning("reminder e-mail failed: %s", type(exc).__name__)
                outcome["email"] = f"failed: {type(exc).__name__}"
        if item.webhook and notifier.webhook_url:
            try:
                outcome["webhook"] = f"sent: {post_webhook(notifier.webhook_url, item.payload)}"
            except (OSError, ValueError) as exc:
                log.warning("reminder webhook failed: %s", type(exc).__name__)
                outcome["webhook"] = f"failed: {type(exc).__name__}"
        results[item.notification_id] = outcome
    return results


def record_delivery(session: Session, results: dict[int, dict[str, str]]) -> None:
    for notification_id, outcome in results.items():
        row = session.get(Notification, notification_id)
        if row is not None and outcome:
            row.channels = {**(row.channels or {}), **outcome}
    session.flush()


def send_outstanding(database: Database, notifier: Notifier) -> int:
    """For jobs and the CLI, after their transaction committed: read, send, record. Returns how many."""
    if not (notifier.smtp_host or notifier.webhook_url):
        return 0
    with database.reader() as session:
        items = pending(session)
    results = deliver(notifier, items)
    with database.transaction() as session:
        record_delivery(session, results)
    return len(items)


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
